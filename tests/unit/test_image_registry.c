/* SPDX-License-Identifier: Apache-2.0 */
/* The registry client against a fake registry (libmicrohttpd on 127.0.0.1) in this process. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "image/registry.h"

#define USER	   "alice"
#define PASS	   "s3cret!" /* 13 bytes with the user: base64 needs padding */
#define BLOB_SIZE  100000
#define HANG_SENT  16384
#define D(c)	   "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define BLOB_OK	   D("11")
#define BLOB_HANG  D("22")
#define BLOB_REDIR D("33")
#define BLOB_AWAY  D("44")
#define BLOB_CHUNK D("55")
#define BLOB_PLAIN D("66")
#define MANIFEST                                                                                   \
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}"

enum mode { ANON, BASIC, BEARER, BEARER_ANON, BEARER_ACCESS, BAD_CHALLENGE, BAD_TOKEN, FAIL_500 };

/* One fake server; the tests read what it saw after their request returned. */
struct fake {
	struct MHD_Daemon *d;
	unsigned port;
	enum mode mode;
	int token_hits, denied, stop, gen; /* gen: tokens of older generations have expired */
	char auth[512], accept[512], agent[128];
};

static struct fake srv, storage;

/* Byte (i) of every blob: a pattern a cut or a shift would break. */
static char blob_byte(uint64_t i)
{
	return (char)((i * 7 + i / 251) & 0xff);
}

static void fill(char *buf, uint64_t pos, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = blob_byte(pos + i);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, const char *hname, const char *hval)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (type)
		MHD_add_response_header(r, "Content-Type", type);
	if (hname)
		MHD_add_response_header(r, hname, hval);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The distribution spec's error JSON, with one more header (hname) if not NULL. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code,
				   const char *msg, const char *hname, const char *hval)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}", code,
		 msg);
	return reply(c, status, "application/json", body, hname, hval);
}

/* The body readers: the whole blob, its first part then silence, or the whole blob chunked. */
static ssize_t read_blob(void *cls, uint64_t pos, char *buf, size_t max)
{
	size_t n = BLOB_SIZE - pos < max ? BLOB_SIZE - pos : max;

	(void)cls;
	if (!n)
		return MHD_CONTENT_READER_END_OF_STREAM;
	fill(buf, pos, n);
	return (ssize_t)n;
}

static ssize_t read_hang(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct fake *f = cls;

	if (pos < HANG_SENT)
		return read_blob(cls, pos, buf, HANG_SENT - pos < max ? HANG_SENT - pos : max);
	/* Thread per connection: only this transfer waits, until teardown or 10 s. */
	for (int i = 0; i < 500 && !__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST); i++)
		usleep(20000);
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static enum MHD_Result reply_stream(struct MHD_Connection *c, uint64_t size,
				    MHD_ContentReaderCallback reader)
{
	struct MHD_Response *r = MHD_create_response_from_callback(size, 4096, reader, &srv, NULL);
	enum MHD_Result ret = MHD_queue_response(c, 200, r);

	MHD_destroy_response(r);
	return ret;
}

static int basic_ok(struct MHD_Connection *c)
{
	char *pass = NULL, *user = MHD_basic_auth_get_username_password(c, &pass);
	int ok = user && pass && !strcmp(user, USER) && !strcmp(pass, PASS);

	MHD_free(user);
	MHD_free(pass);
	return ok;
}

