// SPDX-License-Identifier: Apache-2.0
/* Harness of test_api: a registry-backed fake backend, the server thread, a libcurl client. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "api_harness.h"

/* ---- the fake backend: the registry, as emberd's state would be ---- */

struct app_registry *reg;

static json_t *entry_json(const struct app_entry *e)
{
	json_t *j = app_spec_to_json(&e->spec);

	json_object_set_new(j, "id", json_integer(e->id));
	json_object_set_new(j, "version", json_integer((json_int_t)e->version));
	return j;
}

static int be_deploy(void *ctx, const struct app_spec *spec, struct api_reply *rep)
{
	const struct app_entry *e;
	struct app_err err;
	int rc = app_registry_add(reg, spec, &e, &err);

	(void)ctx;
	if (rc)
		return api_error_app(rep, rc, &err);
	rep->status = 201;
	rep->json = entry_json(e);
	return 0;
}

static int be_replace(void *ctx, const struct app_spec *spec, struct api_reply *rep)
{
	const struct app_entry *e;
	struct app_err err;
	int rc = app_registry_replace(reg, spec, &e, &err);

	(void)ctx;
	if (rc)
		return api_error_app(rep, rc, &err);
	rep->json = entry_json(e);
	return 0;
}

static int be_list(void *ctx, struct api_reply *rep)
{
	json_t *a = json_array();

	(void)ctx;
	for (size_t i = 0; i < app_registry_count(reg); i++)
		json_array_append_new(a, entry_json(app_registry_at(reg, i)));
	rep->json = json_pack("{s:o}", "apps", a);
	return 0;
}

static struct app_entry *need(const char *name, struct api_reply *rep)
{
	struct app_entry *e = app_registry_get(reg, name);

	if (!e)
		api_error(rep, 404, "name", "no app named \"%s\"", name);
	return e;
}

static int be_get(void *ctx, const char *name, struct api_reply *rep)
{
	struct app_entry *e = need(name, rep);

	(void)ctx;
	if (!e)
		return -1;
	rep->json = entry_json(e);
	return 0;
}

static int be_remove(void *ctx, const char *name, struct api_reply *rep)
{
	(void)ctx;
	if (app_registry_del(reg, name))
		return api_error(rep, 404, "name", "no app named \"%s\"", name);
	rep->json = json_pack("{s:s}", "deleted", name);
	return 0;
}

static int be_scale(void *ctx, const char *name, const struct app_scale *sc, struct api_reply *rep)
{
	struct app_entry *e = need(name, rep);
	struct app_err err;

	(void)ctx;
	if (!e)
		return -1;
	if (app_scale_apply(&e->spec, sc, &err))
		return api_error_app(rep, -EINVAL, &err);
	rep->json = entry_json(e);
	return 0;
}

static int be_instances(void *ctx, const char *name, struct api_reply *rep)
{
	(void)ctx;
	if (!need(name, rep))
		return -1;
	rep->json = json_pack("{s:s,s:[]}", "app", name, "instances");
	return 0;
}

static int be_logs(void *ctx, const char *name, const struct api_logs_query *q,
		   struct api_reply *rep)
{
	(void)ctx;
	if (!need(name, rep))
		return -1;
	rep->text_len = (size_t)asprintf(&rep->text, "logs of %s instance=%s tail=%u\n", name,
					 q->instance ? q->instance : "*", q->tail);
	return 0;
}

static int be_metrics(void *ctx, struct api_reply *rep)
{
	(void)ctx;
	rep->text_len = (size_t)asprintf(&rep->text, "ember_apps %zu\n", app_registry_count(reg));
	return 0;
}

/* The image posts: answered with what the API passed on (a password only by its length). */
static int be_image_import(void *ctx, const char *path, const char *name, struct api_reply *rep)
{
	(void)ctx;
	rep->status = 202;
	rep->json = json_pack("{s:s,s:s?}", "import", path, "name", name);
	return 0;
}

static int be_image_pull(void *ctx, const struct api_image_pull *p, struct api_reply *rep)
{
	(void)ctx;
	rep->status = 202;
	rep->json = json_pack("{s:s,s:s?,s:b,s:s?,s:i}", "pull", p->ref, "name", p->name,
			      "insecure", p->insecure, "username", p->username, "password_len",
			      p->password ? (int)strlen(p->password) : -1);
	return 0;
}

