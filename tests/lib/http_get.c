// SPDX-License-Identifier: Apache-2.0
/* http_get: a tiny HTTP/1.1 client for guest tests and the boot benchmark. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"Usage: http_get [OPTIONS] ADDRESS PORT [PATH]\n"
	"\n"
	"Sends GET PATH (default /) to ADDRESS:PORT and prints the last response's\n"
	"body on stdout. With -n N (N > 1) or -p it prints the round-trip times as\n"
	"name=value lines on stderr (http_rtt_p50_us, http_rtt_p99_us, ...).\n"
	"\n"
	"Options:\n"
	"  -n N          number of requests (default 1)\n"
	"  -k            keep one connection alive for all requests (default: a new\n"
	"                connection per request, connect time included in the RTT)\n"
	"  -t MS         timeout per request in milliseconds (default 5000)\n"
	"  -p PREFIX     prefix of the name=value lines (default http_rtt)\n"
	"  -c IFNAME     first wait (polling every 100 us, within the timeout) until\n"
	"                IFNAME has carrier, e.g. a tap a VMM is about to attach;\n"
	"                prints 'waiting for carrier' on stderr when it starts to\n"
	"  -r            retry the first connection (every 1 ms) while it fails with\n"
	"                no route / refused / timed out, within the timeout\n"
	"  -F            also print first_byte_ns: when the first byte of the first\n"
	"                response arrived (CLOCK_REALTIME ns, as date +%s%N prints it)\n"
	"  -h, --help    this text\n"
	"\n"
	"Exit status: 0 if every response was 200, 1 otherwise, 2 on usage errors.\n";

struct opts {
	const char *addr, *port, *path, *prefix, *carrier_if;
	int n, keepalive, timeout_ms, retry;
	int print_first_byte; /* -F */
};

static uint64_t first_byte_ns; /* CLOCK_REALTIME of the first response byte read */

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* -c: until /sys/class/net/IF/carrier reads 1 (a tap gets carrier when attached). */
static int wait_carrier(const char *ifname, int timeout_ms)
{
	char path[128], c = '0';
	uint64_t end = realtime_ns() + (uint64_t)timeout_ms * 1000000u;
	struct timespec tick = {0, 100000};

	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", ifname);
	fprintf(stderr, "waiting for carrier on %s\n", ifname);
	while (realtime_ns() < end) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			/* An interface that is down fails the read with EINVAL. */
			if (read(fd, &c, 1) != 1)
				c = '0';
			close(fd);
		}
		if (c == '1')
			return 0;
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "http_get: %s: no carrier within %d ms\n", ifname, timeout_ms);
	return -1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int dial_once(const struct opts *o, bool quiet);

/* -r: a guest being restored answers ARP or SYN only once it runs. */
static int dial(const struct opts *o)
{
	uint64_t end = realtime_ns() + (uint64_t)o->timeout_ms * 1000000u;
	struct timespec ms = {0, 1000000};
	int fd;

	while ((fd = dial_once(o, o->retry)) < 0 && o->retry && realtime_ns() < end &&
	       (errno == EHOSTUNREACH || errno == ECONNREFUSED || errno == ETIMEDOUT ||
		errno == ENETUNREACH))
		nanosleep(&ms, NULL);
	if (fd < 0 && o->retry)
		fprintf(stderr, "http_get: connect %s:%s: %s\n", o->addr, o->port, strerror(errno));
	return fd;
}

static int dial_once(const struct opts *o, bool quiet)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *ai;
	int fd, one = 1, rc;

	rc = getaddrinfo(o->addr, o->port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "http_get: %s: %s\n", o->addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		int e = errno;

		if (!quiet)
			fprintf(stderr, "http_get: connect %s:%s: %s\n", o->addr, o->port,
				strerror(e));
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd < 0) {
		int e = errno;

		freeaddrinfo(ai);
		errno = e;
		return -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads one response into buf; returns its status code or -1. */
static int read_response(int fd, char *buf, size_t cap, int timeout_ms, const char **body)
{
	size_t have = 0, need = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (;;) {
		char *hdr_end;
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0 || have + 1 >= cap)
			return -1;
		n = read(fd, buf + have, cap - 1 - have);
		if (n <= 0)
			return -1;
		if (!first_byte_ns)
			first_byte_ns = realtime_ns();
		have += (size_t)n;
		buf[have] = '\0';
		hdr_end = strstr(buf, "\r\n\r\n");
		if (!hdr_end)
			continue;
		if (!need) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");

			need = (size_t)(hdr_end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (have >= need) {
			*body = hdr_end + 4;
			return strncmp(buf, "HTTP/1.", 7) ? -1 : atoi(buf + 9);
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, int n, int p)
{
	int i = (n * p + 99) / 100 - 1;

	return v[i < 0 ? 0 : i];
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
	struct opts o = {.path = "/", .prefix = "http_rtt", .n = 1, .timeout_ms = 5000};
	static char buf[1 << 16];
	char req[512];
	uint64_t *rtt;
	int c, fd = -1, ok = 1, stats = 0;

	while ((c = getopt_long(argc, argv, "n:kt:p:c:rFh", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o.n = atoi(optarg); break;
		case 'k': o.keepalive = 1; break;
		case 't': o.timeout_ms = atoi(optarg); break;
		case 'p': o.prefix = optarg; stats = 1; break;
		case 'c': o.carrier_if = optarg; break;
		case 'r': o.retry = 1; break;
		case 'F': o.print_first_byte = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (argc - optind < 2 || argc - optind > 3 || o.n < 1 || o.timeout_ms < 1) {
		fputs(usage, stderr);
		return 2;
	}
	o.addr = argv[optind];
	o.port = argv[optind + 1];
	if (argc - optind == 3)
		o.path = argv[optind + 2];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n", o.path,
		 o.addr, o.keepalive ? "keep-alive" : "close");
	rtt = calloc((size_t)o.n, sizeof(*rtt));
	if (!rtt)
		return 1;
	if (o.carrier_if && wait_carrier(o.carrier_if, o.timeout_ms))
		return 1;
	for (int i = 0; i < o.n && ok; i++) {
		uint64_t t0 = now_us();
		const char *body = NULL;
		int status;

		if (fd < 0)
			fd = dial(&o);
		if (fd < 0 || write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
			ok = 0;
			break;
		}
		status = read_response(fd, buf, sizeof(buf), o.timeout_ms, &body);
		rtt[i] = now_us() - t0;
		if (status != 200) {
			fprintf(stderr, "http_get: request %d: %s\n", i + 1,
				status < 0 ? "no complete response" : "status is not 200");
			ok = 0;
		}
		if (i == o.n - 1 && body)
			fputs(body, stdout);
		if (!o.keepalive) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	if (ok && (o.n > 1 || stats)) {
		qsort(rtt, (size_t)o.n, sizeof(*rtt), cmp_u64);
		fprintf(stderr, "%s_p50_us=%llu\n%s_p99_us=%llu\n%s_max_us=%llu\n%s_requests=%d\n",
			o.prefix, (unsigned long long)pct(rtt, o.n, 50), o.prefix,
			(unsigned long long)pct(rtt, o.n, 99), o.prefix,
			(unsigned long long)rtt[o.n - 1], o.prefix, o.n);
	}
	if (ok && o.print_first_byte)
		fprintf(stderr, "first_byte_ns=%llu\n", (unsigned long long)first_byte_ns);
	free(rtt);
	return ok ? 0 : 1;
}