/* The token service: checks the credentials (anonymous only in BEARER_ANON) and the scope. */
static enum MHD_Result token(struct MHD_Connection *c)
{
	const char *svc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "service");
	const char *scope = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "scope");
	char body[256];

	__atomic_add_fetch(&srv.token_hits, 1, __ATOMIC_SEQ_CST);
	if (srv.mode == BAD_TOKEN)
		return reply(c, 200, "application/json", "<html>not json", NULL, NULL);
	if (srv.mode != BEARER_ANON && !basic_ok(c))
		return reply(c, 401, "application/json", "{\"details\":\"incorrect password\"}",
			     NULL, NULL);
	if (!svc || strcmp(svc, "fake registry") || !scope ||
	    strcmp(scope, "repository:redis:pull"))
		return reply(c, 403, "application/json", "{\"details\":\"wrong scope\"}", NULL,
			     NULL);
	snprintf(body, sizeof(body), "{\"%s\":\"tok%d.%s\",\"expires_in\":300}",
		 srv.mode == BEARER_ACCESS ? "access_token" : "token", srv.gen, scope);
	return reply(c, 200, "application/json", body, NULL, NULL);
}

/* Whether the request may pass; if not, queues the 401 with this mode's challenge. */
static int denied(struct MHD_Connection *c, const char *url, enum MHD_Result *ret)
{
	int repo_len = (int)strcspn(url + 4, "/");
	char challenge[256], token[64];

	snprintf(token, sizeof(token), "Bearer tok%d.repository:redis:pull", srv.gen);
	if (srv.mode == ANON || srv.mode == FAIL_500 || (srv.mode == BASIC && basic_ok(c)) ||
	    (srv.mode != BASIC && !strcmp(srv.auth, token)))
		return 0;
	__atomic_add_fetch(&srv.denied, 1, __ATOMIC_SEQ_CST);
	if (srv.mode == BASIC)
		snprintf(challenge, sizeof(challenge), "Basic realm=\"fake, with a comma\"");
	else if (srv.mode == BAD_CHALLENGE)
		snprintf(challenge, sizeof(challenge), "Bearer realm=\"http://127.0.0.1/unclosed");
	else
		snprintf(challenge, sizeof(challenge),
			 "Bearer realm=\"http://127.0.0.1:%u/token\",service=\"fake registry\","
			 "scope=\"repository:%.*s:pull\",error=\"insufficient_scope\"",
			 srv.port, repo_len, url + 4);
	*ret = reply_error(c, 401, "UNAUTHORIZED", "authentication required", "WWW-Authenticate",
			   challenge);
	return 1;
}

static enum MHD_Result manifest(struct MHD_Connection *c, const char *ref)
{
	static char huge[1000];

	if (!strcmp(ref, "7") || !strcmp(ref, BLOB_OK))
		return reply(c, 200, "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
			     MANIFEST, "Docker-Content-Digest", BLOB_OK);
	if (!strcmp(ref, "huge")) {
		memset(huge, ' ', sizeof(huge) - 1);
		return reply(c, 200, "application/json", huge, NULL, NULL);
	}
	if (!strcmp(ref, "chunked"))
		return reply_stream(c, MHD_SIZE_UNKNOWN, read_blob);
	return reply_error(c, 404, "MANIFEST_UNKNOWN", "manifest unknown", NULL, NULL);
}

static enum MHD_Result blob(struct MHD_Connection *c, const char *digest)
{
	char to[128];

	if (!strcmp(digest, BLOB_OK))
		return reply_stream(c, BLOB_SIZE, read_blob);
	if (!strcmp(digest, BLOB_CHUNK))
		return reply_stream(c, MHD_SIZE_UNKNOWN, read_blob);
	if (!strcmp(digest, BLOB_HANG))
		return reply_stream(c, 4 * HANG_SENT, read_hang);
	if (!strcmp(digest, BLOB_REDIR))
		return reply(c, 307, NULL, "", "Location", "/storage/blob?sig=1");
	snprintf(to, sizeof(to), "http://127.0.0.1:%u/storage/blob", storage.port);
	if (!strcmp(digest, BLOB_AWAY))
		return reply(c, 302, NULL, "", "Location", to);
	if (!strcmp(digest, BLOB_PLAIN))
		return reply(c, 302, NULL, "", "Location", "http://storage.invalid/blob");
	return reply_error(c, 404, "BLOB_UNKNOWN", "blob unknown to registry", NULL, NULL);
}

