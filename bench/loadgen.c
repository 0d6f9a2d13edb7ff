/* SPDX-License-Identifier: Apache-2.0 */
/* loadgen: an open-loop HTTP/1.1 load generator; its command line (engine: loadgen_engine.c). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

static const char usage[] =
	"NAME\n"
	"    loadgen - open-loop HTTP/1.1 load generator\n"
	"\n"
	"SYNOPSIS\n"
	"    loadgen [-r RATE] [-d SECONDS | -n N] [-c MAX] [-t MS] [-p PREFIX] [-v]\n"
	"            ADDR[,ADDR...] PORT [PATH]\n"
	"    loadgen --burst [-c MAX] [-t MS] [-p PREFIX] [-v] ADDR[,ADDR...] PORT [PATH]\n"
	"\n"
	"DESCRIPTION\n"
	"    Sends GET PATH (default /) requests to PORT of the given numeric IPv4/IPv6\n"
	"    addresses on a fixed schedule, whatever the responses do: request i is due\n"
	"    at start + i/RATE, whether or not earlier requests have completed (open\n"
	"    loop). Each request is a new TCP connection (non-blocking connect, then\n"
	"    \"GET PATH HTTP/1.1\", \"Host: ADDR\", \"Connection: close\"), read until the\n"
	"    server closes it; it succeeds when the response's status is 200. With several\n"
	"    addresses the requests go round-robin over them. Host names are refused:\n"
	"    nothing is sent anywhere but the addresses given.\n"
	"\n"
	"    Latency is measured from the request's scheduled send time to the close,\n"
	"    not from when the generator got round to sending it, so a stall (of the\n"
	"    server or of loadgen) is charged to every request it delays instead of\n"
	"    being hidden (no coordinated omission).\n"
	"\n"
	"OPTIONS\n"
	"    -r RATE     requests per second (default 100; decimals allowed, e.g. 0.5)\n"
	"    -d SECONDS  run for this long (default 5; decimals allowed): RATE*SECONDS\n"
	"                requests, rounded down\n"
	"    -n N        send exactly N requests instead (not with -d)\n"
	"    --burst     no schedule: one request to every ADDR, all connects issued back\n"
	"                to back at the same instant, then wait for all of them (\"many\n"
	"                idle apps hit at once\"; not with -r, -d, -n)\n"
	"    -c MAX      at most MAX connections in flight (default 1024). A request due\n"
	"                while MAX are in flight fails as \"overload\"; it is never delayed\n"
	"    -t MS       a request not complete MS milliseconds after its scheduled send\n"
	"                time fails as \"timeout\" (default 5000)\n"
	"    -p PREFIX   prefix of the output names, [A-Za-z0-9_.]+ (default load)\n"
	"    -v          also print every request on stderr, in schedule order:\n"
	"                \"I ADDR LATENCY_US STATUS\" (STATUS is the HTTP status, or\n"
	"                timeout/refused/overload/error; LATENCY_US is - when never sent)\n"
	"    -h, --help  this text\n"
	"\n"
	"OUTPUT\n"
	"    name=value lines on stdout (the bench/run.sh protocol):\n"
	"    PREFIX_requests, PREFIX_ok, PREFIX_failed   requests scheduled, succeeded,\n"
	"        failed; then, when not zero, PREFIX_failed_timeout, _refused,\n"
	"        _overload, _bad_status (a complete response that is not 200, or no\n"
	"        parsable status line) and _error (any other socket error)\n"
	"    PREFIX_p50_us, _p90_us, _p99_us, _max_us   latency of the successful\n"
	"        requests, exact nearest-rank percentiles over every sample (omitted\n"
	"        when none succeeded)\n"
	"    PREFIX_rate_achieved   requests actually sent per second (overloads are\n"
	"        not sent); below RATE means loadgen or -c could not keep up\n"
	"    PREFIX_send_lag_p99_us   how late sends were against the schedule (in\n"
	"        --burst: how long after the first connect each was issued); large\n"
	"        values mean the generator itself did not keep up\n"
	"\n"
	"EXIT STATUS\n"
	"    0 every request succeeded, 1 some failed (or setup failed), 2 usage error.\n"
	"\n"
	"EXAMPLES\n"
	"    loadgen -r 200 -d 3 10.0.0.1 80 /             200 requests/s for 3 s\n"
	"    loadgen -p wake --burst 10.1.0.1,10.1.0.2 80  one request to each at once\n";

static int usage_error(const char *msg)
{
	if (msg)
		fprintf(stderr, "loadgen: %s\n", msg);
	fputs("Try 'loadgen --help'.\n", stderr);
	return 2;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || *v < 1 || *v > max ? -1 : 0;
}

/* Returns 0, or the exit status of a usage error (2) or --help (0, as -1). */
static int parse_opts(int argc, char **argv, struct lg_opts *o)
{
	static const struct option lo[] = {
		{"burst", no_argument, NULL, 'B'}, {"help", no_argument, NULL, 'h'}, {0}};
	unsigned long long v;
	char err[160];
	int ch;

	while ((ch = getopt_long(argc, argv, "r:d:n:c:t:p:vh", lo, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o->have_rate = true;
			if (lg_parse_milli(optarg, &o->rate_milli) || !o->rate_milli ||
			    o->rate_milli > 10000000000ull)
				return usage_error("-r: a rate > 0 and <= 10000000 per second");
			break;
		case 'd':
			o->have_dur = true;
			if (lg_parse_milli(optarg, &o->dur_milli) || !o->dur_milli)
				return usage_error("-d: a duration > 0 in seconds");
			break;
		case 'n':
			o->have_n = true;
			if (parse_uint(optarg, LG_MAX_REQUESTS, &v))
				return usage_error("-n: 1 to 100000000 requests");
			o->n = v;
			break;
		case 'c':
			if (parse_uint(optarg, 1000000, &v))
				return usage_error("-c: 1 to 1000000 connections");
			o->max_conns = (unsigned)v;
			break;
		case 't':
			if (parse_uint(optarg, 86400000, &v))
				return usage_error("-t: 1 to 86400000 ms");
			o->timeout_ms = (unsigned)v;
			break;
		case 'p':
			if (!lg_prefix_valid(optarg))
				return usage_error("-p: the prefix must be [A-Za-z0-9_.]+");
			o->prefix = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'B':
			o->burst = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			return usage_error(NULL);
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		return usage_error("expected ADDR[,ADDR...] PORT [PATH]");
	if (o->burst && (o->have_rate || o->have_dur || o->have_n))
		return usage_error("--burst takes no -r, -d or -n");
	if (o->have_dur && o->have_n)
		return usage_error("-d and -n exclude each other");
	if (argc - optind == 3)
		o->path = argv[optind + 2];
	if (o->path[0] != '/' || strpbrk(o->path, " \t\r\n"))
		return usage_error("PATH must start with / and contain no white space");
	if (lg_parse_addrs(argv[optind], argv[optind + 1], &o->addrs, &o->naddrs, err, sizeof(err)))
		return usage_error(err);
	if (!o->have_n && !o->burst)
		o->n = lg_total_requests(o->rate_milli, o->dur_milli);
	if (!o->burst && (o->n < 1 || o->n > LG_MAX_REQUESTS))
		return usage_error("RATE * SECONDS must give 1 to 100000000 requests");
	/* Keeps start + offset far from overflow: nobody means a schedule of months. */
	if (!o->burst && lg_sched_offset_ns(o->n - 1, o->rate_milli) > LG_MAX_SCHEDULE_NS)
		return usage_error("the schedule (N / RATE) must end within 30 days");
	return 0;
}

int main(int argc, char **argv)
{
	struct lg_opts o = {.rate_milli = 100000,
			    .dur_milli = 5000,
			    .max_conns = 1024,
			    .timeout_ms = 5000,
			    .prefix = "load",
			    .path = "/"};
	struct lg_report rep;
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = lg_engine_run(&o, &rep);
	if (rc < 0) {
		fprintf(stderr, "loadgen: %s\n", strerror(-rc));
		rc = 1;
	} else {
		lg_report_print(stdout, o.prefix, &rep);
	}
	free(o.addrs);
	return rc;
}