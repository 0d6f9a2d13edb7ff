// SPDX-License-Identifier: Apache-2.0
/* emberd's REST API: HTTP/JSON over a Unix socket, requests dispatched to a backend ops table. */
#ifndef EMBER_USERSPACE_API_H
#define EMBER_USERSPACE_API_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "app_spec.h"

/*
 * The API layer owns the socket, HTTP (libmicrohttpd), routing and every
 * check on input; the backend (emberd) only sees valid requests: a parsed
 * and validated struct app_spec, an app name that is a valid name, a scale
 * request in range. docs/api.md is the reference for the routes.
 *
 * Event loop. The API runs no thread of its own: libmicrohttpd is started in
 * its external-epoll mode (MHD_USE_EPOLL without an internal thread), so
 * every callback into the backend runs on the thread that calls api_run(),
 * i.e. emberd's one event loop, and the backend needs no locks. That loop
 * watches api_fd() for EPOLLIN (an epoll fd nests in another epoll set),
 * waits at most api_timeout_ms(), and calls api_run() when it fires or
 * times out:
 *
 *   api_start() -> epoll_ctl(ADD, api_fd()) -> loop { epoll_wait(...,
 *   min(own, api_timeout_ms())); api_run(); } -> api_stop()
 *
 * Backend callbacks must not block: work that takes long (booting a guest
 * for a deploy) is started, answered with 202 Accepted and a state the
 * client can poll with GET.
 */

#define API_SOCK_DEFAULT "/run/ember/api.sock"
#define API_BODY_MAX	 (64 * 1024) /* larger request bodies: 413 */

/*
 * What a backend callback answers. On success it returns 0 and sets (json)
 * (a reference the API takes over) or (text) (malloc'd, the API frees it;
 * (content_type) defaults to text/plain), and may set (status) (default
 * 200; e.g. 201 or 202). On failure it returns -1 after api_error().
 */
struct api_reply {
	int status;
	json_t *json;
	char *text;
	size_t text_len;
	const char *content_type;
	char error[256]; /* failure: a sentence; becomes {"error": ...} */
	char field[96];	 /* failure: the offending field, "" = none */
};