static void saw(struct fake *f, struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");

	snprintf(f->auth, sizeof(f->auth), "%s", a ? a : "");
	snprintf(f->accept, sizeof(f->accept), "%s", acc ? acc : "");
	snprintf(f->agent, sizeof(f->agent), "%s", ua ? ua : "");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct fake *f = cls;
	enum MHD_Result ret;

	(void)method, (void)version, (void)upload, (void)upload_size, (void)con_cls;
	saw(f, c);
	if (f == &storage || !strncmp(url, "/storage/", 9))
		return reply_stream(c, BLOB_SIZE, read_blob);
	if (!strcmp(url, "/token"))
		return token(c);
	if (denied(c, url, &ret))
		return ret;
	if (srv.mode == FAIL_500)
		return reply_error(c, 500, "UNKNOWN", "storage backend down", NULL, NULL);
	if (!strncmp(url, "/v2/redis/manifests/", 20))
		return manifest(c, url + 20);
	if (!strncmp(url, "/v2/redis/blobs/", 16))
		return blob(c, url + 16);
	return reply_error(c, 404, "NAME_UNKNOWN", "repository name not known", NULL, NULL);
}

static int fake_start(struct fake *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const union MHD_DaemonInfo *info;

	/* A thread per connection: a hanging body must not hold up the token service. */
	f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				NULL, NULL, on_request, f, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_END);
	if (!f->d)
		return -1;
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	f->port = info ? info->port : 0;
	return f->port ? 0 : -1;
}

static int group_setup(void **state)
{
	(void)state;
	return fake_start(&srv) || fake_start(&storage);
}

static int group_teardown(void **state)
{
	(void)state;
	__atomic_store_n(&srv.stop, 1, __ATOMIC_SEQ_CST);
	MHD_stop_daemon(srv.d);
	MHD_stop_daemon(storage.d);
	return 0;
}

/* Each test: a mode, clean counters, a client of the fake with (user) and a 2 s stall. */
static struct registry *client(enum mode mode, const char *user, const char *pass)
{
	struct registry_opts o = {.insecure = 1,
				  .username = user,
				  .password = pass,
				  .stall_timeout_s = 2,
				  .manifest_max = 512};
	struct registry *reg = NULL;
	struct img_err e = {""};
	char host[32];

	srv.mode = mode;
	srv.token_hits = srv.denied = srv.gen = 0;
	srv.auth[0] = storage.auth[0] = '\0';
	snprintf(host, sizeof(host), "127.0.0.1:%u", srv.port);
	if (registry_new(host, &o, &reg, &e))
		fail_msg("registry_new: %s", e.msg);
	return reg;
}

/* A sink that checks each byte against the pattern; fails on request, with or without a reason. */
struct sink {
	uint64_t got, last_done, last_total;
	int fail_rc, say_why, bad;
	struct img_err *e;
};

static int sink(void *ctx, const void *buf, size_t n)
{
	struct sink *s = ctx;

	if (s->fail_rc)
		return s->say_why ? img_fail(s->e, s->fail_rc, "disk of the store is full")
				  : s->fail_rc;
	for (size_t i = 0; i < n; i++)
		s->bad |= ((const char *)buf)[i] != blob_byte(s->got + i);
	s->got += n;
	return 0;
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	struct sink *s = ctx;

	s->last_done = done;
	s->last_total = total;
}

static int get_blob(struct registry *reg, const char *digest, int64_t size, struct sink *s,
		    struct img_err *e)
{
	s->e = e;
	return registry_get_blob(reg, "redis", digest, size, sink, s, progress, e);
}

/* Fetches blob (digest) whole into a fresh (s), every byte checked. */
static void blob_ok(struct registry *reg, const char *digest, int64_t size, struct sink *s)
{
	struct img_err e = {""};

	*s = (struct sink){0};
	if (get_blob(reg, digest, size, s, &e))
		fail_msg("%s: %s", digest, e.msg);
	assert_int_equal(s->got, BLOB_SIZE);
	assert_false(s->bad);
}

