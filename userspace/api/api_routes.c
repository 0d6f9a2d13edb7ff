// SPDX-License-Identifier: Apache-2.0
/* REST routes: path and method matching, input checks, calls into the backend ops table. */
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum route {
	R_NONE,
	R_HEALTH,
	R_METRICS,
	R_APPS,
	R_APP,
	R_SCALE,
	R_INSTANCES,
	R_LOGS,
	R_IMAGES,
	R_IMAGE_JOB,
	R_IMAGE,
};

/* What each route answers to: the Allow header of a 405, and the query
 * parameters it takes (anything else is refused). HEAD is GET without body
 * (MHD drops the body). */
static const struct {
	const char *allow;
	const char *const *params;
} routes[] = {
	[R_HEALTH] = {"GET, HEAD", NULL},
	[R_METRICS] = {"GET, HEAD", NULL},
	[R_APPS] = {"GET, HEAD, POST", NULL},
	[R_APP] = {"GET, HEAD, PUT, DELETE", NULL},
	[R_SCALE] = {"PUT, PATCH", NULL},
	[R_INSTANCES] = {"GET, HEAD", NULL},
	[R_LOGS] = {"GET, HEAD", (const char *const[]){"instance", "tail", NULL}},
	[R_IMAGES] = {"GET, HEAD, POST", NULL},
	[R_IMAGE_JOB] = {"GET, HEAD", NULL},
	[R_IMAGE] = {"GET, HEAD, DELETE", NULL},
};

/* One request on its way through the routes. */
struct call {
	struct api *api;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	struct api_req *req;
	char name[256]; /* the {name} of the path, checked before use */
	char ref[512];	/* the {ref} of an image path, checked before use */
	unsigned int job;
	struct api_reply rep;
};

/*
 * /v1/images/jobs/{id} and /v1/images/{ref}: a reference holds '/' and ':'
 * ("ghcr.io/x/y:1"), so it is the whole rest of the (URL-decoded) path. A
 * reference "jobs/<digits>" is therefore only reachable by listing.
 */
static enum route route_image(const char *p, struct call *c)
{
	if (!strncmp(p, "jobs/", 5) && p[5] && strspn(p + 5, "0123456789") == strlen(p + 5)) {
		unsigned long id = strlen(p + 5) <= 9 ? strtoul(p + 5, NULL, 10) : 0;

		if (!id)
			return R_NONE;
		c->job = (unsigned int)id;
		return R_IMAGE_JOB;
	}
	snprintf(c->ref, sizeof(c->ref), "%s", p);
	return R_IMAGE;
}

static enum route route_of(const char *url, struct call *c)
{
	char *name = c->name;
	size_t len = sizeof(c->name);
	const char *p, *slash;

	if (!strcmp(url, "/v1/images"))
		return R_IMAGES;
	if (!strncmp(url, "/v1/images/", 11))
		return url[11] ? route_image(url + 11, c) : R_NONE;
	if (!strcmp(url, "/v1/health"))
		return R_HEALTH;
	if (!strcmp(url, "/metrics"))
		return R_METRICS;
	if (!strcmp(url, "/v1/apps"))
		return R_APPS;
	if (strncmp(url, "/v1/apps/", 9))
		return R_NONE;
	p = url + 9;
	slash = strchr(p, '/');
	if (slash == p || !*p)
		return R_NONE;
	snprintf(name, len, "%.*s", slash ? (int)(slash - p) : (int)strlen(p), p);
	if (!slash)
		return R_APP;
	if (!strcmp(slash, "/scale"))
		return R_SCALE;
	if (!strcmp(slash, "/instances"))
		return R_INSTANCES;
	if (!strcmp(slash, "/logs"))
		return R_LOGS;
	return R_NONE;
}

