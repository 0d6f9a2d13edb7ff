/* SPDX-License-Identifier: Apache-2.0 */
/* loadgen's engine: one epoll loop, non-blocking connects, a timerfd for sends and timeouts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define BATCH	  64 /* sends per loop turn before looking at events */
#define TIMER_TAG UINT32_MAX
#define HEAD_KEEP 16 /* bytes of the response kept: the status line start */

/* One scheduled request; kept to the end for percentiles and -v. */
struct req {
	uint64_t sched_ns, send_ns, done_ns;
	uint32_t slot; /* its connection while in flight */
	uint16_t http;
	uint8_t outcome;
};

enum conn_state { CONNECTING, SENDING, READING };

struct conn {
	int fd;
	uint8_t state;
	uint32_t req;
	size_t sent, have;
	char head[HEAD_KEEP];
};

struct gen {
	const struct lg_opts *o;
	struct req *req;
	uint64_t n, next, oldest; /* next to issue; oldest possibly in flight */
	struct conn *conns;
	uint32_t *free_slots;
	unsigned nfree, inflight;
	uint64_t issued, start_ns, last_send_ns, armed_ns;
	int ep, tfd;
	char **request; /* the request text per address */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void finish(struct gen *g, uint32_t slot, enum lg_outcome outcome, int http)
{
	struct conn *c = &g->conns[slot];
	struct req *r = &g->req[c->req];

	r->done_ns = now_ns();
	r->outcome = outcome;
	r->http = http > 0 ? (uint16_t)http : 0;
	close(c->fd); /* also takes it out of the epoll set */
	c->fd = -1;
	g->free_slots[g->nfree++] = slot;
	g->inflight--;
}

/* Connect finished (or failed): returns 0 to go on sending, -1 to stop here. */
static int conn_connected(struct gen *g, uint32_t slot, uint32_t events)
{
	struct conn *c = &g->conns[slot];
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		finish(g, slot, err == ECONNREFUSED ? LG_REFUSED : LG_ERROR, 0);
		return -1;
	}
	if (!(events & EPOLLOUT))
		return -1;
	c->state = SENDING;
	return 0;
}

/* Returns 0 when the whole request is out, -1 when it must wait (or failed). */
static int conn_send(struct gen *g, uint32_t slot)
{
	struct conn *c = &g->conns[slot];
	const char *msg = g->request[c->req % g->o->naddrs];
	size_t len = strlen(msg);

	while (c->sent < len) {
		ssize_t k = send(c->fd, msg + c->sent, len - c->sent, MSG_NOSIGNAL);

		if (k < 0) {
			if (errno != EAGAIN)
				finish(g, slot, LG_ERROR, 0);
			return -1;
		}
		c->sent += (size_t)k;
	}
	c->state = READING;
	return 0;
}

/* Reads what is there, keeping the first bytes; the server's close completes it. */
static void conn_read(struct gen *g, uint32_t slot)
{
	static char sink[16384];
	struct conn *c = &g->conns[slot];
	ssize_t k;
	int status;

	while ((k = read(c->fd, sink, sizeof(sink))) > 0) {
		size_t take = HEAD_KEEP - c->have;

		if ((size_t)k < take)
			take = (size_t)k;
		memcpy(c->head + c->have, sink, take);
		c->have += take;
	}
	if (k < 0) {
		if (errno != EAGAIN)
			finish(g, slot, LG_ERROR, 0);
		return;
	}
	status = lg_parse_status(c->head, c->have);
	finish(g, slot, status == 200 ? LG_OK : LG_BAD_STATUS, status);
}

/* Drives one connection as far as it goes without blocking (edge-triggered epoll). */
static void step(struct gen *g, uint32_t slot, uint32_t events)
{
	struct conn *c = &g->conns[slot];

	if (c->state == CONNECTING && conn_connected(g, slot, events))
		return;
	if (c->state == SENDING && conn_send(g, slot))
		return;
	conn_read(g, slot);
}

