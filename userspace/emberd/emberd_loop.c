/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's plumbing under every other file: log lines, clocks, epoll watches, the tick, mkdir -p.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "emberd.h"

int emberd_verbose;

void logf_(int level, const char *fmt, ...)
{
	static const char *const tag[] = {"error", "info", "debug"};
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "emberd %ld.%03ld %s: ", (long)ts.tv_sec, ts.tv_nsec / 1000000, tag[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int watch_add(struct emberd *d, struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(d->ep, EPOLL_CTL_ADD, w->fd, &ev) ? -errno : 0;
}

void watch_del(struct emberd *d, struct watch *w)
{
	if (w->fd < 0)
		return;
	epoll_ctl(d->ep, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	w->fd = -1;
}

void tick_set(struct emberd *d, int ms)
{
	struct itimerspec it = {
		.it_interval = {ms / 1000, (ms % 1000) * 1000000L},
		.it_value = {ms / 1000, (ms % 1000) * 1000000L},
	};

	if (ms == d->tick_ms)
		return;
	d->tick_ms = ms;
	timerfd_settime(d->tickw.fd, 0, &it, NULL);
}

int emberd_mkdir_p(const char *dir)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -errno : 0;
}
