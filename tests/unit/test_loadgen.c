/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: loadgen's pure parts (percentiles, schedule, arguments, report lines). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loadgen_stats.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void check_pcts(uint64_t *v, size_t n, uint64_t p50, uint64_t p90, uint64_t p99,
		       uint64_t max)
{
	struct lg_pcts p;

	lg_pcts_compute(v, n, &p);
	assert_int_equal(p.n, n);
	assert_int_equal(p.p50, p50);
	assert_int_equal(p.p90, p90);
	assert_int_equal(p.p99, p99);
	assert_int_equal(p.max, max);
}

static void test_pcts_small(void **state)
{
	uint64_t one[] = {42}, two[] = {900, 100}, three[] = {3, 1, 2};
	uint64_t dup[] = {7, 7, 7, 7};

	(void)state;
	check_pcts(NULL, 0, 0, 0, 0, 0);
	check_pcts(one, 1, 42, 42, 42, 42);
	/* Nearest rank with 2 samples: p50 is the lower one, p90/p99 the upper. */
	check_pcts(two, 2, 100, 900, 900, 900);
	assert_int_equal(two[0], 100); /* sorted in place */
	check_pcts(three, 3, 2, 3, 3, 3);
	check_pcts(dup, 4, 7, 7, 7, 7);
}

static void test_pcts_known(void **state)
{
	uint64_t ten[] = {10, 3, 7, 1, 9, 5, 2, 8, 6, 4};
	uint64_t *v = malloc(1000 * sizeof(*v));

	(void)state;
	check_pcts(ten, 10, 5, 9, 10, 10);
	/* 1..100 in reverse: pP is exactly P. */
	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)(100 - i);
	check_pcts(v, 100, 50, 90, 99, 100);
	/* 1..1000 in a scrambled order (7 is prime to 1000): pP is 10 * P. */
	for (int i = 0; i < 1000; i++)
		v[i] = (uint64_t)((i * 7) % 1000 + 1);
	check_pcts(v, 1000, 500, 900, 990, 1000);
	/* 101 samples: ceil(0.99 * 101) = 100, the 100th smallest. */
	for (int i = 0; i < 101; i++)
		v[i] = (uint64_t)(i + 1) * 1000;
	check_pcts(v, 101, 51000, 91000, 100000, 101000);
	free(v);
}

static void test_schedule(void **state)
{
	(void)state;
	/* 200/s: every 5 ms, computed from the start. */
	assert_int_equal(lg_sched_offset_ns(0, 200000), 0);
	assert_int_equal(lg_sched_offset_ns(1, 200000), 5000000);
	assert_int_equal(lg_sched_offset_ns(599, 200000), 2995000000ull);
	/* 3/s: 333333333 ns rounded down, yet request 3 is at exactly 1 s (no drift). */
	assert_int_equal(lg_sched_offset_ns(1, 3000), 333333333);
	assert_int_equal(lg_sched_offset_ns(2, 3000), 666666666);
	assert_int_equal(lg_sched_offset_ns(3, 3000), 1000000000);
	assert_int_equal(lg_sched_offset_ns(3000000, 3000), 1000000000000000ull);
	/* 0.5/s and beyond 64-bit intermediate products. */
	assert_int_equal(lg_sched_offset_ns(1, 500), 2000000000);
	assert_int_equal(lg_sched_offset_ns(100000000, 10000000000ull), 10000000000ull);
	assert_int_equal(lg_sched_offset_ns(UINT64_MAX, 1), UINT64_MAX);

	assert_int_equal(lg_total_requests(200000, 3000), 600);
	assert_int_equal(lg_total_requests(100000, 5000), 500);
	assert_int_equal(lg_total_requests(500, 5000), 2); /* 2.5 rounded down */
	assert_int_equal(lg_total_requests(1, 1), 0);
	assert_int_equal(lg_total_requests(1500, 1500), 2); /* 2.25 */

	assert_true(lg_rate_achieved(600, 3000000000ull) == 200.0);
	assert_true(lg_rate_achieved(5, 0) == 0.0);
}

static void test_parse_milli(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {{"200", 200000},
		    {"0.5", 500},
		    {"2.125", 2125},
		    {"7.25", 7250},
		    {"0", 0},
		    {"00.010", 10},
		    {"18446744073709550", 18446744073709550000ull}};
	static const char *const bad[] = {"",	    "-1",  "+1", "1e3", "1.",  ".5",
					  "1.2345", "abc", "1 ", " 1",	"1,5", "18446744073709552"};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		assert_int_equal(lg_parse_milli(good[i].s, &v), 0);
		assert_int_equal(v, good[i].v);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(lg_parse_milli(bad[i], &v), -1);
}

