// SPDX-License-Identifier: Apache-2.0
/* Unit tests: emberd metering's pure parts (/proc parsers, histogram, Prometheus text, console
 * tails). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "emberd/console.h"
#include "emberd/meter.h"
#include "emberd/meter_record.h"
#include "emberd/prom.h"

/* An output stream and what it collected. */
struct out {
	FILE *f;
	char *buf;
	size_t len;
};

static void out_open(struct out *o)
{
	o->buf = NULL;
	o->f = open_memstream(&o->buf, &o->len);
	assert_non_null(o->f);
}

/* Closes (o) and compares its text with (want); frees it. */
static void out_expect(struct out *o, const char *want)
{
	assert_int_equal(fclose(o->f), 0);
	assert_string_equal(o->buf, want);
	free(o->buf);
}

static FILE *text_file(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");

	assert_non_null(f);
	return f;
}

static void test_stat(void **state)
{
	/* A command name with spaces and ')' (fields are counted after the last one). */
	const char *line = "4242 (ember-vmm) x) S 1 4242 4242 0 -1 4194560 1200 0 3 0 "
			   "250 75 0 0 20 0 3 0 987654 123456789 2048 18446744073709551615\n";
	struct meter_stat st;

	(void)state;
	assert_int_equal(meter_parse_stat(line, &st), 0);
	assert_int_equal(st.utime, 250);
	assert_int_equal(st.stime, 75);
	assert_int_equal(st.start, 987654);
	assert_int_equal(meter_parse_stat("4242 (vmm S 1 2", &st), -EINVAL);
	assert_int_equal(meter_parse_stat("4242 (vmm) S 1 2 3\n", &st), -EINVAL);
}

static void test_smaps_rollup(void **state)
{
	static const char text[] =
		"55d0c0000000-7ffd5fbff000 ---p 00000000 00:00 0                          "
		"[rollup]\n"
		"Rss:              135804 kB\n"
		"Pss:               37210 kB\n"
		"Pss_Dirty:          2104 kB\n"
		"Pss_Anon:           1900 kB\n"
		"Pss_File:          35310 kB\n"
		"Pss_Shmem:             0 kB\n"
		"Shared_Clean:     131072 kB\n"
		"Swap:                  0 kB\n";
	uint64_t rss = 0, pss = 0;
	FILE *f = text_file(text);

	(void)state;
	assert_int_equal(meter_parse_smaps_rollup(f, &rss, &pss), 0);
	fclose(f);
	assert_int_equal(rss, 135804);
	assert_int_equal(pss, 37210);
	f = text_file("Rss: 10 kB\nPss_Anon: 5 kB\n");
	assert_int_equal(meter_parse_smaps_rollup(f, &rss, &pss), -EINVAL);
	fclose(f);
}

static void test_netdev(void **state)
{
	static const char text[] =
		"Inter-|   Receive                                                |  Transmit\n"
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
		"packets errs drop fifo colls carrier compressed\n"
		"    lo:  123456     789    0    0    0     0          0         0   123456     "
		"789    0    0    0     0       0          0\n"
		"ember12:    5000      40    0    0    0     0          0         0    90000     "
		"70    0    0    0     0       0          0\n"
		"  eth0: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n"
		"ember3:     100       1    0    0    0     0          0         0      200      "
		"2    0    0    0     0       0          0\n";
	struct meter_ifstat *v;
	const struct meter_ifstat *s;
	size_t n;
	FILE *f = text_file(text);

	(void)state;
	assert_int_equal(meter_parse_netdev(f, "ember", &v, &n), 0);
	fclose(f);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "ember12"); /* sorted by name */
	assert_string_equal(v[1].name, "ember3");
	s = meter_ifstat_find(v, n, "ember12");
	assert_non_null(s);
	assert_int_equal(s->rx_bytes, 5000);
	assert_int_equal(s->rx_packets, 40);
	assert_int_equal(s->tx_bytes, 90000);
	assert_int_equal(s->tx_packets, 70);
	assert_int_equal(meter_ifstat_find(v, n, "ember3")->tx_packets, 2);
	assert_null(meter_ifstat_find(v, n, "ember4"));
	assert_null(meter_ifstat_find(v, n, "lo"));
	free(v);

	f = text_file("h1\nh2\n  lo: 1 2 3\n");
	assert_int_equal(meter_parse_netdev(f, "ember", &v, &n), -EINVAL);
	fclose(f);
}

