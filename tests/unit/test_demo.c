// SPDX-License-Identifier: Apache-2.0
/* ember-demo on the host: starts build/guest/ember-demo on 127.0.0.1 and checks its answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

struct server {
	pid_t pid;
	int port;
};

struct resp {
	int status;
	char head[1024];
	char body[1024];
	size_t body_len;
};

static const char *demo_path(void)
{
	const char *p = getenv("EMBER_DEMO");

	return p ? p : "build/guest/ember-demo";
}

/* Start ember-demo (extra args @a1 @a2) and read the port from its first line. */
static void server_start(struct server *s, const char *a1, const char *a2)
{
	char line[128] = "";
	int pfd[2];
	ssize_t n;

	assert_int_equal(access(demo_path(), X_OK), 0);
	assert_int_equal(pipe(pfd), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		execl(demo_path(), "ember-demo", "--addr", "127.0.0.1", "--port", "0", a1, a2,
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], line, sizeof(line) - 1);
	close(pfd[0]);
	assert_true(n > 0);
	line[n] = '\0';
	assert_int_equal(sscanf(line, "ember-demo: listening on port %d", &s->port), 1);
	assert_true(s->port > 0 && s->port < 65536);
}

/* Wait for the server to exit (at most ~5 s); returns its wait status. */
static int server_wait(struct server *s)
{
	int st, i;

	for (i = 0; i < 500; i++) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
			return st;
		usleep(10000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	fail_msg("ember-demo did not exit");
	return -1;
}

static int connect_to(const struct server *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
	struct timeval tv = {5, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (void *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const char *req)
{
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
}

/* Read exactly one response (head + Content-Length body) from @fd. */
static void read_resp(int fd, struct resp *r, bool head_only)
{
	size_t got = 0, hlen, clen;
	char *end, *cl;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	/* Byte by byte up to the blank line, so a pipelined next response stays queued. */
	while (got < sizeof(r->head) - 1 && !strstr(r->head, "\r\n\r\n")) {
		n = recv(fd, r->head + got, 1, 0);
		if (n <= 0)
			fail_msg("connection ended after %zu bytes of head", got);
		got += (size_t)n;
	}
	end = strstr(r->head, "\r\n\r\n");
	assert_non_null(end);
	hlen = (size_t)(end + 4 - r->head);
	assert_int_equal(hlen, got);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1);
	cl = strstr(r->head, "Content-Length: ");
	assert_non_null(cl);
	clen = strtoul(cl + 16, NULL, 10);
	assert_true(clen < sizeof(r->body));
	if (head_only)
		return;
	while (r->body_len < clen) {
		n = recv(fd, r->body + r->body_len, clen - r->body_len, 0);
		assert_true(n > 0);
		r->body_len += (size_t)n;
	}
}

/* One request on a fresh connection (closed afterwards). */
static void get(const struct server *s, const char *path, struct resp *r)
{
	char req[256];
	int fd = connect_to(s);

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	send_all(fd, req);
	read_resp(fd, r, false);
	close(fd);
}

static void expect_closed(int fd)
{
	char c;

	assert_int_equal(recv(fd, &c, 1, 0), 0);
}

static int setup(void **state)
{
	static struct server s;

	server_start(&s, NULL, NULL);
	*state = &s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	int st;

	/* SIGTERM is a clean stop: exit status 0. */
	kill(s->pid, SIGTERM);
	st = server_wait(s);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void test_identity(void **state)
{
	struct resp r;

	get(*state, "/", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Content-Type: text/plain\r\n"));
	assert_memory_equal(r.body, "ember-demo hostname=", 20);
	assert_non_null(strstr(r.body, " boot_id="));
	assert_non_null(strstr(r.body, " uptime_ms="));
	assert_non_null(strstr(r.body, " requests="));
	assert_int_equal(r.body[r.body_len - 1], '\n');
	/* A query string does not change the route. */
	get(*state, "/?x=1", &r);
	assert_int_equal(r.status, 200);
}

static void check_hex(const struct resp *r)
{
	size_t i;

	assert_int_equal(r->status, 200);
	assert_int_equal(r->body_len, 65);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", r->body[i]));
	assert_int_equal(r->body[64], '\n');
}

static void test_rand(void **state)
{
	struct resp a, b;

	get(*state, "/rand", &a);
	get(*state, "/rand", &b);
	check_hex(&a);
	check_hex(&b);
	assert_memory_not_equal(a.body, b.body, 64);
}

static void test_time(void **state)
{
	struct timespec ts;
	long long now, t;
	struct resp r;

	get(*state, "/time", &r);
	assert_int_equal(r.status, 200);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	t = atoll(r.body);
	assert_true(t > now - 10000000000LL && t <= now);
}

static void test_not_found_and_method(void **state)
{
	struct resp r;
	int fd;

	get(*state, "/nope", &r);
	assert_int_equal(r.status, 404);
	get(*state, "/rand/x", &r);
	assert_int_equal(r.status, 404);
	fd = connect_to(*state);
	send_all(fd, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
		     "GET /time HTTP/1.1\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.head, "Allow: GET, HEAD\r\n"));
	/* The body was skipped: the next request is read correctly. */
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	close(fd);
}

static void test_bad_requests(void **state)
{
	static const char *const bad[] = {
		"garbage\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET noslash HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\n\n\r\n\r\n",
	};
	struct resp r;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = connect_to(*state);
		send_all(fd, bad[i]);
		read_resp(fd, &r, false);
		if (r.status != 400)
			fail_msg("request %zu: status %d, not 400", i, r.status);
		assert_non_null(strstr(r.head, "Connection: close\r\n"));
		expect_closed(fd);
		close(fd);
	}
}

static void test_oversized_head(void **state)
{
	char req[6000];
	struct resp r;
	int fd = connect_to(*state);

	memset(req, 'a', sizeof(req));
	memcpy(req, "GET /", 5);
	req[sizeof(req) - 1] = '\0';
	send_all(fd, req);
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 400);
	close(fd);
}

static void test_keep_alive(void **state)
{
	struct resp r;
	int fd = connect_to(*state);

	send_all(fd, "GET / HTTP/1.1\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Connection: keep-alive\r\n"));
	send_all(fd, "GET /time HTTP/1.1\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	/* Pipelined: two requests in one segment, answered in order. */
	send_all(fd, "GET /rand HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\nConnection: close\r\n\r\n");
	read_resp(fd, &r, false);
	check_hex(&r);
	read_resp(fd, &r, true);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	/* HEAD: no body follows, and the server closed as asked. */
	expect_closed(fd);
	close(fd);
}

/* More pipelined requests than the server's output buffer holds answers for. */
static void test_pipeline_burst(void **state)
{
	static char burst[200 * 24];
	struct resp r;
	int fd = connect_to(*state), i;

	burst[0] = '\0';
	for (i = 0; i < 200; i++)
		strcat(burst, "GET /rand HTTP/1.1\r\n\r\n");
	send_all(fd, burst);
	for (i = 0; i < 200; i++) {
		read_resp(fd, &r, false);
		check_hex(&r);
	}
	close(fd);
}

static void test_http10_closes(void **state)
{
	struct resp r;
	int fd = connect_to(*state);

	send_all(fd, "GET / HTTP/1.0\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.head, "Connection: close\r\n"));
	expect_closed(fd);
	close(fd);
	fd = connect_to(*state);
	send_all(fd, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	read_resp(fd, &r, false);
	assert_non_null(strstr(r.head, "Connection: keep-alive\r\n"));
	send_all(fd, "GET /time HTTP/1.0\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 200);
	close(fd);
}

static void test_exit_after(void **state)
{
	struct server s;
	struct resp r;
	int fd, st;

	(void)state;
	server_start(&s, "--exit-after", "3");
	get(&s, "/", &r);
	assert_non_null(strstr(r.body, "requests=1\n"));
	fd = connect_to(&s);
	send_all(fd, "GET /nope HTTP/1.1\r\n\r\n");
	read_resp(fd, &r, false);
	assert_int_equal(r.status, 404);
	send_all(fd, "GET / HTTP/1.1\r\n\r\n");
	read_resp(fd, &r, false);
	/* The last response is complete before the server goes. */
	assert_non_null(strstr(r.body, "requests=3\n"));
	close(fd);
	st = server_wait(&s);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_bad_options(void **state)
{
	static const char *const argv[][4] = {
		{"--port", "70000", NULL},
		{"--exit-after", "x", NULL},
		{"--bogus", NULL},
		{"--addr", "not-an-address", NULL},
	};
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(argv) / sizeof(argv[0]); i++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			freopen("/dev/null", "w", stderr);
			execl(demo_path(), "ember-demo", argv[i][0], argv[i][1], (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 127)
			fail_msg("option set %zu: exit status %d", i, WEXITSTATUS(st));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),      cmocka_unit_test(test_rand),
		cmocka_unit_test(test_time),	      cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_bad_requests),  cmocka_unit_test(test_oversized_head),
		cmocka_unit_test(test_keep_alive),    cmocka_unit_test(test_pipeline_burst),
		cmocka_unit_test(test_http10_closes), cmocka_unit_test(test_exit_after),
		cmocka_unit_test(test_bad_options),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
