/* SPDX-License-Identifier: Apache-2.0 */
/* ember-demo: options, listening sockets and the epoll loop of the demo HTTP server. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "demo.h"

struct opts {
	long port;
	const char *addr; /* NULL: every IPv4 and IPv6 address */
	unsigned long long exit_after;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ember-demo [--port N] [--addr ADDR] [--exit-after N]\n"
		   "  --port N        TCP port (default: $EMBER_PORT, else 80; 0 = any)\n"
		   "  --addr ADDR     listen on this IPv4/IPv6 address only (default: all)\n"
		   "  --exit-after N  exit with status 0 after answering N requests\n"
		   "Answers GET / (identity), /rand (32 random bytes, hex), /time (ns).\n");
}

static int parse_num(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return (!*s || *end || errno || *v > max || *s == '-') ? -1 : 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"port", required_argument, NULL, 'p'},
					   {"addr", required_argument, NULL, 'a'},
					   {"exit-after", required_argument, NULL, 'x'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	const char *env = getenv("EMBER_PORT");
	unsigned long long v;
	int c;

	o->port = 80;
	if (env && !parse_num(env, 65535, &v))
		o->port = (long)v;
	while ((c = getopt_long(argc, argv, "p:a:x:h", lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		} else if (c == 'p' && !parse_num(optarg, 65535, &v)) {
			o->port = (long)v;
		} else if (c == 'x' && !parse_num(optarg, ~0ull, &v)) {
			o->exit_after = v;
		} else if (c == 'a') {
			o->addr = optarg;
		} else {
			if (c == 'p' || c == 'x')
				fprintf(stderr, "ember-demo: bad number '%s'\n", optarg);
			usage(stderr);
			return -1;
		}
	}
	return optind == argc ? 0 : (usage(stderr), -1);
}

/* A listening socket on @addr:@port; *port is updated when it was 0. */
static int listen_on(int family, const char *addr, long *port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*s4) : sizeof(*s6);
	int fd, one = 1;

	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		s4->sin_port = htons((uint16_t)*port);
		if (addr && inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -EINVAL;
	} else {
		s6->sin6_port = htons((uint16_t)*port);
		if (addr && inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -EINVAL;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (void *)&ss, len) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (void *)&ss, &len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = ntohs(family == AF_INET ? s4->sin_port : s6->sin6_port);
	return fd;
}

static int add_handle(struct demo *d, struct handle *h)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, h->fd, &ev);
}

/* IPv4 first so a port 0 choice can be reused for IPv6. */
static int open_listeners(struct demo *d, const struct opts *o, struct handle *l, long *port)
{
	int fd, n = 0;

	if (!o->addr || strchr(o->addr, '.')) {
		fd = listen_on(AF_INET, o->addr, port);
		if (fd < 0)
			return fd;
		l[n++] = (struct handle){H_LISTEN, fd};
	}
	if (!o->addr || strchr(o->addr, ':')) {
		fd = listen_on(AF_INET6, o->addr, port);
		if (fd >= 0)
			l[n++] = (struct handle){H_LISTEN, fd};
		/* A guest without IPv6 still serves IPv4. */
		else if (fd != -EAFNOSUPPORT || o->addr)
			return fd;
	}
	if (n == 0)
		return -EINVAL; /* --addr is neither IPv4 nor IPv6 */
	for (int i = 0; i < n; i++)
		if (add_handle(d, &l[i]) < 0)
			return -errno;
	return n;
}

/* Identity read once: neither changes while the server runs. */
static void identify(struct demo *d)
{
	struct utsname u;
	ssize_t n = -1;
	int fd;

	if (uname(&u) == 0)
		snprintf(d->hostname, sizeof(d->hostname), "%s", u.nodename);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, d->boot_id, sizeof(d->boot_id) - 1);
		close(fd);
	}
	d->boot_id[n > 0 ? strcspn(d->boot_id, "\n") : 0] = '\0';
	if (!d->boot_id[0])
		strcpy(d->boot_id, "unknown");
}

/* SIGTERM/SIGINT end the server cleanly (status 0) through a signalfd. */
static int signal_handle(struct demo *d, struct handle *h)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	*h = (struct handle){H_SIGNAL, signalfd(-1, &set, SFD_CLOEXEC)};
	return h->fd < 0 ? -errno : add_handle(d, h);
}

static void loop(struct demo *d)
{
	struct epoll_event ev[64];
	int n, i;

	for (;;) {
		n = epoll_wait(d->epfd, ev, 64, -1);
		for (i = 0; i < n; i++) {
			struct handle *h = ev[i].data.ptr;

			if (h->kind == H_LISTEN)
				conn_accept(d, h->fd);
			else if (h->kind == H_CONN)
				conn_event(d, h, ev[i].events);
			else
				exit(0);
		}
	}
}

int main(int argc, char **argv)
{
	static struct handle listeners[2], sig;
	struct demo d = {0};
	struct opts o = {0};
	char line[128];
	int n;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	d.exit_after = o.exit_after;
	identify(&d);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	n = d.epfd < 0 ? -errno : open_listeners(&d, &o, listeners, &o.port);
	if (n >= 0 && signal_handle(&d, &sig) < 0)
		n = -errno;
	if (n < 0) {
		fprintf(stderr, "ember-demo: cannot listen on port %ld: %s\n", o.port,
			strerror(-n));
		return 1;
	}
	/* One write: tests read the chosen port from this line. */
	n = snprintf(line, sizeof(line), "ember-demo: listening on port %ld\n", o.port);
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		return 1;
	loop(&d);
}
