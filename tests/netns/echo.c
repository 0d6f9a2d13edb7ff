// SPDX-License-Identifier: Apache-2.0
/* The responder inside a guest namespace: answers TCP and UDP with "<tag>:<request>". */
#include "echo.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void answer(const struct echo *e, const char *req, size_t n, char *out, size_t *outlen)
{
	int k = snprintf(out, ECHO_MAX, "%s:%.*s", e->tag, (int)n, req);

	*outlen = k < 0 ? 0 : (size_t)k < ECHO_MAX ? (size_t)k : ECHO_MAX - 1;
}

static void serve_tcp(struct echo *e)
{
	struct timeval tv = {.tv_sec = 5};
	char req[ECHO_MAX], rsp[ECHO_MAX];
	size_t rlen;
	ssize_t n;
	int c;

	c = accept4(e->tcp_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = read(c, req, sizeof(req) - 1);
	if (n > 0) {
		answer(e, req, (size_t)n, rsp, &rlen);
		if (write(c, rsp, rlen) == (ssize_t)rlen)
			atomic_fetch_add(&e->served, 1);
	}
	close(c);
}

static void serve_udp(struct echo *e)
{
	char req[ECHO_MAX], rsp[ECHO_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	size_t rlen;
	ssize_t n;

	n = recvfrom(e->udp_fd, req, sizeof(req) - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (n <= 0)
		return;
	answer(e, req, (size_t)n, rsp, &rlen);
	if (sendto(e->udp_fd, rsp, rlen, 0, (struct sockaddr *)&from, fl) == (ssize_t)rlen)
		atomic_fetch_add(&e->served, 1);
}

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	struct pollfd p[3] = {
		{.fd = e->tcp_fd, .events = POLLIN},
		{.fd = e->udp_fd, .events = POLLIN},
		{.fd = e->stop_fd, .events = POLLIN},
	};

	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if (p[0].revents & POLLIN)
			serve_tcp(e);
		if (p[1].revents & POLLIN)
			serve_udp(e);
	}
	return NULL;
}

int echo_start(struct echo *e, int tcp_fd, int udp_fd, const char *tag)
{
	int err;

	e->tcp_fd = tcp_fd;
	e->udp_fd = udp_fd;
	snprintf(e->tag, sizeof(e->tag), "%s", tag);
	e->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (e->stop_fd < 0)
		return -errno;
	err = pthread_create(&e->thread, NULL, echo_main, e);
	if (err) {
		close(e->stop_fd);
		return -err;
	}
	e->running = 1;
	return 0;
}

void echo_stop(struct echo *e)
{
	uint64_t one = 1;

	if (!e->running)
		return;
	if (write(e->stop_fd, &one, sizeof(one)) < 0)
		pthread_cancel(e->thread);
	pthread_join(e->thread, NULL);
	close(e->stop_fd);
	e->running = 0;
}
