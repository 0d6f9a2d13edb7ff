/* SPDX-License-Identifier: Apache-2.0 */
/* An app's metering as emberd keeps it across restarts (DIR/apps/NAME/meter.json): types, JSON. */
#ifndef EMBER_USERSPACE_METER_RECORD_H
#define EMBER_USERSPACE_METER_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dp/dp.h"
#include "meter.h"

/* What one guest, or one app in all, has used. */
struct meter_totals {
	uint64_t cpu_ns;	       /* user + system time of the VMM process(es) */
	uint64_t rss_kib, pss_kib;     /* last sample; 0 once gone */
	uint64_t pss_kib_ms;	       /* memory-time: PSS integrated over time */
	uint64_t rx_bytes, rx_packets; /* into the guest (its tap's tx) */
	uint64_t tx_bytes, tx_packets; /* out of the guest (its tap's rx) */
	uint64_t new_flows;	       /* flows the router gave it (app: all of the app's) */
};

/* A guest's totals as of the last save, by guest id. */
struct meter_record_guest {
	unsigned int id;
	struct meter_totals t;
};

/*
 * Everything of an app's metering that an emberd restart would otherwise
 * lose: the totals of guests gone, the dataplane baseline and count, the
 * wake and scale counts, the wake latency histograms, and each running
 * guest's totals (for the memory-time integral, and for guests that die
 * with emberd and are not adopted). rss/pss of a guest are not kept: they
 * are a sample, not a total.
 */
struct meter_record {
	struct meter_totals gone;
	struct dp_counters dp0, dp;
	uint64_t wakes, wakes_missed, wakes_restore, scale_outs, scale_ins;
	struct meter_hist to_first, to_ok;
	struct meter_record_guest *guests; /* malloc'd by meter_record_parse() */
	size_t nguests;
};

#define METER_RECORD_VERSION 1

/* The record as JSON text (malloc'd), NULL when out of memory. */
char *meter_record_dump(const struct meter_record *r);

/* Parses (text) into (*r) (zeroed first). 0, or -EINVAL with what is
 * wrong in (err): not JSON, another version, a missing or non-integer
 * field. Unknown fields are ignored (a newer emberd may add some). */
int meter_record_parse(const char *text, struct meter_record *r, char *err, size_t errlen);

/* The same for the whole of file (f). */
int meter_record_read(FILE *f, struct meter_record *r, char *err, size_t errlen);

void meter_record_free(struct meter_record *r);

#endif