static void issue(struct gen *g, uint64_t i)
{
	struct req *r = &g->req[i];
	const struct lg_addr *a = &g->o->addrs[i % g->o->naddrs];
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
	struct conn *c;
	uint32_t slot;
	int fd;

	r->send_ns = now_ns();
	r->outcome = LG_OVERLOAD;
	if (!g->nfree)
		return; /* open loop: a request is never held back, it fails */
	g->issued++;
	g->last_send_ns = r->send_ns;
	r->outcome = LG_ERROR;
	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r->done_ns = now_ns();
		return;
	}
	slot = g->free_slots[--g->nfree];
	c = &g->conns[slot];
	*c = (struct conn){.fd = fd, .state = CONNECTING, .req = (uint32_t)i};
	r->outcome = LG_INFLIGHT;
	r->slot = slot;
	g->inflight++;
	ev.data.u32 = slot;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev))
		finish(g, slot, LG_ERROR, 0);
	else if (connect(fd, (const struct sockaddr *)&a->sa, a->len) && errno != EINPROGRESS)
		finish(g, slot, errno == ECONNREFUSED ? LG_REFUSED : LG_ERROR, 0);
}

/* Sends everything due; at most BATCH per turn in rate mode so completions keep flowing. */
static void issue_due(struct gen *g, uint64_t now)
{
	unsigned batch = g->o->burst ? UINT32_MAX : BATCH;

	while (g->next < g->n && g->req[g->next].sched_ns <= now && batch--)
		issue(g, g->next++);
}

/* Deadlines grow with the index, so only the oldest request in flight can be due. */
static void expire(struct gen *g, uint64_t now)
{
	uint64_t tmo = (uint64_t)g->o->timeout_ms * 1000000u;

	for (; g->oldest < g->next; g->oldest++) {
		struct req *r = &g->req[g->oldest];

		if (r->outcome != LG_INFLIGHT)
			continue;
		if (r->sched_ns + tmo > now)
			break;
		finish(g, r->slot, LG_TIMEOUT, 0);
	}
}

/* Arms the timerfd for the next send or deadline; returns the epoll_wait timeout. */
static int arm(struct gen *g, uint64_t now)
{
	uint64_t wake = UINT64_MAX;
	struct itimerspec its = {0};

	if (g->next < g->n)
		wake = g->req[g->next].sched_ns;
	if (g->oldest < g->next &&
	    g->req[g->oldest].sched_ns + g->o->timeout_ms * 1000000ull < wake)
		wake = g->req[g->oldest].sched_ns + g->o->timeout_ms * 1000000ull;
	if (wake <= now)
		return 0;
	if (wake != g->armed_ns) {
		its.it_value.tv_sec = (time_t)(wake / 1000000000u);
		its.it_value.tv_nsec = (long)(wake % 1000000000u);
		timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL);
		g->armed_ns = wake;
	}
	return -1;
}

static int run(struct gen *g)
{
	struct epoll_event evs[64];
	uint64_t ticks;

	for (;;) {
		int nev;

		issue_due(g, now_ns());
		expire(g, now_ns());
		if (g->next == g->n && !g->inflight)
			return 0;
		nev = epoll_wait(g->ep, evs, 64, arm(g, now_ns()));
		if (nev < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < nev; i++) {
			if (evs[i].data.u32 == TIMER_TAG) {
				if (read(g->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					return -errno;
				g->armed_ns = 0;
			} else if (g->conns[evs[i].data.u32].fd >= 0) {
				step(g, evs[i].data.u32, evs[i].events);
			}
		}
	}
}

/* "Host: ADDR" ([ADDR] for IPv6): what a browser would send for http://ADDR/. */
static int build_requests(struct gen *g)
{
	const struct lg_opts *o = g->o;

	g->request = calloc(o->naddrs, sizeof(*g->request));
	if (!g->request)
		return -ENOMEM;
	for (size_t i = 0; i < o->naddrs; i++) {
		bool v6 = o->addrs[i].sa.ss_family == AF_INET6;

		if (asprintf(&g->request[i],
			     "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nConnection: close\r\n\r\n",
			     o->path, v6 ? "[" : "", o->addrs[i].text, v6 ? "]" : "") < 0) {
			g->request[i] = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

/* Every fd in flight plus a few; raising the soft limit to the hard one is allowed. */
static void raise_nofile(unsigned max_conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= (rlim_t)max_conns + 16)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)max_conns + 16
			      ? (rlim_t)max_conns + 16
			      : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < (rlim_t)max_conns + 16)
		fprintf(stderr,
			"loadgen: warning: open files limited to %llu; -c %u may fail "
			"with \"error\"\n",
			(unsigned long long)rl.rlim_cur, max_conns);
}

static int gen_init(struct gen *g, const struct lg_opts *o)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TIMER_TAG};
	int rc = -ENOMEM;

	*g = (struct gen){.o = o, .ep = -1, .tfd = -1};
	g->n = o->burst ? o->naddrs : o->n;
	g->req = calloc(g->n, sizeof(*g->req));
	g->conns = calloc(o->max_conns, sizeof(*g->conns));
	g->free_slots = calloc(o->max_conns, sizeof(*g->free_slots));
	if (!g->req || !g->conns || !g->free_slots)
		goto fail;
	for (unsigned i = 0; i < o->max_conns; i++) {
		g->conns[i].fd = -1;
		g->free_slots[g->nfree++] = o->max_conns - 1 - i;
	}
	if (build_requests(g))
		goto fail;
	g->ep = epoll_create1(EPOLL_CLOEXEC);
	g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g->ep < 0 || g->tfd < 0 || epoll_ctl(g->ep, EPOLL_CTL_ADD, g->tfd, &ev)) {
		rc = -errno;
		goto fail;
	}
	g->start_ns = now_ns();
	for (uint64_t i = 0; i < g->n; i++)
		g->req[i].sched_ns =
			g->start_ns + (o->burst ? 0 : lg_sched_offset_ns(i, o->rate_milli));
	return 0;
