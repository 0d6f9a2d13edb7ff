// SPDX-License-Identifier: Apache-2.0
/* `ember dp service|app|guest`: change the dataplane's configuration in the pinned maps. */
#include "cmd_dp.h"

#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char service_usage[] =
	"Usage: ember dp service add VIP PORT tcp|udp APP\n"
	"       ember dp service del VIP PORT tcp|udp\n"
	"\n"
	"Maps a service (VIP, port, protocol; IPv4 or IPv6) to app APP, or removes\n"
	"the mapping. Packets to a VIP with no service pass to the host untouched.\n";

static int parse_service(char **argv, struct dp_service *s)
{
	struct cli_addr a;
	uint32_t port;

	if (cli_addr(argv[0], &a) || cli_u32(argv[1], "port", 65535, &port) ||
	    cli_proto(argv[2], &s->proto))
		return -1;
	s->family = a.family;
	memcpy(s->vip, a.bytes, sizeof(s->vip));
	s->port = (uint16_t)port;
	return 0;
}

int cmd_dp_service(int argc, char **argv)
{
	struct dp_service s;
	uint32_t app = 0;
	struct dp *dp;
	int add, rc;

	if (dp_wants_help(argc, argv, service_usage))
		return 0;
	add = argc == 6 && !strcmp(argv[1], "add");
	if (!add && !(argc == 5 && !strcmp(argv[1], "del")))
		return dp_usage_error("service",
				      "want 'add VIP PORT PROTO APP' or 'del VIP PORT PROTO'");
	if (parse_service(argv + 2, &s) || (add && cli_u32(argv[5], "app", UINT32_MAX, &app)))
		return EXIT_USAGE;
	rc = dp_open_or_report(&dp);
	if (rc)
		return rc;
	rc = add ? dp_service_add(dp, &s, app) : dp_service_del(dp, &s);
	rc = dp_report(dp, rc, add ? "service add" : "service del");
	dp_close(dp);
	return rc;
}

static const char app_usage[] =
	"Usage: ember dp app set APP [--standby TAP] [--mac MAC] [--ip IPV4] [--ip6 IPV6]\n"
	"       ember dp app del APP\n"
	"       ember dp app rearm APP\n"
	"\n"
	"set    creates app APP or updates it (live guests and a pending wake are kept).\n"
	"       --standby names the tap that holds the app's packets while it has no\n"
	"       live guest (the guest that is woken owns that tap and drains it);\n"
	"       --mac/--ip/--ip6 are the inside addresses every clone of the app\n"
	"       shares: frames queued in the standby tap are rewritten to them.\n"
	"del    removes the app (remove its services and guests first).\n"
	"rearm  ends a pending wake, so the next packet raises a new wake event.\n";

static int parse_app(int argc, char **argv, struct dp_app *a)
{
	static const struct option opts[] = {
		{"standby", required_argument, NULL, 's'},
		{"mac", required_argument, NULL, 'm'},
		{"ip", required_argument, NULL, '4'},
		{"ip6", required_argument, NULL, '6'},
		{0},
	};
	struct cli_addr ad;
	int c, bad;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bad = 1;
		if (c == 's')
			bad = cli_ifindex(optarg, &a->standby_ifindex);
		else if (c == 'm')
			bad = cli_mac(optarg, a->guest_mac);
		else if (c == '4' && !(bad = cli_addr(optarg, &ad) || ad.family != AF_INET))
			memcpy(a->guest_ip4, ad.bytes, 4);
		else if (c == '6' && !(bad = cli_addr(optarg, &ad) || ad.family != AF_INET6))
			memcpy(a->guest_ip6, ad.bytes, 16);
		if (bad)
			return dp_usage_error("app", "bad option or value");
	}
	if (optind != argc)
		return dp_usage_error("app", "unexpected argument '%s'", argv[optind]);
	return 0;
}

int cmd_dp_app(int argc, char **argv)
{
	struct dp_app cfg = {0};
	uint32_t app;
	struct dp *dp;
	int rc;

	if (dp_wants_help(argc, argv, app_usage))
		return 0;
	if (argc < 3 ||
	    (strcmp(argv[1], "set") && strcmp(argv[1], "del") && strcmp(argv[1], "rearm")))
		return dp_usage_error("app", "want 'set APP [...]', 'del APP' or 'rearm APP'");
	if (cli_u32(argv[2], "app", UINT32_MAX, &app))
		return EXIT_USAGE;
	if (!strcmp(argv[1], "set") && parse_app(argc - 2, argv + 2, &cfg))
		return EXIT_USAGE;
	if (strcmp(argv[1], "set") && argc != 3)
		return dp_usage_error("app", "%s takes only the app id", argv[1]);
	rc = dp_open_or_report(&dp);
	if (rc)
		return rc;
	if (!strcmp(argv[1], "set"))
		rc = dp_app_set(dp, app, &cfg);
	else if (!strcmp(argv[1], "del"))
		rc = dp_app_del(dp, app);
	else
		rc = dp_app_rearm(dp, app);
	rc = dp_report(dp, rc, argv[1]);
	dp_close(dp);
	return rc;
}