/* (msg) must say (want), with %u standing for the fake's port. */
static void assert_says(const char *msg, const char *want)
{
	char buf[512];

	snprintf(buf, sizeof(buf), want, srv.port, srv.port);
	if (!strstr(msg, buf))
		fail_msg("error '%s' does not say '%s'", msg, buf);
}

static void test_hosts(void **state)
{
	static const char *local[] = {"localhost:5000", "127.0.0.1", "127.9.9.9:1", "[::1]:5000"};
	static const char *remote[] = {"registry.example.com", "10.0.0.1:5000",
				       "[2001:db8::1]:5000", "localhost.example.com"};
	static const char *bad[] = {"",	      "a/b",   "host:0",      "host:99999", "::1",
				    "[zz]:1", "ho st", "host:5000/x", "user@host"};
	struct registry_opts o = {.insecure = 1};
	struct registry *reg;
	struct img_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(local) / sizeof(*local); i++) {
		assert_int_equal(registry_new(local[i], &o, &reg, &e), 0);
		registry_free(reg);
	}
	for (size_t i = 0; i < sizeof(remote) / sizeof(*remote); i++) {
		assert_int_equal(registry_new(remote[i], &o, &reg, &e), -EPERM);
		assert_null(reg);
		assert_non_null(strstr(e.msg, "plain HTTP (insecure) is allowed only for"));
		assert_non_null(strstr(e.msg, remote[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(registry_new(bad[i], NULL, &reg, &e), -EINVAL);
	o.username = USER;
	assert_int_equal(registry_new("localhost", &o, &reg, &e), -EINVAL);
	/* Without insecure, any well-formed host is fine: nothing is sent yet. */
	assert_int_equal(registry_new("registry-1.docker.io", NULL, &reg, &e), 0);
	registry_free(reg);
}

static void test_challenge_parse(void **state)
{
	static const struct {
		const char *hdr;
		int rc;
		const char *scheme, *realm, *service, *scope;
	} t[] = {
		{"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		 "scope=\"repository:library/redis:pull\"",
		 0, "Bearer", "https://auth.docker.io/token", "registry.docker.io",
		 "repository:library/redis:pull"},
		{"bearer  scope=\"repository:a/b:pull,push\" , service=reg ,realm=\"r\"", 0,
		 "bearer", "r", "reg", "repository:a/b:pull,push"},
		{"Basic realm=\"Registry, \\\"quoted\\\"\"", 0, "Basic", "Registry, \"quoted\"", "",
		 ""},
		{"Basic", 0, "Basic", "", "", ""},
		{"Negotiate, Bearer realm=\"r\"", 0, "Bearer", "r", "", ""},
		{"Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic "
		 "realm=\"simple\"",
		 0, "Basic", "simple", "", ""},
		{"Bearer realm=\"x\", Basic realm=\"y\"", 0, "Bearer", "x", "", ""},
		{"Negotiate", -ENOTSUP, NULL, NULL, NULL, NULL},
		{"", -ENOTSUP, NULL, NULL, NULL, NULL},
		{"Bearer realm=\"unclosed", -EPROTO, NULL, NULL, NULL, NULL},
		{"Bearer realm=", -EPROTO, NULL, NULL, NULL, NULL},
		{"Bearer realm=\"x\" service=\"y\"", -EPROTO, NULL, NULL, NULL, NULL},
		{"Bearer =x", -EPROTO, NULL, NULL, NULL, NULL},
		{"\"Bearer\" realm=x", -EPROTO, NULL, NULL, NULL, NULL},
	};
	struct reg_challenge c;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		int rc = reg_parse_challenge(t[i].hdr, &c);

		if (rc != t[i].rc)
			fail_msg("'%s': %d, expected %d", t[i].hdr, rc, t[i].rc);
		if (rc)
			continue;
		assert_string_equal(c.scheme, t[i].scheme);
		assert_string_equal(c.realm, t[i].realm);
		assert_string_equal(c.service, t[i].service);
		assert_string_equal(c.scope, t[i].scope);
	}
}

static void test_manifest(void **state)
{
	struct registry *reg = client(ANON, NULL, NULL);
	struct registry_doc doc;
	struct img_err e;

	(void)state;
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), 0);
	assert_int_equal(doc.len, strlen(MANIFEST));
	assert_string_equal(doc.data, MANIFEST);
	assert_string_equal(doc.media_type, "application/vnd.oci.image.manifest.v1+json");
	assert_string_equal(doc.digest, BLOB_OK);
	assert_string_equal(srv.accept, REGISTRY_ACCEPT);
	assert_string_equal(srv.agent, REGISTRY_USER_AGENT);
	assert_string_equal(srv.auth, "");
	registry_doc_free(&doc);
	assert_null(doc.data);
	/* By digest too; and names that would leave the path are refused before any request. */
	assert_int_equal(registry_get_manifest(reg, "redis", BLOB_OK, &doc, &e), 0);
	registry_doc_free(&doc);
	assert_int_equal(registry_get_manifest(reg, "../etc", "7", &doc, &e), -EINVAL);
	assert_int_equal(registry_get_manifest(reg, "Redis", "7", &doc, &e), -EINVAL);
	assert_int_equal(registry_get_manifest(reg, "redis", "7/../x", &doc, &e), -EINVAL);
	assert_int_equal(registry_get_manifest(reg, "redis", "sha256:", &doc, &e), -EINVAL);
	assert_int_equal(registry_get_manifest(reg, "redis", "7?x=1", &doc, &e), -EINVAL);
	assert_int_equal(registry_get_manifest(reg, NULL, "7", &doc, &e), -EINVAL);
	registry_free(reg);
}