static void test_hist(void **state)
{
	struct meter_hist h = {0};

	(void)state;
	meter_hist_add(&h, 0);	     /* le 0.0001 */
	meter_hist_add(&h, 100);     /* le 0.0001: bounds are inclusive */
	meter_hist_add(&h, 101);     /* le 0.00025 */
	meter_hist_add(&h, 4200);    /* le 0.005 */
	meter_hist_add(&h, 2500000); /* le 2.5 */
	meter_hist_add(&h, 2500001); /* +Inf */
	assert_int_equal(h.n[0], 2);
	assert_int_equal(h.n[1], 1);
	assert_int_equal(h.n[5], 1);
	assert_int_equal(h.n[13], 1);
	assert_int_equal(h.n[14], 1);
	assert_int_equal(h.count, 6);
	assert_int_equal(h.sum_us, 0 + 100 + 101 + 4200 + 2500000 + 2500001);
}

static void test_prom_text(void **state)
{
	struct prom_label l[] = {{"app", "we\"b\\x\ny"}, {"guest", "web-3"}};
	struct out o;

	(void)state;
	out_open(&o);
	prom_family(o.f, "ember_guest_cpu_seconds_total", "counter", "CPU \"time\" a\\b\nc.");
	prom_sample(o.f, "ember_guest_cpu_seconds_total", l, 2, 1250000000, 9);
	prom_sample(o.f, "ember_guest_cpu_seconds_total", l + 1, 1, 7, 9);
	prom_sample(o.f, "ember_x", NULL, 0, 4096, 0);
	prom_sample(o.f, "ember_y", l + 1, 1, 12345, 3);
	out_expect(&o, "# HELP ember_guest_cpu_seconds_total CPU \"time\" a\\\\b\\nc.\n"
		       "# TYPE ember_guest_cpu_seconds_total counter\n"
		       "ember_guest_cpu_seconds_total{app=\"we\\\"b\\\\x\\ny\",guest=\"web-3\"} "
		       "1.250000000\n"
		       "ember_guest_cpu_seconds_total{guest=\"web-3\"} 0.000000007\n"
		       "ember_x 4096\n"
		       "ember_y{guest=\"web-3\"} 12.345\n");
}

static void test_prom_histogram(void **state)
{
	struct prom_label l[] = {{"app", "web"}, {"to", "resumed"}};
	struct meter_hist h = {0};
	struct out o;

	(void)state;
	meter_hist_add(&h, 85);
	meter_hist_add(&h, 4200);
	meter_hist_add(&h, 3000000);
	out_open(&o);
	prom_histogram(o.f, "ember_app_wake_latency_seconds", l, 2, &h);
	/* clang-format off */
#define B(le, n) \
	"ember_app_wake_latency_seconds_bucket{app=\"web\",to=\"resumed\",le=\"" le "\"} " n "\n"
	out_expect(&o, B("0.0001", "1") B("0.00025", "1") B("0.0005", "1") B("0.001", "1")
		       B("0.0025", "1") B("0.005", "2") B("0.01", "2") B("0.025", "2")
		       B("0.05", "2") B("0.1", "2") B("0.25", "2") B("0.5", "2")
		       B("1", "2") B("2.5", "2") B("+Inf", "3")
		       "ember_app_wake_latency_seconds_sum{app=\"web\",to=\"resumed\"} 3.004285\n"
		       "ember_app_wake_latency_seconds_count{app=\"web\",to=\"resumed\"} 3\n");
#undef B
	/* clang-format on */
}

/* A temporary file holding (s); returns its fd (unlinked already). */
static int temp_fd(const char *s)
{
	char path[] = "/tmp/test_emberd_meter.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	return fd;
}

static void test_read_tail(void **state)
{
	int fd = temp_fd("first line\nsecond\nthird\n");
	size_t len;
	char *b;

	(void)state;
	assert_int_equal(console_read_tail(fd, 1024, &b, &len), 0);
	assert_int_equal(len, 24);
	assert_string_equal(b, "first line\nsecond\nthird\n");
	free(b);
	/* The last 10 bytes start inside "second": that cut line goes. */
	assert_int_equal(console_read_tail(fd, 10, &b, &len), 0);
	assert_string_equal(b, "third\n");
	assert_int_equal(len, 6);
	free(b);
	/* A window inside one line: nothing whole. */
	assert_int_equal(console_read_tail(fd, 3, &b, &len), 0);
	assert_int_equal(len, 0);
	free(b);
	close(fd);
	fd = temp_fd("");
	assert_int_equal(console_read_tail(fd, 1024, &b, &len), 0);
	assert_int_equal(len, 0);
	free(b);
	close(fd);
}