static const char guest_usage[] =
	"Usage: ember dp guest add SLOT --app APP --tap TAP --mac MAC --ip IPV4 [--ip6 IPV6]\n"
	"       ember dp guest del SLOT\n"
	"\n"
	"add  makes guest SLOT a live guest of APP: new flows of the app may be sent\n"
	"     to it through TAP. MAC and IPV4/IPV6 are the guest's inside addresses\n"
	"     (every clone of a snapshot shares them); the guest program on TAP lets\n"
	"     the guest send only as itself.\n"
	"del  takes the guest out of its app's live set, then frees the slot. Flows\n"
	"     pinned to it are re-balanced on their next packet.\n";

static int parse_guest(int argc, char **argv, struct dp_guest *g)
{
	static const struct option opts[] = {
		{"app", required_argument, NULL, 'a'}, {"tap", required_argument, NULL, 't'},
		{"mac", required_argument, NULL, 'm'}, {"ip", required_argument, NULL, '4'},
		{"ip6", required_argument, NULL, '6'}, {0},
	};
	int c, seen = 0;
	struct cli_addr a;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int bad = 1;

		switch (c) {
		case 'a':
			bad = cli_u32(optarg, "--app", UINT32_MAX, &g->app_id);
			break;
		case 't':
			bad = cli_ifindex(optarg, &g->tap_ifindex);
			break;
		case 'm':
			bad = cli_mac(optarg, g->mac);
			break;
		case '4':
			bad = cli_addr(optarg, &a) || a.family != AF_INET;
			if (!bad)
				memcpy(g->ip4, a.bytes, 4);
			break;
		case '6':
			bad = cli_addr(optarg, &a) || a.family != AF_INET6;
			if (!bad)
				memcpy(g->ip6, a.bytes, 16);
			break;
		}
		if (bad)
			return dp_usage_error("guest", "bad option or value");
		seen |= c == 'a' ? 1 : c == 't' ? 2 : c == 'm' ? 4 : c == '4' ? 8 : 0;
	}
	if (optind != argc)
		return dp_usage_error("guest", "unexpected argument '%s'", argv[optind]);
	if (seen != 15)
		return dp_usage_error("guest", "add needs --app, --tap, --mac and --ip");
	return 0;
}

int cmd_dp_guest(int argc, char **argv)
{
	struct dp_guest g = {0};
	uint32_t slot;
	struct dp *dp;
	int rc;

	if (dp_wants_help(argc, argv, guest_usage))
		return 0;
	if (argc < 3 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")))
		return dp_usage_error("guest", "want 'add SLOT ...' or 'del SLOT'");
	if (cli_u32(argv[2], "slot", UINT32_MAX, &slot))
		return EXIT_USAGE;
	if (!strcmp(argv[1], "add") && parse_guest(argc - 2, argv + 2, &g))
		return EXIT_USAGE;
	if (!strcmp(argv[1], "del") && argc != 3)
		return dp_usage_error("guest", "del takes only the slot");
	rc = dp_open_or_report(&dp);
	if (rc)
		return rc;
	rc = argv[1][0] == 'a' ? dp_guest_add(dp, slot, &g) : dp_guest_del(dp, slot);
	rc = dp_report(dp, rc, argv[1][0] == 'a' ? "guest add" : "guest del");
	dp_close(dp);
	return rc;
}

static const char host_usage[] =
	"Usage: ember dp host add|del ADDR\n"
	"\n"
	"Declares (or forgets) an IPv4/IPv6 address of the host itself. Guests may\n"
	"not send to these addresses: the guest program drops such frames and\n"
	"counts them as drops of reason 'to host'.\n";

int cmd_dp_host(int argc, char **argv)
{
	struct cli_addr a;
	struct dp *dp;
	int add, rc;

	if (dp_wants_help(argc, argv, host_usage))
		return 0;
	add = argc == 3 && !strcmp(argv[1], "add");
	if (!add && !(argc == 3 && !strcmp(argv[1], "del")))
		return dp_usage_error("host", "want 'add ADDR' or 'del ADDR'");
	if (cli_addr(argv[2], &a))
		return EXIT_USAGE;
	rc = dp_open_or_report(&dp);
	if (rc)
		return rc;
	rc = add ? dp_host_addr_add(dp, a.family, a.bytes)
		 : dp_host_addr_del(dp, a.family, a.bytes);
	rc = dp_report(dp, rc, add ? "host add" : "host del");
	dp_close(dp);
	return rc;
}