static void test_parse_addrs(void **state)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct lg_addr *a;
	char err[160];
	size_t n;

	(void)state;
	assert_int_equal(lg_parse_addrs("127.0.0.1", "18080", &a, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	sin = (const struct sockaddr_in *)&a[0].sa;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 18080);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(a[0].len, sizeof(*sin));
	assert_string_equal(a[0].text, "127.0.0.1");
	free(a);

	assert_int_equal(lg_parse_addrs("10.0.0.1,10.0.0.2,::1", "65535", &a, &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(a[1].text, "10.0.0.2");
	sin = (const struct sockaddr_in *)&a[1].sa;
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x0a000002);
	sin6 = (const struct sockaddr_in6 *)&a[2].sa;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	free(a);
}

static void test_parse_addrs_refused(void **state)
{
	static const char *const lists[] = {
		"",	     "localhost",   "10.0.0.1,", ",10.0.0.1", "1.2.3.4,,1.2.3.5",
		"1.2.3.256", "example.com", "1.2.3.4 "};
	static const char *const ports[] = {"0", "65536", "http", "80x", "", "-1", " 80"};
	struct lg_addr *a = NULL;
	char err[160];
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
		err[0] = '\0';
		assert_int_equal(lg_parse_addrs(lists[i], "80", &a, &n, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
	}
	for (size_t i = 0; i < ARRAY_LEN(ports); i++) {
		err[0] = '\0';
		assert_int_equal(lg_parse_addrs("127.0.0.1", ports[i], &a, &n, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "port"));
	}
	assert_null(a);
}

static int status(const char *s)
{
	return lg_parse_status(s, strlen(s));
}

static void test_parse_status(void **state)
{
	(void)state;
	assert_int_equal(status("HTTP/1.1 200 OK\r\n"), 200);
	assert_int_equal(status("HTTP/1.0 404 Not Found\r\n"), 404);
	assert_int_equal(status("HTTP/1.1 200\r\n"), 200);
	assert_int_equal(status("HTTP/1.1 503"), 503);
	assert_int_equal(status("HTTP/2 200 OK"), -1);
	assert_int_equal(status("HTTP/1.1 20"), -1);
	assert_int_equal(status("HTTP/1.1 2000"), -1);
	assert_int_equal(status("HTTP/1.1 099 x"), -1);
	assert_int_equal(status("http/1.1 200 OK"), -1);
	assert_int_equal(status(""), -1);
	/* Only the first len bytes count. */
	assert_int_equal(lg_parse_status("HTTP/1.1 200 OK", 11), -1);
}

/* The report as a string (open_memstream), to compare whole. */
static char *render(const char *prefix, const struct lg_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	lg_report_print(f, prefix, r);
	fclose(f);
	return buf;
}

static void test_report(void **state)
{
	struct lg_report r = {.requests = 10, .rate_achieved = 199.96};
	char *s;

	(void)state;
	r.count[LG_OK] = 6;
	r.count[LG_TIMEOUT] = 1;
	r.count[LG_REFUSED] = 2;
	r.count[LG_BAD_STATUS] = 1;
	r.latency_ns = (struct lg_pcts){6, 1500999, 2000000, 3000001, 9999999};
	r.lag_ns = (struct lg_pcts){9, 1000, 2000, 45999, 50000};
	s = render("e2e_warm", &r);
	assert_string_equal(s, "e2e_warm_requests=10\n"
			       "e2e_warm_ok=6\n"
			       "e2e_warm_failed=4\n"
			       "e2e_warm_failed_timeout=1\n"
			       "e2e_warm_failed_refused=2\n"
			       "e2e_warm_failed_bad_status=1\n"
			       "e2e_warm_p50_us=1500\n"
			       "e2e_warm_p90_us=2000\n"
			       "e2e_warm_p99_us=3000\n"
			       "e2e_warm_max_us=9999\n"
			       "e2e_warm_rate_achieved=200.0\n"
			       "e2e_warm_send_lag_p99_us=45\n");
	free(s);
}

static void test_report_nothing_ok(void **state)
{
	struct lg_report r = {.requests = 3, .rate_achieved = 50};
	char *s;

	(void)state;
	r.count[LG_OVERLOAD] = 2;
	r.count[LG_ERROR] = 1;
	r.lag_ns = (struct lg_pcts){1, 7000, 7000, 7000, 7000};
	s = render("load", &r);
	/* No latency lines: nothing succeeded, and 0 would read as a great latency. */
	assert_string_equal(s, "load_requests=3\n"
			       "load_ok=0\n"
			       "load_failed=3\n"
			       "load_failed_overload=2\n"
			       "load_failed_error=1\n"
			       "load_rate_achieved=50.0\n"
			       "load_send_lag_p99_us=7\n");
	free(s);
}

static void test_prefix_and_names(void **state)
{
	(void)state;
	assert_true(lg_prefix_valid("load"));
	assert_true(lg_prefix_valid("e2e_burst.200"));
	assert_false(lg_prefix_valid(""));
	assert_false(lg_prefix_valid("a-b"));
	assert_false(lg_prefix_valid("a=b"));
	assert_false(lg_prefix_valid("a b"));
	assert_string_equal(lg_outcome_name(LG_OK), "ok");
	assert_string_equal(lg_outcome_name(LG_TIMEOUT), "timeout");
	assert_string_equal(lg_outcome_name(LG_REFUSED), "refused");
	assert_string_equal(lg_outcome_name(LG_OVERLOAD), "overload");
	assert_string_equal(lg_outcome_name(LG_BAD_STATUS), "bad_status");
	assert_string_equal(lg_outcome_name(LG_ERROR), "error");
	assert_string_equal(lg_outcome_name(LG_NOUTCOME), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcts_small),
		cmocka_unit_test(test_pcts_known),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_parse_milli),
		cmocka_unit_test(test_parse_addrs),
		cmocka_unit_test(test_parse_addrs_refused),
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_report_nothing_ok),
		cmocka_unit_test(test_prefix_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
