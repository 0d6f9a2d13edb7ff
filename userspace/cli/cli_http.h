/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's HTTP client: one request to emberd's API over its Unix socket (libcurl). */
#ifndef EMBER_USERSPACE_CLI_HTTP_H
#define EMBER_USERSPACE_CLI_HTTP_H

#include <stddef.h>

/* One answer of emberd, whatever its status. */
struct cli_resp {
	long status;   /* HTTP status, e.g. 200, 404 */
	char *body;    /* malloc'd, NUL-terminated (also when empty) */
	size_t len;    /* bytes in (body), without the NUL */
	char type[64]; /* Content-Type, "" if none */
};

/* Largest answer kept; more is a transport error (emberd's answers are far smaller). */
#define CLI_RESP_MAX (64u << 20)

/*
 * Sends (method) (path) (path starts with '/', may carry a query) to the
 * HTTP server on the Unix socket (sock), with (body) of (body_len) bytes
 * as JSON, or no body when (body) is NULL. On any answer returns 0 with
 * (r) filled (free it with cli_resp_free()), whatever the status. When no
 * answer came returns -1 with a sentence in (err): "cannot reach emberd at
 * SOCK: <reason> (is emberd running?)" when the connection failed (no such
 * socket, refused), otherwise "emberd at SOCK: <what went wrong>".
 */
int cli_http(const char *sock, const char *method, const char *path, const char *body,
	     size_t body_len, struct cli_resp *r, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Frees (r)'s body; (r) may then be reused. */
void cli_resp_free(struct cli_resp *r);

/* True for a 2xx status. */
int cli_resp_ok(const struct cli_resp *r);

/*
 * The message of a failed answer as the CLI prints it:
 * "METHOD PATH: STATUS: MESSAGE", where MESSAGE is the "error" member of
 * the server's JSON error body (docs/api.md "Errors"), else the body's
 * first line, else "(no body)".
 */
void cli_http_errmsg(const char *method, const char *path, const struct cli_resp *r, char *buf,
		     size_t len);

/* Appends (s) to (buf) percent-encoded as one URL path segment or query
 * value (everything but A-Z a-z 0-9 - . _ ~ is escaped). Truncates. */
void cli_url_escape(char *buf, size_t len, const char *s);

#endif
