/* SPDX-License-Identifier: Apache-2.0 */
/* The registry client's one HTTP exchange over libcurl: bounded bodies, errors as sentences. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "registry.h"

/* An error body is kept up to this: the error JSON, not a whole HTML page. */
#define REG_ERRBODY_MAX (16u << 10)

int reg_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Everything one answer fills: each request starts clean, and so does each status line. */
static void xfer_reset(struct reg_xfer *x)
{
	x->status = 0;
	x->len = x->err_len = 0;
	x->done = x->total = 0;
	x->type[0] = x->digest[0] = '\0';
	free(x->challenge);
	x->challenge = NULL;
}

void reg_xfer_done(struct reg_xfer *x)
{
	xfer_reset(x);
	free(x->buf);
	free(x->err);
	x->buf = x->err = NULL;
}

/* Whether (n) body bytes are more than (x) may take; if so stops it with the reason. */
static int too_big(struct reg_xfer *x, uint64_t n)
{
	if (x->sink && x->expected >= 0 && n > (uint64_t)x->expected)
		x->rc = img_fail(x->e, -EFBIG,
				 "blob %s from %s is larger than the expected %" PRId64 " bytes",
				 x->what, x->host, x->expected);
	else if (!x->sink && n > x->max)
		x->rc = img_fail(x->e, -EFBIG,
				 "the answer for %s from %s is over the %zu-byte limit", x->what,
				 x->host, x->max);
	return x->rc;
}

/* Appends (len) bytes to the answer text at (*buf), NUL-terminated; -ENOMEM. */
static int append(char **buf, size_t *n, const char *p, size_t len)
{
	char *nb = realloc(*buf, *n + len + 1);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + *n, p, len);
	*n += len;
	nb[*n] = '\0';
	*buf = nb;
	return 0;
}

static void add_challenge(struct reg_xfer *x, const char *v)
{
	char *all = NULL;

	if (!x->challenge) {
		x->challenge = strdup(v);
		return;
	}
	/* Several WWW-Authenticate headers are one list (RFC 9110 5.3). */
	if (asprintf(&all, "%s, %s", x->challenge, v) < 0)
		return;
	free(x->challenge);
	x->challenge = all;
}

/* Header values kept: the media type without parameters, the digest, the challenges. */
static void on_header_value(struct reg_xfer *x, const char *name, const char *v)
{
	size_t n = strcspn(v, "; \t");

	if (!strcasecmp(name, "Content-Type") && n < sizeof(x->type))
		snprintf(x->type, sizeof(x->type), "%.*s", (int)n, v);
	else if (!strcasecmp(name, "Docker-Content-Digest") && strlen(v) < sizeof(x->digest))
		strcpy(x->digest, v);
	else if (!strcasecmp(name, "WWW-Authenticate"))
		add_challenge(x, v);
	else if (!strcasecmp(name, "Content-Length") && x->status / 100 == 2) {
		x->total = strtoull(v, NULL, 10);
		too_big(x, x->total);
	}
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct reg_xfer *x = ud;
	size_t len = sz * n, end;
	char line[4096], *v;

	x->last_ms = now_ms();
	/* None of the headers read here is this long; a line with control characters is junk. */
	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (!strncmp(line, "HTTP/", 5)) {
		xfer_reset(x);
		x->status = strtol(line + strcspn(line, " "), NULL, 10);
		return len;
	}
	v = strchr(line, ':');
	if (!v || !reg_printable(line))
		return len;
	*v++ = '\0';
	v += strspn(v, " \t");
	for (end = strlen(v); end && (v[end - 1] == ' ' || v[end - 1] == '\t'); end--)
		v[end - 1] = '\0';
	on_header_value(x, line, v);
	return x->rc ? 0 : len;
}

/* Hands (p, len) to the sink; a sink that failed without a reason gets strerror's. */
static int to_sink(struct reg_xfer *x, const char *p, size_t len)
{
	int rc;

	if (x->e)
		x->e->msg[0] = '\0';
	rc = x->sink(x->ctx, p, len);
	if (!rc)
		return 0;
	x->rc = rc < 0 ? rc : -EIO;
	if (x->e && !x->e->msg[0])
		img_fail(x->e, x->rc, "storing %s: %s", x->what, strerror(-x->rc));
	return x->rc;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct reg_xfer *x = ud;
	size_t len = sz * n;

	x->last_ms = now_ms();
	/* Another answer's body is only read for its error JSON: the start is enough. */
	if (x->status / 100 != 2)
		return x->err_len < REG_ERRBODY_MAX && !append(&x->err, &x->err_len, p, len) ? len
											     : 0;
	if (too_big(x, x->done + len))
		return 0;
	if (x->sink && to_sink(x, p, len))
		return 0;
	if (!x->sink && append(&x->buf, &x->len, p, len)) {
		x->rc = img_fail(x->e, -ENOMEM, "out of memory reading %s", x->what);
		return 0;
	}
	x->done += len;
	/* A slow sink (a disk) is not a silent registry. */
	x->last_ms = now_ms();
	if (x->progress)
		x->progress(x->ctx, x->done, x->expected >= 0 ? (uint64_t)x->expected : x->total);
	return len;
}

/* Connected, the request about to go: from now on, silence is a stall. */
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port)
{
	struct reg_xfer *x = ud;

	(void)ip, (void)local_ip, (void)port, (void)local_port;
	x->last_ms = now_ms();
	return CURL_PREREQFUNC_OK;
}

