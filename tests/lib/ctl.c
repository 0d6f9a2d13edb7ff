// SPDX-License-Identifier: Apache-2.0
/* ctl: a small client for ember-vmm's control socket (docs/control.md), with a resume timer. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: ctl [-w MS] [-t MS] SOCKET COMMAND...\n"
	"       ctl [-w MS] [-t MS] -c N SOCKET\n"
	"  Sends each COMMAND (e.g. resume, pause, status, 'snapshot DIR') as one line\n"
	"  and prints each reply; exit 0 if every reply starts with \"ok\", 1 otherwise.\n"
	"  -w MS  keep retrying the connection for MS ms (the socket may not exist yet)\n"
	"  -t MS  reply timeout (default 10000)\n"
	"  -c N   N pause/resume cycles: prints resume_p50_us/p99_us (client send ->\n"
	"         vCPU running, from the reply's mono_ns), wake_p50_us/p99_us (VMM\n"
	"         work) and rtt_p50_us/p99_us (send -> reply)\n"
	"  -r     with one 'resume': also print send_to_running_us=, wake_us=, rtt_us=\n";

static int timeout_ms = 10000;

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int connect_to(const char *path, int wait_ms)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	uint64_t end = mono_ns() + (uint64_t)wait_ms * 1000000ull;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "ctl: socket path too long\n");
		return -1;
	}
	strcpy(a.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		close(fd);
		if (mono_ns() >= end) {
			fprintf(stderr, "ctl: %s: %s\n", path, strerror(errno));
			return -1;
		}
		usleep(1000);
	}
}

/* One line of reply into @buf (without the newline). Returns 0, or -1 on timeout/EOF. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, timeout_ms) != 1) {
			fprintf(stderr, "ctl: no reply within %d ms\n", timeout_ms);
			return -1;
		}
		r = read(fd, buf + n, 1); /* byte by byte: replies are short, nothing to buffer */
		if (r <= 0) {
			fprintf(stderr, "ctl: connection closed\n");
			return -1;
		}
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static int command(int fd, const char *cmd, char *reply, size_t len)
{
	char line[4200];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);

	if (n >= (int)sizeof(line) || write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "ctl: cannot send '%s'\n", cmd);
		return -1;
	}
	return read_line(fd, reply, len);
}

static uint64_t field(const char *reply, const char *key)
{
	const char *p = strstr(reply, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_pct(const char *name, uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("%s_p50_us=%.1f\n%s_p99_us=%.1f\n", name, v[n / 2] / 1000.0, name,
	       v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0);
}

/* A resume: client-side send stamp against the VMM's vCPU-running stamp (same clock). */
static int timed_resume(int fd, uint64_t *to_run, uint64_t *wake, uint64_t *rtt)
{
	char reply[256];
	uint64_t t0 = mono_ns(), run;

	if (command(fd, "resume", reply, sizeof(reply)))
		return -1;
	*rtt = mono_ns() - t0;
	run = field(reply, "mono_ns=");
	if (strncmp(reply, "ok resumed", 10) || !run) {
		fprintf(stderr, "ctl: resume: %s\n", reply);
		return -1;
	}
	*to_run = run > t0 ? run - t0 : 0;
	*wake = field(reply, "wake_ns=");
	return 0;
}

static int cycles(int fd, int n)
{
	uint64_t *to_run = calloc((size_t)n, 8), *wake = calloc((size_t)n, 8),
		 *rtt = calloc((size_t)n, 8);
	char reply[256];

	if (!to_run || !wake || !rtt)
		return 1;
	for (int i = 0; i < n; i++) {
		if (command(fd, "pause", reply, sizeof(reply)) || strcmp(reply, "ok paused")) {
			fprintf(stderr, "ctl: pause %d: %s\n", i, reply);
			return 1;
		}
		if (timed_resume(fd, &to_run[i], &wake[i], &rtt[i]))
			return 1;
	}
	printf("cycles=%d\n", n);
	print_pct("resume", to_run, n);
	print_pct("wake", wake, n);
	print_pct("rtt", rtt, n);
	return 0;
}

int main(int argc, char **argv)
{
	int c, wait_ms = 0, ncycles = 0, timed = 0, fd, bad = 0;

	while ((c = getopt(argc, argv, "w:t:c:rh")) != -1) {
		switch (c) {
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'c':
			ncycles = atoi(optarg);
			break;
		case 'r':
			timed = 1;
			break;
		default:
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc || (!ncycles && optind + 1 >= argc) || ncycles < 0) {
		fputs(usage, stderr);
		return 2;
	}
	fd = connect_to(argv[optind], wait_ms);
	if (fd < 0)
		return 1;
	if (ncycles)
		return cycles(fd, ncycles);
	for (int i = optind + 1; i < argc; i++) {
		char reply[256];
		uint64_t run, wake, rtt;

		if (timed && !strcmp(argv[i], "resume")) {
			if (timed_resume(fd, &run, &wake, &rtt))
				return 1;
			printf("ok resumed\nsend_to_running_us=%.1f\nwake_us=%.1f\nrtt_us=%.1f\n",
			       run / 1000.0, wake / 1000.0, rtt / 1000.0);
			continue;
		}
		if (command(fd, argv[i], reply, sizeof(reply)))
			return 1;
		puts(reply);
		bad |= strncmp(reply, "ok", 2) != 0;
	}
	close(fd);
	return bad;
}