static void test_answer_errors(void **state)
{
	struct registry *reg = client(ANON, NULL, NULL);
	struct registry_doc doc;
	struct img_err e;

	(void)state;
	assert_int_equal(registry_get_manifest(reg, "redis", "nope", &doc, &e), -ENOENT);
	assert_says(e.msg, "registry 127.0.0.1:%u answered 404 MANIFEST_UNKNOWN for redis:nope: "
			   "manifest unknown");
	assert_null(doc.data);
	assert_int_equal(registry_get_manifest(reg, "redis", "huge", &doc, &e), -EFBIG);
	assert_says(e.msg,
		    "the answer for redis:huge from 127.0.0.1:%u is over the 512-byte limit");
	/* Without a length header the limit holds while the body streams. */
	assert_int_equal(registry_get_manifest(reg, "redis", "chunked", &doc, &e), -EFBIG);
	registry_free(reg);

	reg = client(FAIL_500, NULL, NULL);
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), -EIO);
	assert_says(e.msg, "registry 127.0.0.1:%u answered 500 UNKNOWN for redis:7: storage "
			   "backend down");
	registry_free(reg);
}

static void test_basic_auth(void **state)
{
	struct registry *reg = client(BASIC, NULL, NULL);
	struct registry_doc doc;
	struct sink s = {0};
	struct img_err e;

	(void)state;
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), -EACCES);
	assert_says(e.msg, "registry 127.0.0.1:%u answered 401: it requires authentication: give a "
			   "user and password");
	registry_free(reg);

	reg = client(BASIC, USER, "wrong");
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), -EACCES);
	assert_says(e.msg, "registry 127.0.0.1:%u answered 401 UNAUTHORIZED for redis:7");
	registry_free(reg);

	/* Asked once: the credentials then go with every request. */
	reg = client(BASIC, USER, PASS);
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), 0);
	registry_doc_free(&doc);
	blob_ok(reg, BLOB_OK, BLOB_SIZE, &s);
	assert_int_equal(srv.denied, 1);
	registry_free(reg);
}

