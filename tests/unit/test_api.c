// SPDX-License-Identifier: Apache-2.0
/* The REST API over a real Unix socket: status codes and JSON bodies, good and bad requests. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_harness.h"

/* (sa) for a connect() or bind() to (path). */
static void sun_of(struct sockaddr_un *sa, const char *path)
{
	assert_true(strlen(path) < sizeof(sa->sun_path));
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

static const char *web = "{\"name\": \"web\", \"image\": \"registry.test/web:1\","
			 " \"services\": [{\"vip\":"
			 " \"10.1.0.1\", \"port\": 80}]}";

static void test_health(void **state)
{
	struct resp *r = http("GET", "/v1/health", NULL);

	(void)state;
	assert_int_equal(r->status, 200);
	assert_string_equal(r->type, "application/json");
	assert_string_equal(jstr(r->json, "status"), "ok");
	assert_int_equal(http("HEAD", "/v1/health", NULL)->status, 200);
}

static void test_deploy_get_list(void **state)
{
	struct resp *r = http("POST", "/v1/apps", web);
	json_t *apps;

	(void)state;
	if (r->status != 201)
		fail_msg("deploy: %ld %s", r->status, r->body);
	assert_string_equal(jstr(r->json, "name"), "web");
	assert_int_equal(json_integer_value(json_object_get(r->json, "idle_timeout_ms")), 5000);

	r = http("GET", "/v1/apps/web", NULL);
	assert_int_equal(r->status, 200);
	assert_string_equal(jstr(r->json, "name"), "web");
	assert_string_equal(jstr(json_array_get(json_object_get(r->json, "services"), 0), "vip"),
			    "10.1.0.1");
	assert_string_equal(jstr(r->json, "image"), "registry.test/web:1");

	r = http("POST", "/v1/apps",
		 "{\"name\": \"db\", \"image\": \"db:1\", \"services\":"
		 " [{\"vip\": \"fd00::5\", \"port\": 5432}]}");
	assert_int_equal(r->status, 201);
	r = http("GET", "/v1/apps", NULL);
	assert_int_equal(r->status, 200);
	apps = json_object_get(r->json, "apps");
	assert_int_equal(json_array_size(apps), 2);
	assert_string_equal(jstr(json_array_get(apps, 0), "name"), "db"); /* name order */
	assert_string_equal(jstr(json_array_get(apps, 1), "name"), "web");
}

static void test_conflicts(void **state)
{
	(void)state;
	expect_error(http("POST", "/v1/apps", web), 409, "name",
		     "name: an app named \"web\" already exists");
	expect_error(http("POST", "/v1/apps",
			  "{\"name\": \"other\", \"image\": \"k:1\", \"services\":"
			  " [{\"vip\": \"10.1.0.2\", \"port\": 80}, {\"vip\": \"10.1.0.1\","
			  " \"port\": 80}]}"),
		     409, "services[1]",
		     "services[1]: 10.1.0.1:80/tcp is already served by app \"web\"");
	assert_int_equal(http("GET", "/v1/apps/other", NULL)->status, 404);
}

static void test_bad_bodies(void **state)
{
	(void)state;
	expect_error(http("POST", "/v1/apps", "{\"name\": "), 400, NULL, "malformed JSON");
	expect_error(http("POST", "/v1/apps", "not json"), 400, NULL, "malformed JSON");
	expect_error(http("POST", "/v1/apps", "{\"name\": \"a\", \"name\": \"b\"}"), 400, NULL,
		     "duplicate");
	expect_error(http("POST", "/v1/apps", NULL), 400, NULL, "needs a JSON body");
	expect_error(http("POST", "/v1/apps", "[1, 2]"), 400, NULL, "must be a JSON object");
	expect_error(http("POST", "/v1/apps",
			  "{\"name\": \"x\", \"image\": \"k:1\", \"services\":"
			  " [{\"vip\": \"10.9.0.1\", \"port\": 80}], \"bogus\": true}"),
		     400, "bogus", "bogus: unknown field");
	expect_error(http("POST", "/v1/apps",
			  "{\"name\": \"x\", \"image\": \"k:1\", \"services\":"
			  " [{\"vip\": \"10.9.0.1\", \"port\": 70000}]}"),
		     400, "services[0].port", "services[0].port: must be 1-65535");
	expect_error(http("POST", "/v1/apps",
			  "{\"name\": \"x\", \"image\": \"k:1\", \"services\":"
			  " [{\"vip\": \"10.9.0.1\", \"port\": 80}], \"idle_timeout_ms\": 10}"),
		     400, "idle_timeout_ms", "idle_timeout_ms: must be 100-3600000");
	expect_error(http("POST", "/v1/apps", "{\"name\": \"x\"}"), 400, "image", "is required");
}

static void test_oversized(void **state)
{
	size_t n = 100 * 1024;
	char *big = malloc(n + 1);

	(void)state;
	/* A JSON string of 100 KiB: valid JSON, too large. */
	memset(big, 'a', n);
	memcpy(big, "{\"name\": \"", 10);
	memcpy(big + n - 2, "\"}", 3);
	http_on(srv.path, &R, "POST", "/v1/apps", big, n, false);
	expect_error(&R, 413, NULL, "larger than 65536 bytes");
	/* Chunked: no length up front, refused once 64 KiB have arrived. */
	http_on(srv.path, &R, "POST", "/v1/apps", big, n, true);
	expect_error(&R, 413, NULL, "larger than 65536 bytes");
	free(big);
}

/* A raw connection to the main server. */
static int raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 5};

	sun_of(&sa, srv.path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends (req) and returns the first bytes of the answer in (buf). */
static void raw_request(const char *req, char *buf, size_t len)
{
	int fd = raw_connect();
	ssize_t n;

	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	n = read(fd, buf, len - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	close(fd);
}

/* Headers that announce a body too large to read, or whose sender waits for
 * 100 Continue: 413 at once, without reading any of it. */
static void test_oversized_raw(void **state)
{
	char buf[1024];

	(void)state;
	raw_request("POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n", buf,
		    sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 413 ", 13), 0);
	raw_request("POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n"
		    "Expect: 100-continue\r\n\r\n",
		    buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 413 ", 13), 0);
}

/* A chunked body that goes on past 1 MiB: the server hangs up. */
static void test_endless_chunked(void **state)
{
	static const char head[] = "POST /v1/apps HTTP/1.1\r\nHost: x\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	static char chunk[16384 + 16];
	int fd = raw_connect();
	size_t sent = 0;
	char buf[256];

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	memcpy(chunk, "4000\r\n", 6);
	memcpy(chunk + 6 + 16384, "\r\n", 2);
	assert_int_equal(send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(head) - 1);
	while (sent < 8 * 1024 * 1024) {
		ssize_t n = send(fd, chunk, 6 + 16384 + 2, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	assert_true(sent < 8 * 1024 * 1024); /* the server stopped reading */
	assert_true(sent > 1024 * 1024);
	assert_true(read(fd, buf, sizeof(buf)) <= 0); /* closed without an answer */
	close(fd);
}

static void test_methods_paths(void **state)
{
	struct resp *r;

	(void)state;
	r = http("DELETE", "/v1/apps", NULL);
	expect_error(r, 405, NULL, "not allowed");
	assert_string_equal(r->allow, "GET, HEAD, POST");
	r = http("PATCH", "/v1/apps/web", "{}");
	expect_error(r, 405, NULL, "not allowed");
	assert_string_equal(r->allow, "GET, HEAD, PUT, DELETE");
	r = http("GET", "/v1/apps/web/scale", NULL);
	assert_int_equal(r->status, 405);
	assert_string_equal(r->allow, "PUT, PATCH");
	r = http("POST", "/metrics", "x");
	assert_int_equal(r->status, 405);
	assert_string_equal(r->allow, "GET, HEAD");
	expect_error(http("GET", "/v2/apps", NULL), 404, NULL, "no such path: /v2/apps");
	expect_error(http("GET", "/v1/apps/web/bogus", NULL), 404, NULL, "no such path");
	expect_error(http("GET", "/v1/apps/", NULL), 404, NULL, "no such path");
	expect_error(http("GET", "/", NULL), 404, NULL, "no such path");
	expect_error(http("GET", "/v1/apps/Web", NULL), 400, "name", "name: must contain only");
	expect_error(http("GET", "/v1/apps/nope", NULL), 404, "name", "no app named \"nope\"");
	expect_error(http("GET", "/v1/apps?x=1", NULL), 400, "x", "x: unknown query parameter");
}

static void test_scale(void **state)
{
	struct resp *r;

	(void)state;
	r = http("PATCH", "/v1/apps/web/scale", "{\"min_instances\": 1, \"standby\": 2}");
	assert_int_equal(r->status, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "min_instances")), 1);
	assert_int_equal(json_integer_value(json_object_get(r->json, "standby")), 2);
	r = http("PUT", "/v1/apps/web/scale", "{\"min_instances\": 2, \"max_instances\": 3}");
	assert_int_equal(r->status, 200);
	assert_int_equal(json_integer_value(json_object_get(r->json, "max_instances")), 3);
	expect_error(http("PUT", "/v1/apps/web/scale", "{\"min_instances\": 1}"), 400,
		     "max_instances", "is required");
	expect_error(http("PATCH", "/v1/apps/web/scale", "{\"min_instances\": 9}"), 400,
		     "min_instances", "must not exceed max_instances (3)");
	expect_error(http("PATCH", "/v1/apps/web/scale", "{\"vcpus\": 2}"), 400, "vcpus",
		     "unknown field");
	expect_error(http("PATCH", "/v1/apps/nope/scale", "{\"standby\": 0}"), 404, "name",
		     "no app");
	r = http("GET", "/v1/apps/web", NULL);
	assert_int_equal(json_integer_value(json_object_get(r->json, "min_instances")), 2);
}

static void test_replace(void **state)
{
	struct resp *r;

	(void)state;
	r = http("PUT", "/v1/apps/web",
		 "{\"image\": \"web:2\", \"services\": [{\"vip\": \"10.1.0.1\","
		 " \"port\": 80}], \"mem_mib\": 256}");
	if (r->status != 200)
		fail_msg("replace: %ld %s", r->status, r->body);
	assert_int_equal(json_integer_value(json_object_get(r->json, "version")), 2);
	assert_int_equal(json_integer_value(json_object_get(r->json, "mem_mib")), 256);
	expect_error(http("PUT", "/v1/apps/web",
			  "{\"name\": \"db\", \"image\": \"k:1\", \"services\":"
			  " [{\"vip\": \"10.1.0.1\", \"port\": 80}]}"),
		     400, "name", "must match the name in the path (web)");
	expect_error(http("PUT", "/v1/apps/ghost",
			  "{\"image\": \"k:1\", \"services\":"
			  " [{\"vip\": \"10.7.0.1\", \"port\": 80}]}"),
		     404, "name", "no app named \"ghost\"");
}

static void test_instances_logs_metrics(void **state)
{
	struct resp *r;

	(void)state;
	r = http("GET", "/v1/apps/web/instances", NULL);
	assert_int_equal(r->status, 200);
	assert_true(json_is_array(json_object_get(r->json, "instances")));
	r = http("GET", "/v1/apps/web/logs?tail=10&instance=web-1", NULL);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->body, "logs of web instance=web-1 tail=10\n");
	expect_error(http("GET", "/v1/apps/web/logs?tail=abc", NULL), 400, "tail",
		     "tail: must be 1-100000");
	expect_error(http("GET", "/v1/apps/web/logs?tail=0", NULL), 400, "tail", "1-100000");
	expect_error(http("GET", "/v1/apps/web/logs?tail=+5", NULL), 400, "tail", "1-100000");
	expect_error(http("GET", "/v1/apps/web/logs?tail=100001", NULL), 400, "tail", "1-100000");
	expect_error(http("GET", "/v1/apps/web/logs?instance=A%20B", NULL), 400, "instance",
		     "instance:");
	expect_error(http("GET", "/v1/apps/web/logs?follow=1", NULL), 400, "follow",
		     "unknown query parameter");
	r = http("GET", "/metrics", NULL);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->type, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r->body, "ember_apps 2\n"));
	assert_non_null(strstr(r->body, "# TYPE ember_api_requests_total counter\n"));
	assert_non_null(strstr(r->body, "ember_api_requests_total{code=\"400\"} "));
	assert_non_null(strstr(r->body, "ember_api_requests_total{code=\"413\"} 4\n"));
}

/* Not HTTP at all, then a truncated request: MHD answers or hangs up. */
static void test_garbage(void **state)
{
	static const char *junk[] = {
		"\x16\x03\x01\x02\xfc\x03\x03 junk\r\n\r\n", "GET /v1/health HTTP/9.9\r\n\r\n",
		"POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"};
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int fd = raw_connect();

		assert_true(send(fd, junk[i], strlen(junk[i]), MSG_NOSIGNAL) > 0);
		/* An answer (400, 505), EOF or a reset: anything but a hang. The
		 * last one is left hanging, then closed. */
		if (i < 2 && read(fd, buf, sizeof(buf)) < 0)
			assert_int_equal(errno, ECONNRESET);
		close(fd);
	}
}