static void write_text(const char *text, unsigned int tail, const char *prefix, const char *want)
{
	struct out o;

	out_open(&o);
	console_write(o.f, text, strlen(text), tail, prefix);
	out_expect(&o, want);
}

static void test_console_write(void **state)
{
	const char *t = "boot\r\none\ntwo\tx\nesc\033[2Jz\x7f\npartial";

	(void)state;
	write_text(t, 0, NULL, "boot\none\ntwo\tx\nesc?[2Jz?\npartial");
	write_text(t, 2, NULL, "esc?[2Jz?\npartial");
	write_text(t, 2, "web-3 | ", "web-3 | esc?[2Jz?\nweb-3 | partial\n");
	write_text("a\nb\nc\n", 2, "p: ", "p: b\np: c\n");
	write_text("a\nb\nc\n", 3, NULL, "a\nb\nc\n");
	write_text("a\nb\nc\n", 100, NULL, "a\nb\nc\n");
	write_text("a\n\nc\n", 2, "x ", "x \nx c\n");
	write_text("", 5, "x ", "");
}

static void test_instance_ids(void **state)
{
	unsigned int id = 0;

	(void)state;
	assert_int_equal(console_instance_parse("web", "web-12", &id), 0);
	assert_int_equal(id, 12);
	assert_int_equal(console_instance_parse("web", "7", &id), 0);
	assert_int_equal(id, 7);
	assert_int_equal(console_instance_parse("web", "web-boot", &id), 1);
	assert_int_equal(console_instance_parse("web-2", "web-2-5", &id), 0);
	assert_int_equal(id, 5);
	assert_int_equal(console_instance_parse("web", "web-2-5", &id), -1);
	assert_int_equal(console_instance_parse("web", "web-012", &id), -1);
	assert_int_equal(console_instance_parse("web", "web-0", &id), -1);
	assert_int_equal(console_instance_parse("web", "api-1", &id), -1);
	assert_int_equal(console_instance_parse("web", "web", &id), -1);
	assert_int_equal(console_instance_parse("web", "web-", &id), -1);
	assert_int_equal(console_instance_parse("web", "web-99999999999", &id), -1);

	assert_int_equal(console_file_parse("g3.console", &id), 0);
	assert_int_equal(id, 3);
	assert_int_equal(console_file_parse("g120.console", &id), 0);
	assert_int_equal(id, 120);
	assert_int_equal(console_file_parse("boot.console", &id), 1);
	assert_int_equal(console_file_parse("g.console", &id), -1);
	assert_int_equal(console_file_parse("g3.log", &id), -1);
	assert_int_equal(console_file_parse("g03.console", &id), -1);
	assert_int_equal(console_file_parse("gx.console", &id), -1);
	assert_int_equal(console_file_parse("g3.console.old", &id), -1);
}

