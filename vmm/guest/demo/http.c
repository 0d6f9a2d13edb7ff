/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal HTTP/1.x: parse a request head, format a response (pure functions). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "demo.h"

struct line {
	const char *p;
	size_t len;
};

/* Split off the next CRLF-terminated line of [*p, end). */
static bool next_line(const char **p, const char *end, struct line *l)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl || nl == *p || nl[-1] != '\r')
		return false;
	l->p = *p;
	l->len = (size_t)(nl - 1 - *p);
	*p = nl + 1;
	return true;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "METHOD SP /target SP HTTP/1.x" */
static int parse_request_line(const struct line *l, struct http_req *req)
{
	const char *p = l->p, *end = l->p + l->len, *m = p, *t;

	while (p < end && is_tchar(*p))
		p++;
	if (p == m || p == end || *p != ' ')
		return -1;
	if (p - m == 3 && !memcmp(m, "GET", 3))
		req->method = HTTP_GET;
	else if (p - m == 4 && !memcmp(m, "HEAD", 4))
		req->method = HTTP_HEAD;
	else
		req->method = HTTP_OTHER;
	t = ++p;
	while (p<end && * p> ' ' && *p < 0x7f)
		p++;
	if (p == t || *t != '/' || end - p != 9 || memcmp(p, " HTTP/1.", 8))
		return -1;
	if (p[8] != '0' && p[8] != '1')
		return -1;
	req->path = t;
	m = memchr(t, '?', (size_t)(p - t));
	req->path_len = (size_t)((m ? m : p) - t);
	req->keep_alive = p[8] == '1';
	return 0;
}

/* Does the comma-separated header value @v contain the token @tok? */
static bool has_token(const char *v, size_t len, const char *tok)
{
	size_t n = strlen(tok);

	for (size_t i = 0; i + n <= len; i++)
		if (!strncasecmp(v + i, tok, n) && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
		    (i + n == len || v[i + n] == ' ' || v[i + n] == ','))
			return true;
	return false;
}

static int parse_header(const struct line *l, struct http_req *req)
{
	const char *colon = memchr(l->p, ':', l->len), *v, *end = l->p + l->len;
	size_t nlen;

	if (!colon || colon == l->p)
		return -1;
	for (const char *c = l->p; c < colon; c++)
		if (!is_tchar(*c))
			return -1;
	nlen = (size_t)(colon - l->p);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	if (nlen == 10 && !strncasecmp(l->p, "connection", 10)) {
		if (has_token(v, (size_t)(end - v), "close"))
			req->keep_alive = false;
		else if (has_token(v, (size_t)(end - v), "keep-alive"))
			req->keep_alive = true;
	} else if (nlen == 14 && !strncasecmp(l->p, "content-length", 14)) {
		uint64_t n = 0;

		if (v == end)
			return -1;
		for (; v < end && *v != ' '; v++) {
			if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (uint64_t)(*v - '0');
		}
		req->body_len = n;
	} else if (nlen == 17 && !strncasecmp(l->p, "transfer-encoding", 17)) {
		return -1; /* chunked bodies are not worth supporting here */
	}
	return 0;
}

int http_parse(const char *buf, size_t len, struct http_req *req)
{
	const char *p = buf, *end = buf + len;
	struct line l;

	memset(req, 0, sizeof(*req));
	if (!memmem(buf, len, "\r\n\r\n", 4))
		return 0;
	if (!next_line(&p, end, &l) || parse_request_line(&l, req))
		return -1;
	for (;;) {
		if (p + 2 <= end && p[0] == '\r' && p[1] == '\n')
			return (int)(p + 2 - buf);
		if (!next_line(&p, end, &l) || parse_header(&l, req))
			return -1;
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Internal Server Error";
	}
}

size_t http_format(char *out, size_t cap, int status, bool keep_alive, bool head, const char *body,
		   size_t body_len)
{
	int n = snprintf(out, cap,
			 "HTTP/1.1 %d %s\r\nServer: ember-demo\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\nConnection: %s\r\n%s\r\n",
			 status, reason(status), body_len, keep_alive ? "keep-alive" : "close",
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");

	if (n < 0 || (size_t)n >= cap || (!head && cap - (size_t)n < body_len))
		return 0;
	if (!head) {
		memcpy(out + n, body, body_len);
		n += (int)body_len;
	}
	return (size_t)n;
}