/* Called at least once a second, data or not: fails a transfer silent for the stall timeout. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct reg_xfer *x = ud;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (!x->last_ms || now_ms() - x->last_ms < x->stall_s * 1000ull)
		return 0;
	x->rc = img_fail(x->e, -ETIMEDOUT, "no data from %s for %u s while fetching %s: timed out",
			 x->host, x->stall_s, x->what);
	return 1;
}

static void setup(struct registry *reg, const char *url, struct curl_slist *hdr, struct reg_xfer *x)
{
	CURL *c = reg->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, reg->agent);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reg->errbuf);
	/* Library code in a daemon: no SIGALRM around name lookups. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)reg->connect_s);
	/*
	 * A blob may take an hour; what fails is a connection that sends
	 * nothing. libcurl's low-speed check averages over the last 5 s, so
	 * after a burst it fires seconds late: on_progress() keeps the exact
	 * clock, the check stays as the backstop.
	 */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)reg->stall_s);
	curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(c, CURLOPT_PREREQDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

/* Why (rc) left no answer, in (e): the host, the object, the cause. */
static int transport_error(struct registry *reg, CURLcode rc, const struct reg_xfer *x,
			   struct img_err *e)
{
	const char *why = reg->errbuf[0] ? reg->errbuf : curl_easy_strerror(rc);
	curl_off_t connected = 0;
	long os = 0;

	curl_easy_getinfo(reg->curl, CURLINFO_OS_ERRNO, &os);
	curl_easy_getinfo(reg->curl, CURLINFO_CONNECT_TIME_T, &connected);
	if (rc == CURLE_OPERATION_TIMEDOUT && (connected || x->status))
		return img_fail(e, -ETIMEDOUT,
				"no data from %s for %u s while fetching %s: timed out", x->host,
				reg->stall_s, x->what);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return img_fail(e, -ETIMEDOUT, "cannot connect to %s while fetching %s: timed out",
				x->host, x->what);
	if (rc == CURLE_COULDNT_RESOLVE_HOST)
		return img_fail(e, -EHOSTUNREACH, "cannot resolve %s while fetching %s: %s",
				x->host, x->what, why);
	if (rc == CURLE_COULDNT_CONNECT)
		return img_fail(e, os ? -(int)os : -ECONNREFUSED,
				"cannot connect to %s while fetching %s: %s", x->host, x->what,
				os ? strerror((int)os) : why);
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR)
		return img_fail(e, -EPROTO, "TLS with %s failed while fetching %s: %s", x->host,
				x->what, why);
	return img_fail(e, os ? -(int)os : -EIO, "transfer from %s failed while fetching %s: %s",
			x->host, x->what, why);
}

int reg_perform(struct registry *reg, const char *url, const char *auth, struct reg_xfer *x,
		struct img_err *e)
{
	struct curl_slist *hdr = NULL, *h = NULL;
	char accept[512];
	CURLcode rc;

	xfer_reset(x);
	x->rc = 0;
	x->e = e;
	x->last_ms = 0;
	x->stall_s = reg->stall_s;
	reg->errbuf[0] = '\0';
	if (reg_url_host(url, x->host, sizeof(x->host)))
		return img_fail(e, -EPROTO, "invalid URL '%.300s' for %s", url, x->what);
	snprintf(accept, sizeof(accept), "Accept: %s", x->accept ? x->accept : "*/*");
	hdr = curl_slist_append(NULL, accept);
	if (hdr && auth)
		h = curl_slist_append(hdr, auth);
	if (!hdr || (auth && !h)) {
		curl_slist_free_all(hdr);
		return img_fail(e, -ENOMEM, "out of memory fetching %s", x->what);
	}
	setup(reg, url, hdr, x);
	rc = curl_easy_perform(reg->curl);
	curl_easy_setopt(reg->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (x->rc)
		return x->rc;
	curl_easy_getinfo(reg->curl, CURLINFO_RESPONSE_CODE, &x->status);
	/* on_body() stops reading an error body past REG_ERRBODY_MAX: still an answer. */
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && x->status && x->status / 100 != 2))
		return 0;
	return transport_error(reg, rc, x, e);
}

static int status_errno(long status)
{
	if (status == 401 || status == 403)
		return -EACCES;
	if (status == 404)
		return -ENOENT;
	if (status == 429)
		return -EAGAIN;
	return status >= 500 ? -EIO : -EPROTO;
}

/* The error line is one line, whatever the registry put in its message. */
static void one_line(struct img_err *e)
{
	char *p;

	for (p = e ? e->msg : NULL; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

int reg_status_error(const char *who, const struct reg_xfer *x, struct img_err *e)
{
	json_t *j = x->err_len ? json_loadb(x->err, x->err_len, 0, NULL) : NULL;
	json_t *first = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "code"));
	const char *msg = json_string_value(json_object_get(first, "message"));
	int rc = status_errno(x->status);

	/* Token services answer {"details": ...} (Docker) or OAuth's error_description. */
	if (!msg)
		msg = json_string_value(json_object_get(j, "details"));
	if (!msg)
		msg = json_string_value(json_object_get(j, "error_description"));
	if (!j && x->err_len)
		img_fail(e, rc, "%s answered %ld for %s: %.200s", who, x->status, x->what, x->err);
	else
		img_fail(e, rc, "%s answered %ld%s%s for %s%s%s", who, x->status, code ? " " : "",
			 code ? code : "", x->what, msg ? ": " : "", msg ? msg : "");
	json_decref(j);
	one_line(e);
	return rc;
}
