// SPDX-License-Identifier: Apache-2.0
/* The three dataplane measurements: packet rate, wake-event latency, events per burst. */
#include "dataplane.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.skel.h"

/* Flows the generator rotates over while measuring the rate: enough to
 * exercise the flow table, few enough to stay in cache like real traffic. */
#define RATE_FLOWS 64

/* Mpps delivered to the sink while the program on rx0 is (attached). */
static double rate_once(void)
{
	uint64_t c0, c1, t0, t1;
	int64_t sent;

	gen_for(B.skel, B.gen0, 0.2); /* warm up: flow table, caches, NAPI */
	c0 = sink_count(B.skel);
	t0 = now_ns();
	sent = gen_for(B.skel, B.gen0, B.rate_secs);
	t1 = now_ns();
	c1 = sink_count(B.skel);
	if (sent < 0)
		bench_fail("generator", (int)sent);
	fprintf(stderr, "  sent %lld, delivered %llu in %.2f s\n", (long long)sent,
		(unsigned long long)(c1 - c0), (double)(t1 - t0) / 1e9);
	return (double)(c1 - c0) / ((double)(t1 - t0) / 1e3);
}

/*
 * Router and redirect-only baseline take turns on the same veth in the same
 * run, several rounds each, so background load on the shared cores hits both
 * alike. The best round of each is reported: the least disturbed one.
 */
void measure_rate(void)
{
	int raw_fd = bpf_program__fd(B.skel->progs.bench_raw_redirect);
	double raw = 0, router = 0, r;
	enum dp_xdp_mode used;
	int err;

	bench_target(PORT_LIVE, RATE_FLOWS);
	for (int i = 0; i < B.rate_rounds; i++) {
		err = bpf_xdp_attach(B.rx0, raw_fd, XDP_FLAGS_DRV_MODE, NULL);
		if (err)
			bench_fail("attaching the redirect-only program", err);
		r = rate_once();
		fprintf(stderr, "round %d raw_redirect %.3f Mpps\n", i, r);
		raw = r > raw ? r : raw;

		err = dp_attach_router(B.dp, B.rx0, DP_XDP_NATIVE, &used);
		if (err)
			bench_fail(dp_errmsg(B.dp), err);
		r = rate_once();
		fprintf(stderr, "round %d router %.3f Mpps\n", i, r);
		router = r > router ? r : router;
	}
	printf("frame_bytes=64\n");
	printf("router_mpps=%.3f\n", router);
	printf("raw_redirect_mpps=%.3f\n", raw);
	printf("router_vs_raw_ratio=%.3f\n", raw > 0 ? router / raw : 0.0);
}

/* Wake events as the consumer thread sees them. */
static struct {
	atomic_int count;
	_Atomic uint64_t last_lat_ns; /* XDP stamp -> read, of the latest event */
	atomic_int stop;
} W;

static int on_wake(void *ctx, const struct dp_wake_event *ev)
{
	uint64_t now = now_ns();

	(void)ctx;
	if (ev->app_id != APP_IDLE)
		return 0;
	atomic_store(&W.last_lat_ns, now - ev->ts_ns);
	atomic_fetch_add(&W.count, 1);
	return 0;
}

/* What emberd does: block on the ring buffer's epoll fd, read each event. */
static void *consumer(void *arg)
{
	(void)arg;
	while (!atomic_load(&W.stop))
		dp_events_poll(B.dp, 50);
	return NULL;
}

static void drain_standby(void)
{
	char buf[2048];

	while (read(B.stby_fd, buf, sizeof(buf)) > 0)
		;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return n > 0 ? (double)v[i] / 1e3 : 0.0;
}

static pthread_t start_consumer(void)
{
	pthread_t t;
	int err;

	atomic_store(&W.stop, 0);
	err = pthread_create(&t, NULL, consumer, NULL);
	if (err)
		bench_fail("consumer thread", err);
	return t;
}

static void stop_consumer(pthread_t t)
{
	atomic_store(&W.stop, 1);
	pthread_join(t, NULL);
}

/* Waits until (n) events were seen, at most (ms); returns whether they were. */
static int wait_events(int n, int ms)
{
	for (int i = 0; i < ms * 10; i++) {
		if (atomic_load(&W.count) >= n)
			return 1;
		usleep(100);
	}
	return 0;
}

/*
 * One frame to the idle app per sample; the consumer thread, blocked in
 * epoll like emberd, stamps the read. Latency = read time - the router's
 * bpf_ktime_get_ns() stamp in the event (both CLOCK_MONOTONIC).
 */
void measure_wake_latency(void)
{
	int n = B.wake_samples, got = 0, err;
	uint64_t *lat;
	pthread_t t;

	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		bench_fail("calloc", ENOMEM);
	err = dp_events_open(B.dp, on_wake, NULL);
	if (err)
		bench_fail(dp_errmsg(B.dp), err);
	bench_target(PORT_IDLE, 1);
	t = start_consumer();
	for (int i = 0; i < n; i++) {
		err = dp_app_rearm(B.dp, APP_IDLE);
		if (err)
			bench_fail(dp_errmsg(B.dp), err);
		atomic_store(&W.count, 0);
		err = gen_send(B.skel, B.gen0, 1);
		if (err)
			bench_fail("generator", err);
		if (wait_events(1, 100))
			lat[got++] = atomic_load(&W.last_lat_ns);
		if (i % 256 == 0)
			drain_standby(); /* the tap queue is bounded */
	}
	stop_consumer(t);
	drain_standby();
	qsort(lat, (size_t)got, sizeof(*lat), cmp_u64);
	printf("wake_event_samples=%d\n", got);
	printf("wake_event_lost=%d\n", n - got);
	printf("wake_event_p50_us=%.1f\n", pct_us(lat, got, 0.50));
	printf("wake_event_p99_us=%.1f\n", pct_us(lat, got, 0.99));
	free(lat);
}

/* A burst of frames to an app that is already waking must not flood the ring. */
void measure_wake_burst(void)
{
	pthread_t t;
	int err;

	bench_target(PORT_IDLE, 64);
	err = dp_app_rearm(B.dp, APP_IDLE);
	if (err)
		bench_fail(dp_errmsg(B.dp), err);
	dp_events_poll(B.dp, 0); /* anything older than the burst */
	atomic_store(&W.count, 0);
	t = start_consumer();
	err = gen_send(B.skel, B.gen0, (uint64_t)B.burst);
	if (err)
		bench_fail("generator", err);
	wait_events(2, 200); /* give a second (wrong) event time to show up */
	stop_consumer(t);
	drain_standby();
	printf("burst_frames=%d\n", B.burst);
	printf("wake_events_per_burst=%d\n", atomic_load(&W.count));
}
