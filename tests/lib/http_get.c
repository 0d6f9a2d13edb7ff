// SPDX-License-Identifier: Apache-2.0
/* http_get: a tiny HTTP/1.1 client for guest tests and the boot benchmark. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
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
	"  -h, --help    this text\n"
	"\n"
	"Exit status: 0 if every response was 200, 1 otherwise, 2 on usage errors.\n";

struct opts {
	const char *addr, *port, *path, *prefix;
	int n, keepalive, timeout_ms;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int dial(const struct opts *o)
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
		fprintf(stderr, "http_get: connect %s:%s: %s\n", o->addr, o->port, strerror(errno));
		close(fd);
		fd = -1;
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

	while ((c = getopt_long(argc, argv, "n:kt:p:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o.n = atoi(optarg); break;
		case 'k': o.keepalive = 1; break;
		case 't': o.timeout_ms = atoi(optarg); break;
		case 'p': o.prefix = optarg; stats = 1; break;
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
	free(rtt);
	return ok ? 0 : 1;
}
