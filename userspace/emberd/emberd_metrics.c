/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's GET /metrics: per-app and per-guest metering as Prometheus text (docs/api.md). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "emberd.h"
#include "prom.h"

/* The families both prefixes share (ember_app_*, ember_guest_*), read from
 * struct meter_totals: value = field * mul / 10^dec. */
static const struct family {
	const char *suffix, *type, *help;
	size_t off;
	uint64_t mul;
	unsigned int dec;
} families[] = {
/* clang-format off */
#define F(s, t, field, mul, dec, h) {s, t, h, offsetof(struct meter_totals, field), mul, dec}
	F("cpu_seconds_total", "counter", cpu_ns, 1, 9,
	  "CPU time (user + system, all threads) of the VMM; per app: all its VMMs, exited ones too."),
	F("memory_rss_bytes", "gauge", rss_kib, 1024, 0,
	  "Resident memory of the VMM, shared pages counted whole; per app: the sum."),
	F("memory_pss_bytes", "gauge", pss_kib, 1024, 0,
	  "Proportional set size of the VMM, shared pages split between users; per app: the sum."),
	F("memory_pss_kib_seconds_total", "counter", pss_kib_ms, 1, 3,
	  "Memory-time: PSS in KiB integrated over seconds; per app: exited VMMs too."),
	F("rx_bytes_total", "counter", rx_bytes, 1, 0,
	  "Bytes into the guest (its tap's tx); per app: all its guests, exited ones too."),
	F("tx_bytes_total", "counter", tx_bytes, 1, 0,
	  "Bytes out of the guest (its tap's rx); per app: all its guests, exited ones too."),
	F("rx_packets_total", "counter", rx_packets, 1, 0,
	  "Frames into the guest (its tap's tx); per app: all its guests, exited ones too."),
	F("tx_packets_total", "counter", tx_packets, 1, 0,
	  "Frames out of the guest (its tap's rx); per app: all its guests, exited ones too."),
	F("new_flows_total", "counter", new_flows, 1, 0,
	  "New flows (connections) the XDP router sent to the guest; per app: the router's count."),
#undef F
	/* clang-format on */
};

static uint64_t field(const struct meter_totals *t, const struct family *fm)
{
	return *(const uint64_t *)((const char *)t + fm->off) * fm->mul;
}

/* One family with a sample per app ((per_guest) false) or per guest. */
static void family_out(FILE *f, struct emberd *d, const struct family *fm, bool per_guest)
{
	char name[96], inst[96];

	snprintf(name, sizeof(name), "ember_%s_%s", per_guest ? "guest" : "app", fm->suffix);
	prom_family(f, name, fm->type, fm->help);
	for (struct eapp *a = d->apps; a; a = a->next) {
		struct meter_totals t;

		if (!per_guest) {
			meter_app_totals(a, &t);
			prom_sample(f, name, &(struct prom_label){"app", app_name(a)}, 1,
				    field(&t, fm), fm->dec);
			continue;
		}
		for (const struct guest *g = a->guests; g; g = g->next) {
			struct prom_label l[] = {{"app", app_name(a)}, {"guest", inst}};

			meter_instance_id(g, inst, sizeof(inst));
			prom_sample(f, name, l, 2, field(&g->meter.t, fm), fm->dec);
		}
	}
}

static void dataplane_out(FILE *f, struct emberd *d)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} dp[] = {
		{"ember_app_dataplane_packets_total",
		 "Packets of the app the XDP programs counted, both directions, dropped ones too.",
		 offsetof(struct dp_counters, packets)},
		{"ember_app_dataplane_bytes_total",
		 "Bytes of the app the XDP programs counted, both directions, dropped ones too.",
		 offsetof(struct dp_counters, bytes)},
		{"ember_app_dropped_packets_total", "Packets of the app the XDP programs dropped.",
		 offsetof(struct dp_counters, drops)},
	};

	for (size_t i = 0; i < sizeof(dp) / sizeof(dp[0]); i++) {
		prom_family(f, dp[i].name, "counter", dp[i].help);
		for (struct eapp *a = d->apps; a; a = a->next)
			prom_sample(f, dp[i].name, &(struct prom_label){"app", app_name(a)}, 1,
				    *(const uint64_t *)((const char *)&a->meter.dp + dp[i].off), 0);
	}
}

