/* SPDX-License-Identifier: Apache-2.0 */
/* Readiness probe: a TCP socket in LISTEN (or a UDP socket bound) on the workload's port? */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

#define TCP_LISTEN_STATE 0x0a /* TCP_LISTEN in include/net/tcp_states.h */
#define UDP_BOUND_STATE	 0x07 /* TCP_CLOSE: an unconnected UDP socket (udp4_seq_show) */

/*
 * Files read at most this far. The kernel lists listening sockets before
 * established ones (tcp_seq_start walks the listening hash first), so the
 * lines that matter are at the start even on a busy guest.
 */
#define LISTEN_READ_MAX 65536

struct cursor {
	const char *p, *end;
};

static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* The next blank-separated field of the current line; empty at its end. */
static size_t field(struct cursor *c, const char **start)
{
	skip_blanks(c);
	*start = c->p;
	while (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '\n')
		c->p++;
	return (size_t)(c->p - *start);
}

static void next_line(struct cursor *c)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));

	c->p = nl ? nl + 1 : c->end;
}

/* Hex number of exactly @n digits at @s, or -1. */
static long hex_field(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = s[i];
		int d = ch >= '0' && ch <= '9'	 ? ch - '0'
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
			: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
						 : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* One socket line: "  N: LOCALHEX:PORT REMHEX:PORT ST ..."; 1 if it matches. */
static int line_listens(struct cursor *c, uint16_t port, long state)
{
	const char *f, *colon;
	size_t n;

	n = field(c, &f); /* "sl" slot number with its colon */
	if (!n || f[n - 1] != ':')
		return 0;
	n = field(c, &f); /* local address:port */
	colon = n > 5 ? f + n - 5 : NULL;
	if (!colon || *colon != ':' || hex_field(colon + 1, 4) != port)
		return 0;
	field(c, &f); /* remote address:port */
	n = field(c, &f);
	return n == 2 && hex_field(f, 2) == state;
}

int listen_scan(const char *text, size_t len, uint16_t port, bool udp)
{
	long state = udp ? UDP_BOUND_STATE : TCP_LISTEN_STATE;
	struct cursor c = {text, text + len};
	const char *f;
	size_t n;

	n = field(&c, &f);
	if (n != 2 || memcmp(f, "sl", 2))
		return -EINVAL;
	next_line(&c);
	while (c.p < c.end) {
		if (line_listens(&c, port, state))
			return 1;
		next_line(&c);
	}
	return 0;
}

int listen_open(struct listen_watch *w, uint16_t port, bool udp)
{
	static const char *const files[2][2] = {{"/proc/net/tcp", "/proc/net/tcp6"},
						{"/proc/net/udp", "/proc/net/udp6"}};
	int i, err = 0;

	w->port = port;
	w->udp = udp;
	for (i = 0; i < 2; i++) {
		w->fd[i] = open(files[udp][i], O_RDONLY | O_CLOEXEC);
		if (w->fd[i] < 0)
			err = -errno;
	}
	return w->fd[0] < 0 && w->fd[1] < 0 ? err : 0;
}

/*
 * The files stay open: a pread() at offset 0 makes seq_file start over, so
 * each probe costs one or two syscalls per family instead of open/read/close.
 */
static int check_fd(int fd, uint16_t port, bool udp)
{
	static char buf[LISTEN_READ_MAX];
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while (len < sizeof(buf)) {
		size_t want = sizeof(buf) - len;

		n = pread(fd, buf + len, want, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		/* seq_file fills the buffer up to a whole record: short means EOF. */
		if ((size_t)n + 4096 < want)
			break;
	}
	return listen_scan(buf, len, port, udp) == 1;
}

int listen_check(struct listen_watch *w)
{
	return check_fd(w->fd[0], w->port, w->udp) || check_fd(w->fd[1], w->port, w->udp);
}

void listen_close(struct listen_watch *w)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (w->fd[i] >= 0)
			close(w->fd[i]);
		w->fd[i] = -1;
	}
}
