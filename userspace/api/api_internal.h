// SPDX-License-Identifier: Apache-2.0
/* Internal state of the REST API, shared by the userspace/api*.c files only. */
#ifndef EMBER_USERSPACE_API_INTERNAL_H
#define EMBER_USERSPACE_API_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <microhttpd.h>

#include "api.h"

/* Status codes the API counts for GET /metrics (one counter each). */
#define API_CODES_MAX 24

struct api {
	struct MHD_Daemon *mhd;
	const struct api_backend_ops *ops;
	void *ctx;
	char sock_path[108]; /* sizeof(sun_path) */
	dev_t sock_dev;	     /* identity of the socket file we made, so stop */
	ino_t sock_ino;	     /* never unlinks a successor's socket */
	int epoll_fd;
	struct {
		unsigned int code;
		uint64_t n;
	} codes[API_CODES_MAX];
};

/* One HTTP request while its body arrives (MHD's per-connection pointer). */
struct api_req {
	char *body;
	size_t len, cap;
	bool too_big; /* the body passed API_BODY_MAX: discarded, answered 413 */
};

/* api_sock.c: creates, binds (mode 0660) and listens on (path), replacing a
 * stale socket file. Returns the fd or -errno with (err) filled. */
int api_sock_listen(const char *path, gid_t gid, struct stat *st, char *err, size_t errlen);
/* Unlinks (path) if it is still the file (st) describes. */
void api_sock_unlink(const char *path, const struct stat *st);

/* api_routes.c: routes a complete request and queues the answer. */
enum MHD_Result api_dispatch(struct api *api, struct MHD_Connection *conn, const char *url,
			     const char *method, struct api_req *req);

/* api_images.c: a POST /v1/images body, an import (import set, pull.ref
 * NULL) or a pull; the strings point into the JSON it came from. */
struct api_image_post {
	const char *import, *name;
	struct api_image_pull pull; /* pull.name is (name) */
};
/* Checks body (j) into (p): 0, or -1 with (rep) a 400 naming the field. */
int api_image_post_check(json_t *j, struct api_image_post *p, struct api_reply *rep);

/* api.c: queue (rep) as the answer (JSON, text or error) and count it. */
enum MHD_Result api_respond(struct api *api, struct MHD_Connection *conn, struct api_reply *rep);
/* Error answer (field may be NULL); (allow) adds an Allow header (405). */
enum MHD_Result api_respond_error(struct api *api, struct MHD_Connection *conn, int status,
				  const char *field, const char *allow, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* The API's own Prometheus lines, appended to (rep)'s text. */
int api_metrics_append(const struct api *api, struct api_reply *rep);

#endif
