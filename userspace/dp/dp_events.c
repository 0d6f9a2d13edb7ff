// SPDX-License-Identifier: Apache-2.0
/* Wake events: the router's ring buffer, read through an epoll-friendly fd or by busy-polling. */
#include "dp_internal.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

/* libbpf calls this once per record; a non-zero return stops the poll. */
static int on_record(void *ctx, void *data, size_t len)
{
	const struct ember_wake_event *raw = data;
	struct dp *dp = ctx;
	struct dp_wake_event ev;

	/* A shorter record would be an ABI mismatch: skip rather than read
	 * past it. Longer ones are fine (fields appended later). */
	if (len < sizeof(*raw) || !dp->wake_fn)
		return 0;
	ev.app_id = raw->app_id;
	ev.standby_ifindex = (int)raw->standby_ifindex;
	ev.ts_ns = raw->ts_ns;
	return dp->wake_fn(dp->wake_ctx, &ev);
}

int dp_events_open(struct dp *dp, dp_wake_fn fn, void *ctx)
{
	int fd = dp_fd(dp, EMBER_MAP_WAKE_EVENTS);

	if (fd < 0)
		return fd;
	dp->wake_fn = fn;
	dp->wake_ctx = ctx;
	if (dp->rb)
		return 0;
	dp->rb = ring_buffer__new(fd, on_record, dp, NULL);
	if (!dp->rb)
		return dp_fail(dp, -errno, "ring buffer %s: %s", EMBER_MAP_WAKE_EVENTS,
			       strerror(errno));
	return 0;
}

int dp_events_fd(const struct dp *dp)
{
	return dp->rb ? ring_buffer__epoll_fd(dp->rb) : -EBADF;
}

int dp_events_set_spin(struct dp *dp, uint32_t spin_us)
{
	dp->wake_spin_us = spin_us;
	return 0;
}

int dp_events_thread_dedicate(int cpu, int rt_priority)
{
	struct sched_param sp = {.sched_priority = rt_priority};
	cpu_set_t set;

	if (cpu >= CPU_SETSIZE)
		return -EINVAL;
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) /* 0: this thread */
			return -errno;
	}
	if (rt_priority > 0 && sched_setscheduler(0, SCHED_FIFO, &sp))
		return -errno;
	return 0;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Tells the core (and a hyperthread sibling) that this is a spin loop. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * Reads the ring without a system call until something arrives or (budget_us)
 * pass: consuming an empty ring is two loads from the shared pages. The clock
 * is read every 64 rounds only, so an event is seen within a few hundred
 * nanoseconds of the producer's write. Returns what ring_buffer__consume()
 * returned last.
 */
static int spin_consume(struct ring_buffer *rb, uint64_t budget_us)
{
	uint64_t start = mono_us();
	int n;

	for (unsigned int i = 1;; i++) {
		n = ring_buffer__consume(rb);
		if (n != 0)
			return n;
		cpu_relax();
		if (i % 64 == 0 && mono_us() - start >= budget_us)
			return 0;
	}
}

int dp_events_poll(struct dp *dp, int timeout_ms)
{
	uint64_t spin = dp->wake_spin_us, wait_us;
	int n;

	if (!dp->rb)
		return dp_fail(dp, -EBADF, "dp_events_open() was not called");
	if (spin && timeout_ms) {
		wait_us = timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms * 1000;
		if (spin == DP_EVENTS_SPIN_ALWAYS || spin > wait_us)
			spin = wait_us;
		n = spin_consume(dp->rb, spin);
		if (n != 0 || spin == wait_us)
			goto out;
		if (timeout_ms > 0) /* what is left, to the millisecond below */
			timeout_ms -= (int)(spin / 1000);
	}
	/* poll() waits on the epoll fd, then consumes everything available;
	 * with a zero timeout it only consumes. */
	n = timeout_ms ? ring_buffer__poll(dp->rb, timeout_ms) : ring_buffer__consume(dp->rb);
out:
	if (n < 0 && n != -EINTR)
		return dp_fail(dp, n, "reading wake events: %s", strerror(-n));
	return n;
}

void dp_events_close(struct dp *dp)
{
	ring_buffer__free(dp->rb);
	dp->rb = NULL;
}
