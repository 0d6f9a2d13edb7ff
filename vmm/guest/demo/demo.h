/* SPDX-License-Identifier: Apache-2.0 */
/* ember-demo internals: HTTP parsing/formatting, connections, the server state. */
#ifndef EMBER_DEMO_H
#define EMBER_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_IN_MAX  4096 /* a request head larger than this gets 400 */
#define DEMO_OUT_MAX 8192

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

struct http_req {
	enum http_method method;
	const char *path; /* into the caller's buffer, not NUL terminated */
	size_t path_len;  /* up to '?' */
	bool keep_alive;
	uint64_t body_len; /* Content-Length, skipped unread */
};

/*
 * http_parse() - parse the request head at the start of @buf (@len bytes).
 * Returns the head's length (through the blank line) when complete, 0 if
 * more bytes are needed, -1 if it is malformed or uses Transfer-Encoding.
 */
int http_parse(const char *buf, size_t len, struct http_req *req);

/*
 * http_format() - one response into @out (@cap bytes): status line,
 * Content-Type, Content-Length, Connection, then @body unless @head.
 * Returns its length, or 0 if it does not fit.
 */
size_t http_format(char *out, size_t cap, int status, bool keep_alive, bool head, const char *body,
		   size_t body_len);

/* The server, shared by the connections. */
struct demo {
	int epfd;
	uint64_t requests;   /* answered so far */
	uint64_t exit_after; /* 0: run forever */
	char hostname[65];
	char boot_id[40];
};

/* Kinds of epoll data; every registered object starts with one. */
enum handle_kind { H_LISTEN, H_CONN, H_SIGNAL };
struct handle {
	enum handle_kind kind;
	int fd;
};

/* conn_accept() - accept every pending connection on @lfd into epoll. */
void conn_accept(struct demo *d, int lfd);
/* conn_event() - handle epoll @events on the connection @h. */
void conn_event(struct demo *d, struct handle *h, uint32_t events);

/* route() - the response body for @req; returns the HTTP status. */
int route(struct demo *d, const struct http_req *req, char *body, size_t cap, size_t *len);

#endif
