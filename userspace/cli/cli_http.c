/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's HTTP client: one libcurl request over emberd's Unix socket, error mapping. */
#include "cli_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <curl/curl.h>
#include <jansson.h>

/* Collects the body; refuses (ends the transfer) past CLI_RESP_MAX. */
static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct cli_resp *r = ud;
	size_t len = sz * n;
	char *nb;

	if (r->len + len > CLI_RESP_MAX)
		return 0;
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, p, len);
	r->body = nb;
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct cli_resp *r = ud;

	if (sz * n > 14 && !strncasecmp(p, "Content-Type: ", 14))
		sscanf(p + 14, "%63[^\r\n]", r->type);
	return sz * n;
}

/* Why no answer came, as a sentence in (err). */
static void transport_error(CURL *c, CURLcode rc, const char *sock, const char *curl_err, char *err,
			    size_t errlen)
{
	long os_errno = 0;
	const char *why;

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	why = os_errno ? strerror((int)os_errno) : curl_err[0] ? curl_err : curl_easy_strerror(rc);
	if (rc == CURLE_COULDNT_CONNECT)
		snprintf(err, errlen, "cannot reach emberd at %s: %s (%s)", sock, why,
			 os_errno == EACCES ? "the socket is for root and its group"
					    : "is emberd running?");
	else
		snprintf(err, errlen, "emberd at %s: %s", sock,
			 curl_err[0] ? curl_err : curl_easy_strerror(rc));
}

/* The options of one request; the answer goes to (r). */
static void setup(CURL *c, const char *sock, const char *method, const char *url,
		  struct cli_resp *r, char *curl_err)
{
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	/* No signals from libcurl (no DNS here anyway); a CLI may be in a pipe. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	/* emberd answers at once (long work answers 202): a minute means it hangs. */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
}

int cli_http(const char *sock, const char *method, const char *path, const char *body,
	     size_t body_len, struct cli_resp *r, char *err, size_t errlen)
{
	char url[4096], curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL;
	CURLcode rc;
	CURL *c;

	memset(r, 0, sizeof(*r));
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen,
			 "cannot reach emberd at %s: socket path longer than %zu bytes", sock,
			 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot start libcurl");
		return -1;
	}
	/* The host part is ignored on a Unix socket; localhost is conventional. */
	snprintf(url, sizeof(url), "http://localhost%s", path);
	setup(c, sock, method, url, r, curl_err);
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		/* Without this, curl waits up to 1 s for "100 Continue" on large bodies. */
		hdr = curl_slist_append(hdr, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (!r->body)
			r->body = calloc(1, 1);
	}
	if (rc != CURLE_OK || !r->body) {
		if (rc == CURLE_OK)
			snprintf(err, errlen, "out of memory");
		else
			transport_error(c, rc, sock, curl_err, err, errlen);
		cli_resp_free(r);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return r->body ? 0 : -1;
}

void cli_resp_free(struct cli_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

int cli_resp_ok(const struct cli_resp *r)
{
	return r->status >= 200 && r->status < 300;
}

void cli_http_errmsg(const char *method, const char *path, const struct cli_resp *r, char *buf,
		     size_t len)
{
	json_t *j = r->body ? json_loads(r->body, JSON_DECODE_ANY, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "error"));
	int line = -1;

	if (!msg && r->body && r->len) {
		msg = r->body;
		line = (int)strcspn(r->body, "\r\n");
	}
	if (!msg)
		snprintf(buf, len, "%s %s: %ld: (no body)", method, path, r->status);
	else if (line >= 0)
		snprintf(buf, len, "%s %s: %ld: %.*s", method, path, r->status, line, msg);
	else
		snprintf(buf, len, "%s %s: %ld: %s", method, path, r->status, msg);
	json_decref(j);
}

void cli_url_escape(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(buf);

	for (; *s && n + 4 <= len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			buf[n++] = (char)ch;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[ch >> 4];
			buf[n++] = hex[ch & 15];
		}
	}
	buf[n < len ? n : len - 1] = '\0';
}
