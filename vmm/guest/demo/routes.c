/* SPDX-License-Identifier: Apache-2.0 */
/* ember-demo's pages: identity, fresh randomness, wall-clock time. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "demo.h"

static unsigned long long clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static size_t identity(struct demo *d, char *body, size_t cap)
{
	int n = snprintf(body, cap,
			 "ember-demo hostname=%s boot_id=%s uptime_ms=%llu requests=%llu\n",
			 d->hostname, d->boot_id, clock_ns(CLOCK_BOOTTIME) / 1000000ull,
			 (unsigned long long)d->requests);

	return n < 0 ? 0 : (size_t)n;
}

/*
 * 32 bytes straight from the kernel's CRNG for every request, never from a
 * user-space generator: clones restored from one snapshot must differ here.
 */
static int random_hex(char *body, size_t cap, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	size_t i;

	if (cap < 2 * sizeof(r) + 1 || getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return 500;
	for (i = 0; i < sizeof(r); i++) {
		body[2 * i] = hex[r[i] >> 4];
		body[2 * i + 1] = hex[r[i] & 15];
	}
	body[2 * i] = '\n';
	*len = 2 * sizeof(r) + 1;
	return 200;
}

static bool path_is(const struct http_req *req, const char *p)
{
	return req->path_len == strlen(p) && !memcmp(req->path, p, req->path_len);
}

int route(struct demo *d, const struct http_req *req, char *body, size_t cap, size_t *len)
{
	int n;

	if (req->method == HTTP_OTHER) {
		n = snprintf(body, cap, "method not allowed\n");
		*len = (size_t)n;
		return 405;
	}
	if (path_is(req, "/")) {
		*len = identity(d, body, cap);
		return 200;
	}
	if (path_is(req, "/rand"))
		return random_hex(body, cap, len);
	if (path_is(req, "/time")) {
		n = snprintf(body, cap, "%llu\n", clock_ns(CLOCK_REALTIME));
		*len = (size_t)n;
		return 200;
	}
	n = snprintf(body, cap, "not found\n");
	*len = (size_t)n;
	return 404;
}