static void test_bearer(void **state)
{
	struct registry *reg = client(BEARER, USER, PASS);
	struct registry_doc doc;
	struct sink s = {0};
	struct img_err e;

	(void)state;
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), 0);
	registry_doc_free(&doc);
	assert_string_equal(srv.auth, "Bearer tok0.repository:redis:pull");
	/* The token is cached for the repository: one token request, one 401. */
	blob_ok(reg, BLOB_OK, BLOB_SIZE, &s);
	assert_int_equal(srv.token_hits, 1);
	assert_int_equal(srv.denied, 1);
	/* Another repository needs its own scope, which this token service refuses. */
	assert_int_equal(registry_get_manifest(reg, "other", "7", &doc, &e), -EACCES);
	assert_says(e.msg, "token service 127.0.0.1:%u answered 403 for other: wrong scope");
	/* The cached token expires: refused once, replaced, the request goes through. */
	srv.gen = 1;
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), 0);
	registry_doc_free(&doc);
	assert_string_equal(srv.auth, "Bearer tok1.repository:redis:pull");
	assert_int_equal(srv.token_hits, 3);
	registry_free(reg);

	reg = client(BEARER, USER, "wrong");
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), -EACCES);
	assert_says(e.msg, "token service 127.0.0.1:%u answered 401 for redis: incorrect password");
	registry_free(reg);

	reg = client(BEARER_ANON, NULL, NULL);
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), 0);
	registry_doc_free(&doc);
	registry_free(reg);

	reg = client(BEARER_ACCESS, USER, PASS);
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), 0);
	registry_doc_free(&doc);
	registry_free(reg);
}

static void test_bad_auth_answers(void **state)
{
	struct registry *reg = client(BAD_CHALLENGE, NULL, NULL);
	struct registry_doc doc;
	struct img_err e;

	(void)state;
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), -EPROTO);
	assert_says(e.msg, "registry 127.0.0.1:%u sent a malformed WWW-Authenticate challenge");
	registry_free(reg);

	reg = client(BAD_TOKEN, NULL, NULL);
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), -EPROTO);
	assert_says(e.msg, "token service 127.0.0.1:%u answered malformed JSON for redis");
	registry_free(reg);
}

static void test_blob(void **state)
{
	struct registry *reg = client(ANON, NULL, NULL);
	struct sink s = {0};
	struct img_err e;

	(void)state;
	blob_ok(reg, BLOB_OK, BLOB_SIZE, &s);
	assert_int_equal(s.last_done, BLOB_SIZE);
	assert_int_equal(s.last_total, BLOB_SIZE);
	/* Unknown size: no bound, the total is what the length header says (none here). */
	blob_ok(reg, BLOB_CHUNK, -1, &s);
	assert_int_equal(s.last_total, 0);
	s = (struct sink){0};
	assert_int_equal(get_blob(reg, D("77"), 1, &s, &e), -ENOENT);
	assert_says(e.msg, "answered 404 BLOB_UNKNOWN for sha256:7777");
	assert_int_equal(s.got, 0);
	registry_free(reg);
}

static void test_blob_size(void **state)
{
	struct registry *reg = client(ANON, NULL, NULL);
	struct sink s = {0};
	struct img_err e;

	(void)state;
	/* The length header says too much: refused before a byte reaches the sink. */
	assert_int_equal(get_blob(reg, BLOB_OK, 1000, &s, &e), -EFBIG);
	assert_says(e.msg, "blob " BLOB_OK " from 127.0.0.1:%u is larger than the expected 1000 "
			   "bytes");
	assert_int_equal(s.got, 0);
	/* No length header: cut at the expected size. */
	s = (struct sink){0};
	assert_int_equal(get_blob(reg, BLOB_CHUNK, 1000, &s, &e), -EFBIG);
	assert_true(s.got <= 1000);
	s = (struct sink){0};
	assert_int_equal(get_blob(reg, BLOB_OK, BLOB_SIZE + 1, &s, &e), -EIO);
	assert_says(e.msg, "ended after 100000 of 100001 bytes");
	registry_free(reg);
}

