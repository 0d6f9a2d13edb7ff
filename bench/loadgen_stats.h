/* SPDX-License-Identifier: Apache-2.0 */
/* loadgen's pure parts: argument parsing, schedule arithmetic, exact percentiles, report. */
#ifndef EMBER_BENCH_LOADGEN_STATS_H
#define EMBER_BENCH_LOADGEN_STATS_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/* What became of one request. PENDING/INFLIGHT are transient; the rest are final. */
enum lg_outcome {
	LG_PENDING,
	LG_INFLIGHT,
	LG_OK,
	LG_TIMEOUT,    /* not complete within -t of its scheduled send time */
	LG_REFUSED,    /* connect() failed with ECONNREFUSED */
	LG_OVERLOAD,   /* -c connections were already in flight: never sent */
	LG_BAD_STATUS, /* closed after a response whose status is not 200 (or none) */
	LG_ERROR,      /* any other socket error (reset, unreachable, EMFILE, ...) */
	LG_NOUTCOME,
};

/* One target: a numeric address (never resolved by name) and the port. */
struct lg_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[INET6_ADDRSTRLEN];
};

/* Exact nearest-rank percentiles of n samples, in the samples' unit. */
struct lg_pcts {
	size_t n;
	uint64_t p50, p90, p99, max;
};

struct lg_report {
	uint64_t requests;	     /* scheduled: ok + failed */
	uint64_t count[LG_NOUTCOME]; /* by final outcome */
	struct lg_pcts latency_ns;   /* successful requests, from the scheduled send */
	struct lg_pcts lag_ns;	     /* issued requests: actual send - scheduled send */
	double rate_achieved;	     /* issued requests per second */
};

/*
 * lg_parse_milli() - parses a non-negative decimal with at most 3 fractional
 * digits ("200", "0.5", "2.125") into thousandths (200000, 500, 2125).
 * Returns 0, or -1 for anything else (sign, exponent, trailing junk, overflow).
 */
int lg_parse_milli(const char *s, uint64_t *milli);

/*
 * lg_total_requests() - requests in (dur_milli / 1000) seconds at
 * (rate_milli / 1000) per second, rounded down (exact integer arithmetic).
 */
uint64_t lg_total_requests(uint64_t rate_milli, uint64_t dur_milli);

/*
 * lg_sched_offset_ns() - when request i (from 0) is due, in ns after the
 * start: floor(i * 1e12 / rate_milli), UINT64_MAX if that does not fit.
 * Exact; no drift accumulates because every send time is computed from the
 * start, never from the previous one.
 */
uint64_t lg_sched_offset_ns(uint64_t i, uint64_t rate_milli);

/* lg_rate_achieved() - issued / span, per second; 0 when span_ns is 0. */
double lg_rate_achieved(uint64_t issued, uint64_t span_ns);

/*
 * lg_parse_addrs() - parses "ADDR[,ADDR...]" (numeric IPv4/IPv6 only) and a
 * numeric PORT (1-65535) into a calloc'ed array (*out, *n; free() it).
 * Returns 0, or -1 with a message in err (errlen bytes).
 */
int lg_parse_addrs(const char *list, const char *port, struct lg_addr **out, size_t *n, char *err,
		   size_t errlen);

/*
 * lg_parse_status() - the status code of a response beginning with
 * "HTTP/1.x NNN", from its first len bytes. Returns 100-999, or -1.
 */
int lg_parse_status(const char *buf, size_t len);

/*
 * lg_pcts_compute() - sorts v[0..n) in place and fills out with exact
 * nearest-rank percentiles: pP = v[ceil(P * n / 100) - 1] (no interpolation,
 * always one of the samples). With n = 0 everything is 0.
 */
void lg_pcts_compute(uint64_t *v, size_t n, struct lg_pcts *out);

/* lg_prefix_valid() - the prefix is [A-Za-z0-9_.]+ (what bench/run.sh keeps). */
int lg_prefix_valid(const char *prefix);

/* lg_outcome_name() - "ok", "timeout", "refused", "overload", "bad_status", "error". */
const char *lg_outcome_name(enum lg_outcome o);

/*
 * lg_report_print() - the name=value lines of the report, PREFIX_ first.
 * Failure kinds appear only when non-zero; percentiles only when there is
 * at least one sample (a made-up 0 would read as a very good latency).
 */
void lg_report_print(FILE *f, const char *prefix, const struct lg_report *r);

#endif
