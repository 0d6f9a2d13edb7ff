/* SPDX-License-Identifier: Apache-2.0 */
/* loadgen's options and its engine (the epoll loop that sends and times the requests). */
#ifndef EMBER_BENCH_LOADGEN_H
#define EMBER_BENCH_LOADGEN_H

#include <stdbool.h>
#include <stdint.h>

#include "loadgen_stats.h"

#define LG_MAX_REQUESTS	   100000000ull			/* 32 bytes of bookkeeping each */
#define LG_MAX_SCHEDULE_NS (30ull * 86400 * 1000000000) /* 30 days */

struct lg_opts {
	uint64_t rate_milli, dur_milli, n; /* n: requests in rate mode */
	bool have_rate, have_dur, have_n, burst, verbose;
	unsigned max_conns, timeout_ms;
	const char *prefix, *path;
	struct lg_addr *addrs;
	size_t naddrs;
};

/*
 * lg_engine_run() - sends the requests o describes (o->n on the schedule
 * start + i / rate, or with o->burst one per address at once), waits for all
 * of them, fills rep and, with o->verbose, prints every request on stderr.
 * Returns 0 when every request succeeded, 1 when some failed, -errno when
 * the engine could not be set up.
 */
int lg_engine_run(const struct lg_opts *o, struct lg_report *rep);

#endif