/* Fills (rep) with an error (status 4xx/5xx; field may be NULL); returns -1. */
int api_error(struct api_reply *rep, int status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* For backends built on app_registry: maps its result (rc, err) to an
 * error reply: -EEXIST/-EADDRINUSE 409, -ENOENT 404, -EINVAL 400, -ENOSPC
 * 507, anything else 500. Returns -1. */
int api_error_app(struct api_reply *rep, int rc, const struct app_err *err);

/* GET /v1/apps/{name}/logs?instance=ID&tail=N (checked by the API). */
struct api_logs_query {
	const char *instance; /* NULL = all instances */
	unsigned int tail;    /* last N lines, 0 = everything kept */
};

/*
 * POST /v1/images {"pull": REF, ...}: as the API checked it. (ref) and (name)
 * are references api_image_ref_check() accepts ((name) may be NULL); the
 * credentials are both NULL or both set, without control characters, the
 * user without ':'. They are the backend's to keep out of logs, answers and
 * files. Whether (insecure) suits (ref)'s registry is the backend's check.
 */
struct api_image_pull {
	const char *ref, *name;
	const char *username, *password;
	bool insecure;
};

#define API_REGISTRY_USER_MAX 255
#define API_REGISTRY_PASS_MAX 4096

/*
 * The backend. Every callback gets (ctx) from struct api_config and a
 * zeroed (rep). A NULL callback answers 501 Not Implemented, except
 * (health), which then answers {"status": "ok"}. (metrics) returns
 * Prometheus text; the API appends its own request counters to it.
 */
struct api_backend_ops {
	/* POST /v1/apps: a new app (name not yet validated against others). */
	int (*deploy)(void *ctx, const struct app_spec *spec, struct api_reply *rep);
	/* PUT /v1/apps/{name}: a new version of an existing app. */
	int (*replace)(void *ctx, const struct app_spec *spec, struct api_reply *rep);
	int (*list)(void *ctx, struct api_reply *rep);
	int (*get)(void *ctx, const char *name, struct api_reply *rep);
	int (*remove)(void *ctx, const char *name, struct api_reply *rep);
	/* PUT/PATCH /v1/apps/{name}/scale: the backend applies (scale) with
	 * app_scale_apply(), which checks min <= max on the merged result. */
	int (*scale)(void *ctx, const char *name, const struct app_scale *scale,
		     struct api_reply *rep);
	int (*instances)(void *ctx, const char *name, struct api_reply *rep);
	int (*logs)(void *ctx, const char *name, const struct api_logs_query *q,
		    struct api_reply *rep);
	int (*metrics)(void *ctx, struct api_reply *rep);
	int (*health)(void *ctx, struct api_reply *rep);
	/* POST /v1/images {"import": PATH, "name": NAME}: (path) is absolute
	 * and at most API_IMAGE_PATH_MAX bytes, (name) NULL or a reference
	 * api_image_ref_check() accepts. Starts a job: 202 {"job": ID}. */
	int (*image_import)(void *ctx, const char *path, const char *name, struct api_reply *rep);
	/* POST /v1/images {"pull": REF, ...}: starts a job like an import: 202. */
	int (*image_pull)(void *ctx, const struct api_image_pull *p, struct api_reply *rep);
	/* GET /v1/images/jobs/{id}: (id) >= 1; 404 for a job not kept. */
	int (*image_job)(void *ctx, unsigned int id, struct api_reply *rep);
	/* GET /v1/images: every reference in name order. */
	int (*image_list)(void *ctx, struct api_reply *rep);
	/* GET and DELETE /v1/images/{ref}: (ref) URL-decoded, the rest of the
	 * path, checked by api_image_ref_check(); 404 when not stored. */
	int (*image_get)(void *ctx, const char *ref, struct api_reply *rep);
	int (*image_remove)(void *ctx, const char *ref, struct api_reply *rep);
};

#define API_IMAGE_REF_MAX  255	/* as the image store's STORE_REF_MAX */
#define API_IMAGE_PATH_MAX 4095 /* an import path */

/* A reference as the image store takes one: 1 to API_IMAGE_REF_MAX
 * printable ASCII characters, no whitespace. 0 or -1. */
int api_image_ref_check(const char *ref);

struct api_config {
	const char *sock_path; /* NULL = API_SOCK_DEFAULT; its directory must exist */
	gid_t sock_gid;	       /* group of the socket (mode 0660); (gid_t)-1 = keep */
	const struct api_backend_ops *ops;
	void *ctx;
	unsigned int conn_limit;     /* 0 = 64 concurrent connections */
	unsigned int conn_timeout_s; /* idle connection closed after; 0 = 30 s */
	/* libmicrohttpd's own diagnostics (NULL = dropped). */
	void (*log)(void *ctx, const char *fmt, va_list ap);
};

struct api;

/*
 * Creates the socket and starts serving (after api_run() calls). A stale
 * socket file (nobody accepts on it) is replaced; if another process
 * answers on (sock_path), or the path exists and is not a socket, it
 * refuses. Returns 0 or -errno with a sentence in (err).
 */
int api_start(struct api **out, const struct api_config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Stops serving, closes every connection, removes the socket file if it
 * is still the one api_start() made. NULL is a no-op. */
void api_stop(struct api *api);

/* The fd to watch for EPOLLIN (an epoll fd). */
int api_fd(const struct api *api);

/* How long the loop may wait before calling api_run() anyway (idle
 * connection time-outs), in ms; -1 = no limit. */
int api_timeout_ms(const struct api *api);

/* Serves everything that is ready; never blocks. Returns 0 or -EIO. */
int api_run(struct api *api);

/* The socket path in use. */
const char *api_sock_path(const struct api *api);

#endif