fail:
	/* The caller's gen_free() releases whatever was allocated. */
	return rc;
}

static void gen_free(struct gen *g)
{
	/* Connections are left open only when the loop (so epoll) stopped on an error. */
	for (unsigned i = 0; g->ep >= 0 && i < g->o->max_conns; i++)
		if (g->conns[i].fd >= 0)
			close(g->conns[i].fd);
	if (g->ep >= 0)
		close(g->ep);
	if (g->tfd >= 0)
		close(g->tfd);
	for (size_t i = 0; g->request && i < g->o->naddrs; i++)
		free(g->request[i]);
	free(g->request);
	free(g->req);
	free(g->conns);
	free(g->free_slots);
}

static void print_verbose(const struct gen *g)
{
	for (uint64_t i = 0; i < g->n; i++) {
		const struct req *r = &g->req[i];
		const char *addr = g->o->addrs[i % g->o->naddrs].text;
		char st[16];

		if (r->http)
			snprintf(st, sizeof(st), "%u", r->http);
		else
			snprintf(st, sizeof(st), "%s", lg_outcome_name(r->outcome));
		if (r->outcome == LG_OVERLOAD)
			fprintf(stderr, "%llu %s - %s\n", (unsigned long long)i, addr, st);
		else
			fprintf(stderr, "%llu %s %llu %s\n", (unsigned long long)i, addr,
				(unsigned long long)((r->done_ns - r->sched_ns) / 1000), st);
	}
}

/* Fills the report; returns 0 when every request succeeded. */
static int report(const struct gen *g, struct lg_report *rep)
{
	uint64_t *lat = calloc(g->n, sizeof(*lat)), *lag = calloc(g->n, sizeof(*lag));
	uint64_t span, nlat = 0, nlag = 0;

	if (!lat || !lag) {
		free(lat);
		free(lag);
		return -ENOMEM;
	}
	*rep = (struct lg_report){.requests = g->n};
	for (uint64_t i = 0; i < g->n; i++) {
		const struct req *r = &g->req[i];

		rep->count[r->outcome]++;
		if (r->outcome == LG_OK)
			lat[nlat++] = r->done_ns - r->sched_ns;
		if (r->outcome != LG_OVERLOAD)
			lag[nlag++] = r->send_ns - r->sched_ns;
	}
	lg_pcts_compute(lat, nlat, &rep->latency_ns);
	lg_pcts_compute(lag, nlag, &rep->lag_ns);
	/*
	 * Rate mode: the sends over the whole schedule, n slots of 1 / RATE (longer
	 * if the last send was late), so overloads and a slow generator both show.
	 * Burst: over the time it took to issue them back to back.
	 */
	span = g->last_send_ns - g->start_ns;
	if (!g->o->burst) {
		if (g->req[g->n - 1].sched_ns - g->start_ns > span)
			span = g->req[g->n - 1].sched_ns - g->start_ns;
		span += lg_sched_offset_ns(1, g->o->rate_milli);
	}
	rep->rate_achieved = lg_rate_achieved(g->issued, span);
	free(lat);
	free(lag);
	return rep->count[LG_OK] == g->n ? 0 : 1;
}

int lg_engine_run(const struct lg_opts *o, struct lg_report *rep)
{
	struct gen g;
	int rc;

	raise_nofile(o->max_conns);
	rc = gen_init(&g, o);
	if (!rc)
		rc = run(&g);
	if (!rc)
		rc = report(&g, rep);
	if (rc >= 0 && o->verbose)
		print_verbose(&g);
	gen_free(&g);
	return rc;
}
