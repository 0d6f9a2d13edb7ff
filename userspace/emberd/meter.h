/* SPDX-License-Identifier: Apache-2.0 */
/* Metering's pure parts: /proc/PID/stat, smaps_rollup and /proc/net/dev parsers, latency histogram.
 */
#ifndef EMBER_USERSPACE_METER_H
#define EMBER_USERSPACE_METER_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Nothing here touches /proc itself or knows emberd: every parser takes the
 * text (a string or a FILE*), so tests/unit/test_emberd_meter.c feeds it
 * known input. emberd_meter.c opens the files.
 */

/* /proc/PID/stat of a process: its threads' CPU time (clock ticks), and
 * its start time, which names the process together with the PID. */
struct meter_stat {
	uint64_t utime, stime; /* fields 14 and 15, in sysconf(_SC_CLK_TCK) ticks */
	uint64_t start;	       /* field 22 */
};

/* Parses one /proc/PID/stat line (the command name, field 2, may hold spaces
 * and ')': fields are counted after the last ')'). 0 or -EINVAL. */
int meter_parse_stat(const char *line, struct meter_stat *out);

/* Rss and Pss (kB, i.e. KiB) of /proc/PID/smaps_rollup; 0, or -EINVAL when
 * either line is missing. */
int meter_parse_smaps_rollup(FILE *f, uint64_t *rss_kib, uint64_t *pss_kib);

/* One interface of /proc/net/dev, as the host counts it. */
struct meter_ifstat {
	char name[IFNAMSIZ];
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
};

/* The interfaces of /proc/net/dev whose name starts with (prefix), sorted
 * by name into (*out) (malloc'd, *n entries; NULL/0 when none). 0, -ENOMEM,
 * or -EINVAL when the text is not /proc/net/dev's format. */
int meter_parse_netdev(FILE *f, const char *prefix, struct meter_ifstat **out, size_t *n);

/* The entry named (name) in a meter_parse_netdev() result, NULL if absent. */
const struct meter_ifstat *meter_ifstat_find(const struct meter_ifstat *v, size_t n,
					     const char *name);

/* Wake latency histogram: fixed upper bounds in us, the last bucket +Inf. */
#define METER_HIST_N 15
extern const uint64_t meter_hist_le_us[METER_HIST_N - 1];

struct meter_hist {
	uint64_t n[METER_HIST_N]; /* per bucket, not cumulative */
	uint64_t count;
	uint64_t sum_us;
};

/* Counts one observation of (us) microseconds. */
void meter_hist_add(struct meter_hist *h, uint64_t us);

#endif