static void wakes_out(FILE *f, struct emberd *d)
{
	static const char *const to[] = {"first_packet", "resumed"};
	const char *h = "ember_app_wake_latency_seconds";

	prom_family(f, "ember_app_wakes_total", "counter",
		    "Wakes that made a guest live, by tier: paused = a paused guest resumed, "
		    "restore = a clone restored onto the spare tap (standby 0).");
	for (struct eapp *a = d->apps; a; a = a->next) {
		const uint64_t n[WAKE_TIERS] = {
			[WAKE_PAUSED] = a->wakes - a->wakes_missed - a->wakes_restore,
			[WAKE_RESTORE] = a->wakes_restore,
		};

		for (int t = 0; t < WAKE_TIERS; t++) {
			struct prom_label l[] = {{"app", app_name(a)},
						 {"tier", wake_tier_names[t]}};

			prom_sample(f, "ember_app_wakes_total", l, 2, n[t], 0);
		}
	}
	prom_family(f, "ember_app_wakes_missed_total", "counter",
		    "Wake events that found no paused guest to resume.");
	for (struct eapp *a = d->apps; a; a = a->next)
		prom_sample(f, "ember_app_wakes_missed_total",
			    &(struct prom_label){"app", app_name(a)}, 1, a->wakes_missed, 0);
	prom_family(f, h, "histogram",
		    "Wake latency from the router's event to the guest's first packet "
		    "(to=first_packet) or to ember-vmm's resumed answer (to=resumed).");
	for (struct eapp *a = d->apps; a; a = a->next) {
		struct prom_label l[] = {{"app", app_name(a)}, {"to", to[0]}};

		prom_histogram(f, h, l, 2, &a->meter.to_first);
		l[1].value = to[1];
		prom_histogram(f, h, l, 2, &a->meter.to_ok);
	}
}

static void states_out(FILE *f, struct emberd *d)
{
	char inst[96];

	prom_family(f, "ember_app_guests", "gauge", "Guests of the app by state.");
	for (struct eapp *a = d->apps; a; a = a->next) {
		unsigned int n[G_DRAINING + 1] = {0};

		for (const struct guest *g = a->guests; g; g = g->next)
			n[g->state]++;
		for (int s = G_BOOTING; s <= G_DRAINING; s++) {
			struct prom_label l[] = {{"app", app_name(a)},
						 {"state", guest_state_name(s)}};

			prom_sample(f, "ember_app_guests", l, 2, n[s], 0);
		}
	}
	/* The state is a gauge of its own, not a label on the counters:
	 * a label that changes at every pause/resume would split each
	 * counter into a new series every time. */
	prom_family(f, "ember_guest_state", "gauge", "1 for the guest's current state.");
	for (struct eapp *a = d->apps; a; a = a->next)
		for (const struct guest *g = a->guests; g; g = g->next) {
			struct prom_label l[] = {{"app", app_name(a)},
						 {"guest", inst},
						 {"state", guest_state_name(g->state)}};

			meter_instance_id(g, inst, sizeof(inst));
			prom_sample(f, "ember_guest_state", l, 3, 1, 0);
		}
	prom_family(
		f, "ember_guest_active_flows", "gauge",
		"Open TCP flows the router counts on the guest: what the autoscaler and a drain "
		"go by. Only guests in the dataplane (live, draining).");
	for (struct eapp *a = d->apps; a; a = a->next)
		for (const struct guest *g = a->guests; g; g = g->next) {
			struct prom_label l[] = {{"app", app_name(a)}, {"guest", inst}};
			uint64_t n;

			if (app_guest_flows(d, g, &n))
				continue;
			meter_instance_id(g, inst, sizeof(inst));
			prom_sample(f, "ember_guest_active_flows", l, 2, n, 0);
		}
}

int emberd_metrics(void *ctx, struct api_reply *rep)
{
	struct emberd *d = ctx;
	size_t n = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &n);
	int bad;

	if (!f)
		return api_error(rep, 500, NULL, "out of memory");
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		family_out(f, d, &families[i], false);
	dataplane_out(f, d);
	wakes_out(f, d);
	states_out(f, d);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		family_out(f, d, &families[i], true);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(buf);
		return api_error(rep, 500, NULL, "out of memory");
	}
	rep->text = buf;
	rep->text_len = n;
	return 0;
}
