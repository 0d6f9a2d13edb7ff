// SPDX-License-Identifier: Apache-2.0
/* REST API life cycle on libmicrohttpd (external epoll), request bodies, JSON answers. */
#include "api_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API_CONN_LIMIT	 64
#define API_CONN_TIMEOUT 30 /* s */

int api_error(struct api_reply *rep, int status, const char *field, const char *fmt, ...)
{
	va_list ap;

	rep->status = status;
	snprintf(rep->field, sizeof(rep->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
	return -1;
}

int api_error_app(struct api_reply *rep, int rc, const struct app_err *err)
{
	int status = rc == -EEXIST || rc == -EADDRINUSE ? 409
		     : rc == -ENOENT			? 404
		     : rc == -EINVAL			? 400
		     : rc == -ENOSPC			? 507
							: 500;

	return api_error(rep, status, err->field, "%s", err->msg[0] ? err->msg : strerror(-rc));
}

static void count(struct api *api, unsigned int code)
{
	for (int i = 0; i < API_CODES_MAX; i++) {
		if (api->codes[i].code == code || !api->codes[i].code) {
			api->codes[i].code = code;
			api->codes[i].n++;
			return;
		}
	}
}

int api_metrics_append(const struct api *api, struct api_reply *rep)
{
	size_t cap = rep->text_len + 128 + API_CODES_MAX * 64, n = rep->text_len;
	char *s = realloc(rep->text, cap);

	if (!s)
		return -ENOMEM;
	n += snprintf(s + n, cap - n,
		      "# HELP ember_api_requests_total API requests answered, by HTTP status.\n"
		      "# TYPE ember_api_requests_total counter\n");
	for (int i = 0; i < API_CODES_MAX && api->codes[i].code; i++)
		n += snprintf(s + n, cap - n, "ember_api_requests_total{code=\"%u\"} %llu\n",
			      api->codes[i].code, (unsigned long long)api->codes[i].n);
	rep->text = s;
	rep->text_len = n;
	return 0;
}

/* The body of (rep): error object, JSON or text; malloc'd into (*out). */
static size_t reply_body(struct api_reply *rep, char **out, const char **type)
{
	json_t *j = rep->json;
	size_t n;

	*type = "application/json";
	if (rep->status >= 400) {
		j = json_pack("{s:s}", "error", rep->error);
		if (j && rep->field[0])
			json_object_set_new(j, "field", json_string(rep->field));
	} else if (rep->text) {
		*type = rep->content_type ? rep->content_type : "text/plain; charset=utf-8";
		*out = rep->text;
		rep->text = NULL;
		return rep->text_len;
	} else if (!j) {
		j = json_object();
	} else {
		json_incref(j);
	}
	*out = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!*out)
		return 0;
	/* A final newline, so a shell prompt after curl starts on its own line. */
	n = strlen(*out);
	char *s = realloc(*out, n + 2);
	if (!s)
		return n;
	s[n] = '\n';
	s[n + 1] = '\0';
	*out = s;
	return n + 1;
}

static enum MHD_Result queue(struct api *api, struct MHD_Connection *conn, int status, char *body,
			     size_t len, const char *type, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO; /* MHD closes the connection */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	count(api, (unsigned int)status);
	return ret;
}

enum MHD_Result api_respond(struct api *api, struct MHD_Connection *conn, struct api_reply *rep)
{
	const char *type;
	char *body = NULL;
	size_t len;

	if (!rep->status)
		rep->status = 200;
	len = reply_body(rep, &body, &type);
	json_decref(rep->json);
	free(rep->text);
	rep->json = NULL;
	rep->text = NULL;
	return queue(api, conn, rep->status, body, len, type, NULL);
}

enum MHD_Result api_respond_error(struct api *api, struct MHD_Connection *conn, int status,
				  const char *field, const char *allow, const char *fmt, ...)
{
	struct api_reply rep = {.status = status};
	const char *type;
	char *body = NULL;
	size_t len;
	va_list ap;

	snprintf(rep.field, sizeof(rep.field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(rep.error, sizeof(rep.error), fmt, ap);
	va_end(ap);
	len = reply_body(&rep, &body, &type);
	return queue(api, conn, status, body, len, type, allow);
}

/*
 * Oversized bodies. Answering 413 before the body is read is best for the
 * daemon, but MHD then closes the connection, and a client still writing
 * its body (curl without Expect: 100-continue) fails with a send error
 * instead of reading the 413. So a body up to API_DISCARD_MAX is read and
 * dropped, then answered 413 on an intact connection; the 413 comes at
 * once when the declared length is above that, or when the client waits
 * for 100 Continue (it then never sends the body).
 */
#define API_DISCARD_MAX (1024 * 1024)

static bool refuse_at_once(struct MHD_Connection *conn)
{
	const char *cl =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *expect =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;

	return n > API_DISCARD_MAX || (n > API_BODY_MAX && expect);
}

/* Returns false when the client sent more than API_DISCARD_MAX: hang up. */
static bool append(struct api_req *req, const char *data, size_t n)
{
	if (req->too_big || req->len + n > API_BODY_MAX) {
		/* Chunked bodies have no length up front: drop what comes and
		 * answer 413 once the request is complete. */
		req->too_big = true;
		req->len += n;
		return req->len <= API_DISCARD_MAX;
	}
	if (req->len + n + 1 > req->cap) {
		size_t cap = req->len + n + 1 > 4096 ? API_BODY_MAX + 1 : 4096;
		char *b = realloc(req->body, cap);

		if (!b)
			return false;
		req->body = b;
		req->cap = cap;
	}
	memcpy(req->body + req->len, data, n);
	req->len += n;
	req->body[req->len] = '\0';
	return true;
}

/* MHD calls this once with the headers, once per piece of body, and once
 * more when the request is complete: only then is it routed. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct api *api = cls;
	struct api_req *req = *con_cls;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		if (!refuse_at_once(conn))
			return MHD_YES;
		req->too_big = true;
	} else if (*size) {
		if (!append(req, data, *size))
			return MHD_NO; /* MHD closes the connection */
		*size = 0;
		return MHD_YES;
	}
	if (req->too_big)
		return api_respond_error(api, conn, 413, NULL, NULL,
					 "request body larger than %d bytes", API_BODY_MAX);
	return api_dispatch(api, conn, url, method, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct api_req *req = *con_cls;

	(void)cls, (void)conn, (void)why;
	if (req) {
		free(req->body);
		free(req);
	}
	*con_cls = NULL;
}

static void drop_log(void *ctx, const char *fmt, va_list ap)
{
	(void)ctx, (void)fmt, (void)ap;
}

/*
 * MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: MHD starts no
 * thread and exposes one epoll fd for emberd's loop (see api.h). Of the
 * external modes, epoll is the one whose readiness is a single fd that
 * nests into another epoll set; select/poll modes would hand over fd sets
 * to rebuild on every iteration.
 */
static int start_mhd(struct api *api, int fd, const struct api_config *cfg)
{
	unsigned int flags = MHD_USE_EPOLL | (cfg->log ? MHD_USE_ERROR_LOG : 0);
	const union MHD_DaemonInfo *info;

	api->mhd = MHD_start_daemon(
		/* The logger first: libmicrohttpd logs while it parses the rest. */
		flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER,
		cfg->log ? cfg->log : drop_log, cfg->ctx, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, api, MHD_OPTION_CONNECTION_LIMIT,
		cfg->conn_limit ? cfg->conn_limit : API_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		cfg->conn_timeout_s ? cfg->conn_timeout_s : API_CONN_TIMEOUT, MHD_OPTION_END);
	if (!api->mhd)
		return -EIO;
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		return -EIO;
	api->epoll_fd = info->epoll_fd;
	return 0;
}

int api_start(struct api **out, const struct api_config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->sock_path ? cfg->sock_path : API_SOCK_DEFAULT;
	struct stat st;
	struct api *api;
	int fd, rc;

	if (!cfg->ops) {
		snprintf(err, errlen, "api: no backend ops");
		return -EINVAL;
	}
	api = calloc(1, sizeof(*api));
	if (!api) {
		snprintf(err, errlen, "api: out of memory");
		return -ENOMEM;
	}
	api->ops = cfg->ops;
	api->ctx = cfg->ctx;
	snprintf(api->sock_path, sizeof(api->sock_path), "%s", path);
	fd = api_sock_listen(path, cfg->sock_gid, &st, err, errlen);
	if (fd < 0) {
		rc = fd;
		goto fail;
	}
	api->sock_dev = st.st_dev;
	api->sock_ino = st.st_ino;
	if ((rc = start_mhd(api, fd, cfg))) {
		snprintf(err, errlen, "libmicrohttpd refused to serve %s (external epoll mode)",
			 path);
		if (!api->mhd)
			close(fd); /* once started, MHD owns and closes it */
		goto fail_unlink;
	}
	*out = api;
	return 0;
fail_unlink:
	if (api->mhd)
		MHD_stop_daemon(api->mhd);
	api_sock_unlink(path, &st);
fail:
	free(api);
	return rc;
}

void api_stop(struct api *api)
{
	struct stat st = {.st_dev = 0};

	if (!api)
		return;
	MHD_stop_daemon(api->mhd); /* closes the listening socket too */
	st.st_dev = api->sock_dev;
	st.st_ino = api->sock_ino;
	api_sock_unlink(api->sock_path, &st);
	free(api);
}

int api_fd(const struct api *api)
{
	return api->epoll_fd;
}

int api_timeout_ms(const struct api *api)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout((struct MHD_Daemon *)api->mhd, &t) != MHD_YES)
		return -1;
	return t > INT_MAX ? INT_MAX : (int)t;
}

int api_run(struct api *api)
{
	return MHD_run(api->mhd) == MHD_YES ? 0 : -EIO;
}

const char *api_sock_path(const struct api *api)
{
	return api->sock_path;
}