static void test_delete(void **state)
{
	struct resp *r;

	(void)state;
	r = http("DELETE", "/v1/apps/db", NULL);
	assert_int_equal(r->status, 200);
	assert_string_equal(jstr(r->json, "deleted"), "db");
	expect_error(http("DELETE", "/v1/apps/db", NULL), 404, "name", "no app");
	expect_error(http("GET", "/v1/apps/db", NULL), 404, "name", "no app");
	/* Its service is free again. */
	assert_int_equal(http("POST", "/v1/apps",
			      "{\"name\": \"db2\", \"image\": \"k:1\", \"services\":"
			      " [{\"vip\": \"fd00::5\", \"port\": 5432}]}")
				 ->status,
			 201);
}

/* After every bad request above, the server still serves good ones. */
static void test_still_serving(void **state)
{
	struct resp *r;

	(void)state;
	r = http("POST", "/v1/apps",
		 "{\"name\": \"late\", \"image\": \"k:1\", \"services\":"
		 " [{\"vip\": \"10.1.0.9\", \"port\": 8080, \"proto\": \"udp\"}]}");
	assert_int_equal(r->status, 201);
	r = http("GET", "/v1/apps", NULL);
	assert_int_equal(r->status, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "apps")), 3);
	assert_int_equal(http("GET", "/v1/health", NULL)->status, 200);
}

