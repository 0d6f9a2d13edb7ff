// SPDX-License-Identifier: Apache-2.0
/* `ember dp show`: services, apps, guests and their counters, read from the pinned maps. */
#include "cmd_dp.h"

#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char show_usage[] =
	"Usage: ember dp show\n"
	"\n"
	"Prints the attached devices' XDP mode, every service, every app (standby\n"
	"tap, live guests, pending wake) and every guest, each with its counters\n"
	"summed over all CPUs. Reads the pinned maps only; works while no daemon\n"
	"runs.\n";

static const char *ago(uint64_t ns)
{
	static char buf[32];
	struct timespec ts;
	uint64_t now;

	if (!ns)
		return "never";
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	snprintf(buf, sizeof(buf), "%.3fs ago", now > ns ? (double)(now - ns) / 1e9 : 0.0);
	return buf;
}

static void print_counters(const struct dp_counters *c)
{
	printf("    packets %" PRIu64 "  bytes %" PRIu64 "  new_flows %" PRIu64 "  drops %" PRIu64
	       "  last_seen %s\n",
	       c->packets, c->bytes, c->new_flows, c->drops, ago(c->last_seen_ns));
}

static int show_service(void *ctx, const struct dp_service *s, uint32_t app)
{
	(void)ctx;
	printf("  %s%s%s:%u/%s -> app %u\n", s->family == AF_INET6 ? "[" : "",
	       cli_fmt_addr(s->family, s->vip), s->family == AF_INET6 ? "]" : "", s->port,
	       cli_fmt_proto(s->proto), app);
	return 0;
}

static int show_app(void *ctx, const struct dp_app_info *a)
{
	struct dp_counters c = {0};
	struct dp *dp = ctx;

	printf("  app %u: %u live guest(s), standby tap %s, %s\n", a->app_id, a->nlive,
	       cli_fmt_ifname(a->standby_ifindex), a->waking_since_ns ? "waking" : "not waking");
	if (dp_app_counters(dp, a->app_id, &c) == 0)
		print_counters(&c);
	return 0;
}

static int show_guest(void *ctx, uint32_t slot, const struct dp_guest *g)
{
	struct dp_counters c = {0};
	struct dp *dp = ctx;
	static const uint8_t none[16];

	printf("  guest %u: app %u, tap %s, mac %s, ip %s", slot, g->app_id,
	       cli_fmt_ifname(g->tap_ifindex), cli_fmt_mac(g->mac), cli_fmt_addr(AF_INET, g->ip4));
	if (memcmp(g->ip6, none, 16))
		printf(", ip6 %s", cli_fmt_addr(AF_INET6, g->ip6));
	printf("\n");
	if (dp_guest_counters(dp, slot, &c) == 0)
		print_counters(&c);
	return 0;
}

/* The devices that carry one of our programs (found by program id). */
static void show_attachments(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	uint32_t id;
	int mode, any = 0;

	printf("attachments (this network namespace):\n");
	for (i = ifs; i && i->if_index; i++) {
		mode = dp_xdp_query((int)i->if_index, &id);
		if (mode <= 0)
			continue;
		printf("  %s: XDP prog id %u, %s\n", i->if_name, id, dp_mode_name(mode));
		any = 1;
	}
	if (!any)
		printf("  (none)\n");
	if (ifs)
		if_freenameindex(ifs);
}

int cmd_dp_show(int argc, char **argv)
{
	struct dp *dp;
	int rc;

	if (dp_wants_help(argc, argv, show_usage))
		return 0;
	if (argc != 1)
		return dp_usage_error("show", "takes no arguments");
	rc = dp_open_or_report(&dp);
	if (rc)
		return rc;
	printf("pinned under %s\n", dp_pin_root(dp));
	show_attachments();
	printf("services:\n");
	rc = dp_foreach_service(dp, show_service, NULL);
	printf("apps:\n");
	rc = rc ? rc : dp_foreach_app(dp, show_app, dp);
	printf("guests:\n");
	rc = rc ? rc : dp_foreach_guest(dp, show_guest, dp);
	rc = dp_report(dp, rc, "show");
	dp_close(dp);
	return rc;
}
