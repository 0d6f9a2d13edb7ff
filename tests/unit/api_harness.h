// SPDX-License-Identifier: Apache-2.0
/* Harness of test_api: a registry-backed fake backend, the server thread, a libcurl client. */
#ifndef EMBER_TESTS_API_HARNESS_H
#define EMBER_TESTS_API_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"
#include "api/app_registry.h"

/* The fake backend: every op implemented on (reg) (the image posts answer
 * what they were given), except health (the API's default answer). Only
 * the server thread touches (reg). */
extern struct app_registry *reg;
extern const struct api_backend_ops fake_ops;

/* A server: the API plus a thread running the loop emberd will run. */
struct server {
	struct api *api;
	pthread_t thread;
	int stop_fd; /* eventfd: stops the loop */
	char dir[64], path[128];
};

/* The main server, on (srv.dir)/api.sock, started by api_setup(). */
extern struct server srv;

/* Starts (s) with (ops) on socket (name) inside srv.dir. 0 or -errno. */
int start_server(struct server *s, const struct api_backend_ops *ops, const char *name);
void stop_server(struct server *s);

/* cmocka group setup/teardown: temp dir, curl, registry, srv. */
int api_setup(void **state);
int api_teardown(void **state);

/* One HTTP answer. (json) is the parsed body when it is application/json. */
struct resp {
	long status;
	char body[256 * 1024];
	size_t len;
	char allow[64];
	char type[64];
	json_t *json;
};

/* (method) (path) with (body) ((body_len) bytes, NULL = none; chunked:
 * Transfer-Encoding: chunked) over (sock); fails the test if curl fails.
 * (r) must be zeroed or hold a previous answer (its JSON is freed). */
void http_on(const char *sock, struct resp *r, const char *method, const char *path,
	     const char *body, size_t body_len, bool chunked);

/* The last answer of http(). */
extern struct resp R;

/* http_on() the main server with a NUL-terminated (body); returns &R. */
struct resp *http(const char *method, const char *path, const char *body);

/* (j).(key) as a string, "(none)" if absent. */
const char *jstr(const json_t *j, const char *key);

/* Asserts an error answer: (status), a JSON body whose "error" contains
 * (msg) and whose "field" is (field) (NULL: no "field" member). */
void expect_error(const struct resp *r, long status, const char *field, const char *msg);

#endif