static void test_socket_file(void **state)
{
	struct server other = {0};
	struct stat st;
	char path[160];
	int fd;

	(void)state;
	assert_int_equal(stat(srv.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	/* A second daemon on the same socket is refused... */
	assert_int_equal(start_server(&other, &fake_ops, "api.sock"), -EADDRINUSE);
	/* ...a regular file is not replaced... */
	snprintf(path, sizeof(path), "%s/file.sock", srv.dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(start_server(&other, &fake_ops, "file.sock"), -EEXIST);
	unlink(path);
	/* ...a stale socket (bound, nobody listening) is. */
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		snprintf(path, sizeof(path), "%s/stale.sock", srv.dir);
		sun_of(&sa, path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	assert_int_equal(start_server(&other, &fake_ops, "stale.sock"), 0);
	http_on(other.path, &R, "GET", "/v1/health", NULL, 0, false);
	assert_int_equal(R.status, 200);
	stop_server(&other);
	assert_int_equal(stat(path, &st), -1); /* removed on stop */
}

/* POST /v1/images: an import or a pull, each with its own members; no credential echoed. */
static void test_image_posts(void **state)
{
	static const struct {
		const char *body, *field, *msg;
	} bad[] = {
		{"{\"import\": \"/x\", \"pull\": \"a:1\"}", "pull", "not both"},
		{"{\"name\": \"a:1\"}", "import", "is required"},
		{"{\"import\": \"x\"}", "import", "absolute path"},
		{"{\"import\": \"/x\", \"insecure\": true}", "insecure", "only for a pull"},
		{"{\"import\": \"/x\", \"username\": \"u\"}", "username", "only for a pull"},
		{"{\"pull\": \"a b\"}", "pull", "without spaces"},
		{"{\"pull\": 1}", "pull", "must be a string"},
		{"{\"pull\": \"a:1\", \"insecure\": \"yes\"}", "insecure", "true or false"},
		{"{\"pull\": \"a:1\", \"username\": \"u\"}", "password", "both or neither"},
		{"{\"pull\": \"a:1\", \"password\": \"hunter2\"}", "username", "both or neither"},
		{"{\"pull\": \"a:1\", \"username\": \"u:v\", \"password\": \"hunter2\"}",
		 "username", "without ':'"},
		{"{\"pull\": \"a:1\", \"username\": \"u\", \"password\": \"hunter2\\n\"}",
		 "password", "control characters"},
		{"{\"pull\": \"a:1\", \"token\": \"t\"}", "token", "unknown field"},
	};
	struct resp *r = http("POST", "/v1/images", "{\"import\": \"/srv/x\", \"name\": \"x:1\"}");

	(void)state;
	assert_int_equal(r->status, 202);
	assert_string_equal(jstr(r->json, "import"), "/srv/x");
	assert_string_equal(jstr(r->json, "name"), "x:1");
	r = http("POST", "/v1/images",
		 "{\"pull\": \"localhost:5000/a/b:1\", \"insecure\": true, \"username\": "
		 "\"bot\", \"password\": \"hunter2\"}");
	assert_int_equal(r->status, 202);
	assert_string_equal(jstr(r->json, "pull"), "localhost:5000/a/b:1");
	assert_true(json_is_true(json_object_get(r->json, "insecure")));
	assert_string_equal(jstr(r->json, "username"), "bot");
	assert_int_equal(json_integer_value(json_object_get(r->json, "password_len")), 7);
	r = http("POST", "/v1/images", "{\"pull\": \"a:1\"}");
	assert_int_equal(r->status, 202);
	assert_false(json_is_true(json_object_get(r->json, "insecure")));
	assert_int_equal(json_integer_value(json_object_get(r->json, "password_len")), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = http("POST", "/v1/images", bad[i].body);
		expect_error(r, 400, bad[i].field, bad[i].msg);
		assert_null(strstr(r->body, "hunter2"));
	}
}

/* A backend without callbacks: 501 for each, health and metrics still answer. */
static void test_unimplemented(void **state)
{
	static const struct api_backend_ops none;
	struct server other = {0};

	(void)state;
	assert_int_equal(start_server(&other, &none, "none.sock"), 0);
	http_on(other.path, &R, "GET", "/v1/apps", NULL, 0, false);
	expect_error(&R, 501, NULL, "GET /v1/apps is not implemented");
	http_on(other.path, &R, "POST", "/v1/apps", "{", 1, false);
	expect_error(&R, 400, NULL, "malformed JSON"); /* input is checked first */
	http_on(other.path, &R, "GET", "/v1/health", NULL, 0, false);
	assert_int_equal(R.status, 200);
	http_on(other.path, &R, "GET", "/metrics", NULL, 0, false);
	assert_int_equal(R.status, 200);
	assert_non_null(strstr(R.body, "ember_api_requests_total{code=\"501\"} 1\n"));
	stop_server(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_deploy_get_list),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_oversized_raw),
		cmocka_unit_test(test_endless_chunked),
		cmocka_unit_test(test_methods_paths),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_instances_logs_metrics),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_still_serving),
		cmocka_unit_test(test_socket_file),
		cmocka_unit_test(test_image_posts),
		cmocka_unit_test(test_unimplemented),
	};

	return cmocka_run_group_tests(tests, api_setup, api_teardown);
}