/* A record with every field set to a distinct value survives dump and parse. */
static void test_record_round_trip(void **state)
{
	struct meter_record_guest g[2] = {
		{.id = 7,
		 .t = {.cpu_ns = 11,
		       .pss_kib_ms = 12,
		       .rx_bytes = 13,
		       .rx_packets = 14,
		       .tx_bytes = 15,
		       .tx_packets = 16,
		       .new_flows = 17}},
		{.id = 4000000000u, .t = {.cpu_ns = 21, .new_flows = 27}},
	};
	struct meter_record r = {
		.gone = {.cpu_ns = 1,
			 .pss_kib_ms = 2,
			 .rx_bytes = 3,
			 .rx_packets = 4,
			 .tx_bytes = 5,
			 .tx_packets = 6,
			 .new_flows = 7},
		.dp0 = {.packets = 31, .bytes = 32, .new_flows = 33, .drops = 34},
		.dp = {.packets = 41, .bytes = 42, .new_flows = 43, .drops = 44},
		.wakes = 51,
		.wakes_missed = 52,
		.wakes_restore = 53,
		.scale_outs = 54,
		.scale_ins = 55,
		.guests = g,
		.nguests = 2,
	};
	struct meter_record back;
	char err[256], *text;

	(void)state;
	meter_hist_add(&r.to_first, 150);
	meter_hist_add(&r.to_first, 9000000);
	meter_hist_add(&r.to_ok, 3);
	text = meter_record_dump(&r);
	assert_non_null(text);
	assert_int_equal(meter_record_parse(text, &back, err, sizeof(err)), 0);
	free(text);
	assert_memory_equal(&back.gone, &r.gone, sizeof(r.gone));
	assert_int_equal(back.dp0.drops, 34);
	assert_int_equal(back.dp.packets, 41);
	assert_int_equal(back.dp.last_seen_ns, 0); /* a sample, not kept */
	assert_int_equal(back.wakes + back.wakes_missed + back.wakes_restore, 51 + 52 + 53);
	assert_int_equal(back.scale_outs * 100 + back.scale_ins, 5400 + 55);
	assert_memory_equal(&back.to_first, &r.to_first, sizeof(r.to_first));
	assert_memory_equal(&back.to_ok, &r.to_ok, sizeof(r.to_ok));
	assert_int_equal(back.nguests, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct meter_record_guest *x =
			back.guests[0].id == g[i].id ? &back.guests[0] : &back.guests[1];

		assert_int_equal(x->id, g[i].id);
		assert_memory_equal(&x->t, &g[i].t, sizeof(g[i].t));
	}
	meter_record_free(&back);
}

/* Damaged records are refused with what is wrong; unknown fields are not. */
static void test_record_refusals(void **state)
{
	static const char *const good_tail =
		"\"dp0\": {\"packets\": 0, \"bytes\": 0, \"new_flows\": 0, \"drops\": 0},"
		"\"dp\": {\"packets\": 0, \"bytes\": 0, \"new_flows\": 0, \"drops\": 0},"
		"\"wakes\": 0, \"wakes_missed\": 0, \"wakes_restore\": 0, \"scale_outs\": 0,"
		"\"scale_ins\": 0, \"to_first\": {\"n\": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
		"\"count\": 0, \"sum_us\": 0}, \"to_ok\": {\"n\": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"
		"\"count\": 0, \"sum_us\": 0}, \"guests\": {}, \"later\": [1]}";
	static const char *const gone =
		"{\"version\": 1, \"gone\": {\"cpu_ns\": 5, \"pss_kib_ms\": 0, \"rx_bytes\": 0,"
		"\"rx_packets\": 0, \"tx_bytes\": 0, \"tx_packets\": 0, \"new_flows\": 0},";
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "not JSON"},
		{"{\"version\": 1", "not JSON"},
		{"[]", "version 1"},
		{"{\"version\": 2}", "version 1"},
		{"{\"version\": 1}", "gone: missing"},
		{"{\"version\": 1, \"gone\": {\"cpu_ns\": -1}}", "gone.cpu_ns"},
		{"{\"version\": 1, \"gone\": {\"cpu_ns\": \"5\"}}", "gone.cpu_ns"},
	};
	struct meter_record r;
	char err[256], text[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(meter_record_parse(bad[i].text, &r, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i].why));
		assert_null(r.guests);
	}
	snprintf(text, sizeof(text), "%s%s", gone, good_tail);
	assert_int_equal(meter_record_parse(text, &r, err, sizeof(err)), 0);
	assert_int_equal(r.gone.cpu_ns, 5);
	meter_record_free(&r);
	/* One bucket short, a guest id that is not a number, a negative guest total. */
	snprintf(text, sizeof(text), "%s%s", gone, good_tail);
	memcpy(strstr(text, ",0]"), "]  ", 3); /* the first histogram loses its last bucket */
	assert_int_equal(meter_record_parse(text, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "to_first"));
	snprintf(text, sizeof(text), "%s%.*s\"guests\": {\"x1\": {}}}", gone,
		 (int)(strstr(good_tail, "\"guests\"") - good_tail), good_tail);
	assert_int_equal(meter_record_parse(text, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'x1' is not a guest id"));
	assert_null(r.guests);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_smaps_rollup),
		cmocka_unit_test(test_netdev),
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_prom_text),
		cmocka_unit_test(test_prom_histogram),
		cmocka_unit_test(test_read_tail),
		cmocka_unit_test(test_console_write),
		cmocka_unit_test(test_instance_ids),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
