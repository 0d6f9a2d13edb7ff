// SPDX-License-Identifier: Apache-2.0
/* The three dataplane measurements: packet rate, wake-event latency, events per burst. */
#include "dataplane.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <time.h>
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

/* The busy-poll consumer's real-time priority (SCHED_FIFO, low). */
#define BUSY_POLL_RT_PRIO 10

/*
 * CPU time of the packet path, to tell the dataplane's cost from the share of
 * the CPUs other work leaves it: the generator thread, in whose context the
 * veths' NAPI softirqs run (generator, router or baseline, and sink all on its
 * CPU), plus every ksoftirqd, which runs them when they are deferred. This
 * kernel has no IRQ time accounting, so softirq time is charged to the task
 * it interrupted; /proc/<pid>/schedstat has each task's runtime in ns.
 */
static int softirqd[256], nsoftirqd;

static uint64_t schedstat_ns(const char *path)
{
	unsigned long long ns = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return ns;
}

static void find_softirqd(void)
{
	char path[300], comm[32];
	struct dirent *de;
	DIR *d = opendir("/proc");
	FILE *f;

	while (d && (de = readdir(d)) && nsoftirqd < (int)(sizeof(softirqd) / sizeof(int))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, "ksoftirqd/", 10))
			softirqd[nsoftirqd++] = atoi(de->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

static uint64_t path_cpu_ns(void)
{
	uint64_t ns = schedstat_ns("/proc/thread-self/schedstat");
	char path[64];

	for (int i = 0; i < nsoftirqd; i++) {
		snprintf(path, sizeof(path), "/proc/%d/schedstat", softirqd[i]);
		ns += schedstat_ns(path);
	}
	return ns;
}

struct rate {
	double mpps;	 /* delivered to the sink per second of wall time */
	double mpps_cpu; /* ... per second of CPU time of the packet path */
};

/* Frames delivered to the sink while the program on rx0 is (attached). */
static struct rate rate_once(void)
{
	uint64_t c0, c1, t0, t1, cpu0, cpu1;
	struct rate r;
	int64_t sent;

	gen_for(B.skel, B.gen0, 0.2); /* warm up: flow table, caches, NAPI */
	c0 = sink_count(B.skel);
	cpu0 = path_cpu_ns();
	t0 = now_ns();
	sent = gen_for(B.skel, B.gen0, B.rate_secs);
	t1 = now_ns();
	cpu1 = path_cpu_ns();
	c1 = sink_count(B.skel);
	if (sent < 0)
		bench_fail("generator", (int)sent);
	r.mpps = (double)(c1 - c0) / ((double)(t1 - t0) / 1e3);
	r.mpps_cpu = cpu1 > cpu0 ? (double)(c1 - c0) / ((double)(cpu1 - cpu0) / 1e3) : 0.0;
	fprintf(stderr, "  sent %lld, delivered %llu in %.2f s, %.2f s of CPU\n", (long long)sent,
		(unsigned long long)(c1 - c0), (double)(t1 - t0) / 1e9,
		(double)(cpu1 - cpu0) / 1e9);
	return r;
}

static void keep_best(struct rate *best, struct rate r)
{
	if (r.mpps > best->mpps)
		best->mpps = r.mpps;
	if (r.mpps_cpu > best->mpps_cpu)
		best->mpps_cpu = r.mpps_cpu;
}

/* The programs that take turns on rx0; the router is attached by dp. */
enum { P_XDP_BENCH, P_REDIRECT_ONLY, P_ROUTER, P_N };
static const char *const prog_name[P_N] = {"raw_redirect", "redirect_only", "router"};

/* EMBER_BENCH_ONLY=raw_redirect|redirect_only|router runs one program's
 * rounds alone (to profile it). */
static int run_program(int p)
{
	return !B.only || !strcmp(B.only, prog_name[p]);
}

static void attach(int p)
{
	enum dp_xdp_mode used;
	int err;

	if (p == P_ROUTER) {
		err = dp_attach_router(B.dp, B.rx0, DP_XDP_NATIVE, &used);
		if (err)
			bench_fail(dp_errmsg(B.dp), err);
		return;
	}
	err = bpf_xdp_attach(B.rx0,
			     bpf_program__fd(p == P_XDP_BENCH
						     ? B.skel->progs.bench_xdp_bench_redirect
						     : B.skel->progs.bench_raw_redirect),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		bench_fail("attaching a baseline program", err);
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0.0;
}

/*
 * The router and two baselines take turns on the same veth in the same run,
 * several rounds each, so background load on the shared cores hits all alike.
 * The best round of each is reported: the least disturbed one. The goal's
 * baseline (raw_redirect) is what `xdp-bench redirect` runs: a per-CPU count,
 * a MAC swap and bpf_redirect(). redirect_only is the floor under it, a bare
 * devmap redirect. Next to the wall-clock rates, the rates per CPU-second of
 * the packet path: what each program costs, whatever share of the CPUs the
 * rest of the machine leaves the bench (the *_cpu figures).
 */
void measure_rate(void)
{
	struct rate best[P_N] = {0}, r;

	find_softirqd();
	bench_target(PORT_LIVE, RATE_FLOWS);
	for (int i = 0; i < B.rate_rounds; i++) {
		for (int p = 0; p < P_N; p++) {
			if (!run_program(p))
				continue;
			attach(p);
			r = rate_once();
			fprintf(stderr, "round %d %s %.3f Mpps, %.3f Mpps per CPU\n", i,
				prog_name[p], r.mpps, r.mpps_cpu);
			keep_best(&best[p], r);
		}
	}
	printf("frame_bytes=64\n");
	for (int p = 0; p < P_N; p++)
		printf("%s_mpps=%.3f\n", prog_name[p], best[p].mpps);
	printf("router_vs_raw_ratio=%.3f\n", ratio(best[P_ROUTER].mpps, best[P_XDP_BENCH].mpps));
	printf("router_vs_redirect_only_ratio=%.3f\n",
	       ratio(best[P_ROUTER].mpps, best[P_REDIRECT_ONLY].mpps));
	for (int p = 0; p < P_N; p++)
		printf("%s_mpps_per_cpu=%.3f\n", prog_name[p], best[p].mpps_cpu);
	printf("router_vs_raw_cpu_ratio=%.3f\n",
	       ratio(best[P_ROUTER].mpps_cpu, best[P_XDP_BENCH].mpps_cpu));
	printf("router_vs_redirect_only_cpu_ratio=%.3f\n",
	       ratio(best[P_ROUTER].mpps_cpu, best[P_REDIRECT_ONLY].mpps_cpu));
}

/* Wake events as the consumer thread sees them. */
static struct {
	atomic_int count;
	_Atomic uint64_t last_lat_ns; /* XDP stamp -> read, of the latest event */
	atomic_int stop;
	int cpu;	  /* busy-poll: the consumer's own CPU; -1 = blocked, not pinned */
	uint64_t cpu_ns;  /* the consumer's CPU time while it ran */
	uint64_t wall_ns; /* and its wall time */
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

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* What emberd does: dp_events_poll() in a loop, either blocked in epoll or
 * busy-polling on a CPU of its own (dp_events_thread_dedicate(): pinned,
 * SCHED_FIFO); it records its own CPU time to show what the mode costs. */
static void *consumer(void *arg)
{
	uint64_t c0, t0;
	int err;

	(void)arg;
	if (W.cpu >= 0) {
		err = dp_events_thread_dedicate(W.cpu, BUSY_POLL_RT_PRIO);
		if (err)
			bench_fail("dedicating a CPU to the busy-poll consumer", err);
	}
	c0 = thread_cpu_ns();
	t0 = now_ns();
	while (!atomic_load(&W.stop))
		dp_events_poll(B.dp, 50);
	W.cpu_ns = thread_cpu_ns() - c0;
	W.wall_ns = now_ns() - t0;
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

static pthread_t start_consumer(int cpu)
{
	pthread_t t;
	int err;

	atomic_store(&W.stop, 0);
	W.cpu = cpu;
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
 * One frame to the idle app per sample; the consumer thread stamps the read.
 * Latency = read time - the router's bpf_ktime_get_ns() stamp in the event
 * (both CLOCK_MONOTONIC). (name) prefixes the printed figures; (cpu) >= 0
 * pins the consumer there.
 */
static void wake_latency(const char *name, int cpu)
{
	int n = B.wake_samples, got = 0, err;
	uint64_t *lat;
	pthread_t t;

	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		bench_fail("calloc", ENOMEM);
	t = start_consumer(cpu);
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
	printf("%s_samples=%d\n", name, got);
	printf("%s_lost=%d\n", name, n - got);
	printf("%s_p50_us=%.1f\n", name, pct_us(lat, got, 0.50));
	printf("%s_p99_us=%.1f\n", name, pct_us(lat, got, 0.99));
	printf("%s_consumer_cpu_pct=%.0f\n", name,
	       W.wall_ns ? 100.0 * (double)W.cpu_ns / (double)W.wall_ns : 0.0);
	free(lat);
}

/*
 * Two consumers, both through dp_events_poll() as emberd uses it:
 * - blocked in epoll (dp_events_set_spin 0), not pinned: no CPU while idle,
 *   but every event pays the kernel's wakeup of the thread
 *   (wake_event_blocked_*);
 * - busy-polling (DP_EVENTS_SPIN_ALWAYS) on a CPU of its own at real-time
 *   priority (dp_events_thread_dedicate()), the generator and the router on
 *   another one (wake_event_*): costs that whole CPU.
 * With a single CPU the busy-poll figure is not measured.
 */
void measure_wake_latency(void)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), err;
	cpu_set_t saved;

	err = dp_events_open(B.dp, on_wake, NULL);
	if (err)
		bench_fail(dp_errmsg(B.dp), err);
	bench_target(PORT_IDLE, 1);
	dp_events_set_spin(B.dp, 0);
	wake_latency("wake_event_blocked", -1);
	if (ncpu < 2) {
		printf("wake_event_consumer=blocked (one CPU: no busy-poll figure)\n");
		return;
	}
	/* The generator (and so the router, which runs in its softirq) on the
	 * first CPU, the consumer on the last one. */
	if (pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) || pin_self(0))
		bench_fail("pinning the generator", EINVAL);
	dp_events_set_spin(B.dp, DP_EVENTS_SPIN_ALWAYS);
	wake_latency("wake_event", ncpu - 1);
	dp_events_set_spin(B.dp, 0);
	pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	printf("wake_event_consumer=busy-poll-pinned-fifo\n");
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
	t = start_consumer(-1);
	err = gen_send(B.skel, B.gen0, (uint64_t)B.burst);
	if (err)
		bench_fail("generator", err);
	wait_events(2, 200); /* give a second (wrong) event time to show up */
	stop_consumer(t);
	drain_standby();
	printf("burst_frames=%d\n", B.burst);
	printf("wake_events_per_burst=%d\n", atomic_load(&W.count));
}
