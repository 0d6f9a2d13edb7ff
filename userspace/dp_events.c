// SPDX-License-Identifier: Apache-2.0
/* Wake events: the router's ring buffer, consumed through an epoll-friendly fd. */
#include "dp_internal.h"

#include <errno.h>
#include <string.h>
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

int dp_events_poll(struct dp *dp, int timeout_ms)
{
	int n;

	if (!dp->rb)
		return dp_fail(dp, -EBADF, "dp_events_open() was not called");
	/* poll() waits on the epoll fd, then consumes everything available;
	 * with a zero timeout it only consumes. */
	n = timeout_ms ? ring_buffer__poll(dp->rb, timeout_ms) : ring_buffer__consume(dp->rb);
	if (n < 0 && n != -EINTR)
		return dp_fail(dp, n, "reading wake events: %s", strerror(-n));
	return n;
}

void dp_events_close(struct dp *dp)
{
	ring_buffer__free(dp->rb);
	dp->rb = NULL;
}
