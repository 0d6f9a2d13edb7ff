/* SPDX-License-Identifier: Apache-2.0 */
/* ember-demo connections: buffered non-blocking I/O, keep-alive, --exit-after. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

struct conn {
	struct handle h; /* first: epoll data points here */
	char in[DEMO_IN_MAX];
	size_t in_len;
	char out[DEMO_OUT_MAX];
	size_t out_len, out_off;
	uint64_t skip;	 /* request body bytes still to discard */
	bool closing;	 /* close once out is flushed */
	uint32_t events; /* what epoll watches for now */
};

/* Room kept in out before handling another pipelined request. */
#define OUT_RESERVE 1024

static void conn_close(struct demo *d, struct conn *c)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->h.fd, NULL);
	close(c->h.fd);
	free(c);
}

void conn_accept(struct demo *d, int lfd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
	struct conn *c;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->h = (struct handle){H_CONN, fd};
		c->events = ev.events;
		ev.data.ptr = c;
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
		}
	}
}

/* Blocking write of what is left, for the last response before exiting. */
static void flush_and_exit(struct conn *c)
{
	size_t off = c->out_off;
	ssize_t n;

	fcntl(c->h.fd, F_SETFL, 0);
	while (off < c->out_len) {
		n = send(c->h.fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(c->h.fd, SHUT_WR);
	exit(0);
}

/* Answer one parsed request; false when the connection must stop reading. */
static bool respond(struct demo *d, struct conn *c, const struct http_req *req, bool bad)
{
	char body[512];
	size_t blen = 0, n;
	int status = 400;

	d->requests++;
	if (bad) {
		memcpy(body, "bad request\n", blen = 12);
		c->closing = true;
	} else {
		status = route(d, req, body, sizeof(body), &blen);
		c->closing = !req->keep_alive;
	}
	n = http_format(c->out + c->out_len, sizeof(c->out) - c->out_len, status, !c->closing,
			!bad && req->method == HTTP_HEAD, body, blen);
	c->out_len += n;
	if (d->exit_after && d->requests >= d->exit_after)
		flush_and_exit(c);
	return !c->closing;
}

/*
 * Handle the complete requests in the input buffer (pipelining); returns
 * true if it stopped only for lack of room in out.
 */
static bool process(struct demo *d, struct conn *c)
{
	struct http_req req;
	size_t used = 0, take;
	bool full = false;
	int hlen;

	while (!c->closing && !(full = sizeof(c->out) - c->out_len < OUT_RESERVE)) {
		take = c->skip < c->in_len - used ? (size_t)c->skip : c->in_len - used;
		used += take;
		c->skip -= take;
		if (c->skip)
			break;
		hlen = http_parse(c->in + used, c->in_len - used, &req);
		if (hlen == 0 && c->in_len - used == sizeof(c->in))
			hlen = -1; /* head larger than the whole buffer */
		if (hlen == 0)
			break;
		if (hlen > 0) {
			used += (size_t)hlen;
			c->skip = req.body_len;
		}
		if (!respond(d, c, &req, hlen < 0))
			break;
	}
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	return full;
}

/* Write out what is buffered; returns false if the connection is dead. */
static bool flush(struct demo *d, struct conn *c)
{
	struct epoll_event ev = {.data.ptr = c};
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->h.fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	/* Level-triggered: stop watching input while it cannot be taken
	 * (buffer full of requests waiting for room in out). */
	ev.events = (c->in_len < sizeof(c->in) ? EPOLLIN | EPOLLRDHUP : 0) |
		    (c->out_len ? EPOLLOUT : 0);
	if (ev.events != c->events) {
		c->events = ev.events;
		epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->h.fd, &ev);
	}
	return true;
}

/* Read what is there; false on EOF or error (after processing it). */
static bool fill(struct conn *c)
{
	ssize_t n;

	while (c->in_len < sizeof(c->in)) {
		n = recv(c->h.fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		c->in_len += (size_t)n;
	}
	return true;
}

void conn_event(struct demo *d, struct handle *h, uint32_t events)
{
	struct conn *c = (struct conn *)h;
	bool open = true;

	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		open = fill(c);
	/* Requests already read need no new input event: go on while the
	 * answers leave at once (else EPOLLOUT brings us back). */
	while (process(d, c) && flush(d, c) && !c->out_len)
		;
	/* A peer that stopped sending gets what is answered so far, best
	 * effort, then the connection goes (no state kept for half-closes). */
	if (!flush(d, c) || (c->closing && !c->out_len) || !open)
		conn_close(d, c);
}