const struct api_backend_ops fake_ops = {
	.deploy = be_deploy,
	.replace = be_replace,
	.list = be_list,
	.get = be_get,
	.remove = be_remove,
	.scale = be_scale,
	.instances = be_instances,
	.logs = be_logs,
	.metrics = be_metrics,
	.image_import = be_image_import,
	.image_pull = be_image_pull,
	/* .health left NULL: the API's default answer */
};

/* ---- the server: one thread that is the "event loop" ---- */

struct server srv;

/* What emberd's loop will do: the API's epoll fd nested in its own set. */
static void *serve(void *arg)
{
	struct server *s = arg;
	struct epoll_event ev = {.events = EPOLLIN}, out[4];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ev.data.fd = api_fd(s->api);
	epoll_ctl(ep, EPOLL_CTL_ADD, api_fd(s->api), &ev);
	ev.data.fd = s->stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, s->stop_fd, &ev);
	for (;;) {
		int n = epoll_wait(ep, out, 4, api_timeout_ms(s->api));

		for (int i = 0; i < n; i++)
			if (out[i].data.fd == s->stop_fd)
				goto done;
		if (api_run(s->api))
			fprintf(stderr, "api_run failed\n");
	}
done:
	close(ep);
	return NULL;
}

int start_server(struct server *s, const struct api_backend_ops *ops, const char *name)
{
	struct api_config cfg = {.sock_gid = (gid_t)-1, .ops = ops};
	char err[256];
	int rc;

	snprintf(s->path, sizeof(s->path), "%s/%s", srv.dir, name);
	cfg.sock_path = s->path;
	if ((rc = api_start(&s->api, &cfg, err, sizeof(err)))) {
		fprintf(stderr, "api_start: %s\n", err);
		return rc;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	return pthread_create(&s->thread, NULL, serve, s);
}

void stop_server(struct server *s)
{
	uint64_t one = 1;

	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	pthread_join(s->thread, NULL);
	close(s->stop_fd);
	api_stop(s->api);
}

int api_setup(void **state)
{
	(void)state;
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/ember-api-XXXXXX");
	if (!mkdtemp(srv.dir) || curl_global_init(CURL_GLOBAL_NOTHING))
		return -1;
	reg = app_registry_new();
	return start_server(&srv, &fake_ops, "api.sock");
}

int api_teardown(void **state)
{
	(void)state;
	stop_server(&srv);
	app_registry_free(reg);
	json_decref(R.json);
	curl_global_cleanup();
	return rmdir(srv.dir); /* fails if a socket file was left behind */
}

/* ---- the client: libcurl over the socket ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = sz * n, room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, p, len < room ? len : room);
	r->len += len < room ? len : room;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = sz * n;

	if (!strncasecmp(p, "Allow: ", 7))
		sscanf(p + 7, "%63[^\r\n]", r->allow);
	if (!strncasecmp(p, "Content-Type: ", 14))
		sscanf(p + 14, "%63[^\r\n]", r->type);
	return len;
}

/* (method) (path) with (body) (NULL = none) on (sock); the answer in (r). */
void http_on(const char *sock, struct resp *r, const char *method, const char *path,
	     const char *body, size_t body_len, bool chunked)
{
	struct curl_slist *hdr = NULL;
	CURL *c = curl_easy_init();
	char url[512];
	CURLcode rc;

	assert_non_null(c);
	json_decref(r->json); /* the previous answer's */
	r->json = NULL;
	r->status = 0;
	r->len = 0;
	r->allow[0] = r->type[0] = r->body[0] = '\0';
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	if (chunked)
		hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (!strncmp(r->type, "application/json", 16))
		r->json = json_loads(r->body, 0, NULL);
}

struct resp R;

struct resp *http(const char *method, const char *path, const char *body)
{
	http_on(srv.path, &R, method, path, body, body ? strlen(body) : 0, false);
	return &R;
}

const char *jstr(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s ? s : "(none)";
}

/* Asserts an error answer: status, JSON {"error", "field"}, message text. */
void expect_error(const struct resp *r, long status, const char *field, const char *msg)
{
	if (r->status != status)
		fail_msg("status %ld, want %ld: %s", r->status, status, r->body);
	assert_non_null(r->json);
	if (!strstr(jstr(r->json, "error"), msg))
		fail_msg("error '%s' lacks '%s'", jstr(r->json, "error"), msg);
	if (field)
		assert_string_equal(jstr(r->json, "field"), field);
	else
		assert_null(json_object_get(r->json, "field"));
}