static void test_blob_redirect(void **state)
{
	struct registry *reg = client(BEARER, USER, PASS);
	struct sink s = {0};
	struct img_err e;

	(void)state;
	blob_ok(reg, BLOB_REDIR, BLOB_SIZE, &s);
	/* Same origin: the token may go along. */
	assert_string_equal(srv.auth, "Bearer tok0.repository:redis:pull");

	blob_ok(reg, BLOB_AWAY, BLOB_SIZE, &s);
	assert_string_equal(storage.auth, "");

	s = (struct sink){0};
	assert_int_equal(get_blob(reg, BLOB_PLAIN, BLOB_SIZE, &s, &e), -EPERM);
	assert_says(e.msg, "refusing a redirect to http://storage.invalid/blob: plain HTTP");
	registry_free(reg);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_blob_stall(void **state)
{
	struct registry *reg = client(ANON, NULL, NULL);
	struct sink s = {0};
	struct img_err e;
	double t0 = now(), took;

	(void)state;
	assert_int_equal(get_blob(reg, BLOB_HANG, 4 * HANG_SENT, &s, &e), -ETIMEDOUT);
	took = now() - t0;
	assert_says(e.msg,
		    "no data from 127.0.0.1:%u for 2 s while fetching " BLOB_HANG ": timed out");
	assert_int_equal(s.got, HANG_SENT);
	/* The stall timeout is 2 s; libcurl checks the speed once a second. */
	if (took < 1.5 || took > 4.5)
		fail_msg("a 2 s stall failed after %.1f s", took);
	registry_free(reg);
}

static void test_sink_error(void **state)
{
	struct registry *reg = client(ANON, NULL, NULL);
	struct sink s = {.fail_rc = -ENOSPC, .say_why = 1};
	struct img_err e;

	(void)state;
	assert_int_equal(get_blob(reg, BLOB_OK, BLOB_SIZE, &s, &e), -ENOSPC);
	assert_string_equal(e.msg, "disk of the store is full");
	s = (struct sink){.fail_rc = -ENOSPC};
	assert_int_equal(get_blob(reg, BLOB_OK, BLOB_SIZE, &s, &e), -ENOSPC);
	assert_string_equal(e.msg, "storing " BLOB_OK ": No space left on device");
	registry_free(reg);
}

static void test_refused(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct registry_opts o = {.insecure = 1};
	socklen_t len = sizeof(sa);
	struct registry_doc doc;
	struct registry *reg;
	struct img_err e;
	char host[32], want[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* A port the kernel just gave out and nobody listens on. */
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(host, sizeof(host), "127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_equal(registry_new(host, &o, &reg, &e), 0);
	assert_int_equal(registry_get_manifest(reg, "redis", "7", &doc, &e), -ECONNREFUSED);
	snprintf(want, sizeof(want),
		 "cannot connect to %s while fetching redis:7: Connection refused", host);
	assert_string_equal(e.msg, want);
	registry_free(reg);
}

int main(void)
{
	static const char *proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
					"HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_challenge_parse),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_answer_errors),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_bad_auth_answers),
		cmocka_unit_test(test_blob),
		cmocka_unit_test(test_blob_size),
		cmocka_unit_test(test_blob_redirect),
		cmocka_unit_test(test_blob_stall),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_refused),
	};

	/* Only loopback, and straight: a proxy from the environment would see the fake's traffic.
	 */
	for (size_t i = 0; i < sizeof(proxies) / sizeof(*proxies); i++)
		unsetenv(proxies[i]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