static bool method_allowed(const char *allow, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = allow; p; p = strchr(p, ',') ? strchr(p, ',') + 2 : NULL)
		if (!strncmp(p, method, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

struct param_check {
	const char *const *known;
	char bad[64];
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct param_check *pc = cls;

	(void)kind, (void)value;
	for (const char *const *k = pc->known; k && *k; k++)
		if (!strcmp(*k, key))
			return MHD_YES;
	snprintf(pc->bad, sizeof(pc->bad), "%s", key);
	return MHD_NO; /* stop at the first unknown one */
}

/* The request body as a JSON value, or NULL with (rep) filled (400). */
static json_t *body_json(struct call *c)
{
	json_error_t je;
	json_t *j;

	if (!c->req->len) {
		api_error(&c->rep, 400, NULL, "the request needs a JSON body");
		return NULL;
	}
	j = json_loadb(c->req->body, c->req->len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		api_error(&c->rep, 400, NULL, "malformed JSON at line %d, column %d: %s", je.line,
			  je.column, je.text);
	return j;
}

static int invalid(struct call *c, const struct app_err *err)
{
	return api_error(&c->rep, 400, err->field, "%s", err->msg);
}

static int unimplemented(struct call *c)
{
	return api_error(&c->rep, 501, NULL, "%.16s %.128s is not implemented by this daemon",
			 c->method, c->url);
}

#define CALL(c, op, ...) ((c)->api->ops->op ? (c)->api->ops->op(__VA_ARGS__) : unimplemented(c))

/* POST /v1/apps (name_from_path NULL) and PUT /v1/apps/{name}. */
static int deploy(struct call *c, const char *name_from_path)
{
	const struct api_backend_ops *ops = c->api->ops;
	struct app_spec *spec;
	struct app_err err;
	json_t *j = body_json(c);
	int rc;

	if (!j)
		return -1;
	spec = malloc(sizeof(*spec)); /* ~6 KiB: kept off the event loop's stack */
	if (!spec) {
		json_decref(j);
		return api_error(&c->rep, 500, NULL, "out of memory");
	}
	if (app_spec_from_json(spec, j, name_from_path, &err))
		rc = invalid(c, &err);
	else if (name_from_path)
		rc = ops->replace ? ops->replace(c->api->ctx, spec, &c->rep) : unimplemented(c);
	else
		rc = ops->deploy ? ops->deploy(c->api->ctx, spec, &c->rep) : unimplemented(c);
	free(spec);
	json_decref(j);
	return rc;
}

static int scale(struct call *c)
{
	struct app_scale sc;
	struct app_err err;
	json_t *j = body_json(c);
	int rc;

	if (!j)
		return -1;
	if (app_scale_from_json(&sc, j, !strcmp(c->method, "PUT"), &err))
		rc = invalid(c, &err);
	else
		rc = CALL(c, scale, c->api->ctx, c->name, &sc, &c->rep);
	json_decref(j);
	return rc;
}

static int logs(struct call *c)
{
	const char *inst = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "instance");
	const char *tail = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "tail");
	struct api_logs_query q = {.instance = inst};
	char *end;

	if (inst && (!*inst || strlen(inst) > 64 ||
		     strspn(inst, "abcdefghijklmnopqrstuvwxyz"
				  "0123456789-") != strlen(inst)))
		return api_error(&c->rep, 400, "instance",
				 "instance: must be 1-64 of a-z, 0-9 and '-'");
	if (tail) {
		unsigned long n = strtoul(tail, &end, 10);

		if (!*tail || *end || strspn(tail, "0123456789") != strlen(tail) || n < 1 ||
		    n > 100000)
			return api_error(&c->rep, 400, "tail", "tail: must be 1-100000 (lines)");
		q.tail = (unsigned int)n;
	}
	return CALL(c, logs, c->api->ctx, c->name, &q, &c->rep);
}

static int metrics(struct call *c)
{
	int rc = c->api->ops->metrics ? c->api->ops->metrics(c->api->ctx, &c->rep) : 0;

	if (rc)
		return rc;
	/* A backend that answered JSON is a bug; its text is kept, with the
	 * API's own counters after it (alone without a backend callback). */
	json_decref(c->rep.json);
	c->rep.json = NULL;
	if (api_metrics_append(c->api, &c->rep))
		return api_error(&c->rep, 500, NULL, "out of memory");
	c->rep.content_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}

/* POST /v1/images: an import or a pull (api_images.c checks the body). */
static int image_post(struct call *c)
{
	struct api_image_post p;
	json_t *j = body_json(c);
	int rc = -1;

	if (!j)
		return -1;
	if (!api_image_post_check(j, &p, &c->rep))
		rc = p.import ? CALL(c, image_import, c->api->ctx, p.import, p.name, &c->rep)
			      : CALL(c, image_pull, c->api->ctx, &p.pull, &c->rep);
	json_decref(j);
	return rc;
}

static int image_route(struct call *c, enum route r, bool get)
{
	void *ctx = c->api->ctx;

	switch (r) {
	case R_IMAGES:
		return get ? CALL(c, image_list, ctx, &c->rep) : image_post(c);
	case R_IMAGE_JOB:
		return CALL(c, image_job, ctx, c->job, &c->rep);
	default:
		if (api_image_ref_check(c->ref))
			return api_error(
				&c->rep, 400, "ref",
				"ref: must be 1-%d printable ASCII characters without spaces",
				API_IMAGE_REF_MAX);
		if (get)
			return CALL(c, image_get, ctx, c->ref, &c->rep);
		return CALL(c, image_remove, ctx, c->ref, &c->rep);
	}
}

static int health(struct call *c)
{
	if (c->api->ops->health)
		return c->api->ops->health(c->api->ctx, &c->rep);
	c->rep.json = json_pack("{s:s}", "status", "ok");
	return 0;
}

static int call_route(struct call *c, enum route r)
{
	bool get = !strcmp(c->method, "GET") || !strcmp(c->method, "HEAD");
	void *ctx = c->api->ctx;

	switch (r) {
	case R_HEALTH:
		return health(c);
	case R_METRICS:
		return metrics(c);
	case R_APPS:
		return get ? CALL(c, list, ctx, &c->rep) : deploy(c, NULL);
	case R_APP:
		if (get)
			return CALL(c, get, ctx, c->name, &c->rep);
		if (!strcmp(c->method, "PUT"))
			return deploy(c, c->name);
		return CALL(c, remove, ctx, c->name, &c->rep);
	case R_SCALE:
		return scale(c);
	case R_INSTANCES:
		return CALL(c, instances, ctx, c->name, &c->rep);
	case R_LOGS:
		return logs(c);
	case R_IMAGES:
	case R_IMAGE_JOB:
	case R_IMAGE:
		return image_route(c, r, get);
	default:
		return api_error(&c->rep, 404, NULL, "no such path");
	}
}

enum MHD_Result api_dispatch(struct api *api, struct MHD_Connection *conn, const char *url,
			     const char *method, struct api_req *req)
{
	struct call c = {.api = api, .conn = conn, .method = method, .url = url, .req = req};
	struct param_check pc = {0};
	struct app_err err;
	enum route r = route_of(url, &c);

	if (r == R_NONE)
		return api_respond_error(api, conn, 404, NULL, NULL, "no such path: %.128s", url);
	if (!method_allowed(routes[r].allow, method))
		return api_respond_error(api, conn, 405, NULL, routes[r].allow,
					 "method %.16s not allowed on %.128s (allowed: %s)", method,
					 url, routes[r].allow);
	pc.known = routes[r].params;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
	if (pc.bad[0])
		return api_respond_error(api, conn, 400, pc.bad, NULL,
					 "%s: unknown query parameter", pc.bad);
	if (c.name[0] && app_name_check(c.name, &err))
		return api_respond_error(api, conn, 400, err.field, NULL, "%s", err.msg);
	if (call_route(&c, r) && c.rep.status < 400)
		api_error(&c.rep, 500, NULL, "the daemon failed without saying why");
	return api_respond(api, conn, &c.rep);
}
