/* SPDX-License-Identifier: Apache-2.0 */
/* The registry client's trust: where plain HTTP and credentials may go, challenges, tokens. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "registry.h"

/* A token answer: a JWT of a few KiB in a little JSON; more is not a token service. */
#define REG_TOKEN_MAX (1u << 20)

/* A URL cut up by libcurl's own parser, so that what we check is what it connects to. */
struct url_parts {
	char scheme[16];
	char host[256]; /* "[::1]" keeps its brackets */
	char port[8];	/* the default one when the URL has none */
	int port_given;
};

/* Plain HTTP stays on the machine: "localhost", 127.0.0.0/8, ::1 (bracketed or not). */
int reg_is_loopback(const char *name)
{
	size_t n = strlen(name);
	struct in6_addr a6;
	struct in_addr a4;
	char buf[64];

	if (!strcasecmp(name, "localhost"))
		return 1;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n >= 2 && name[0] == '[' && name[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, name + 1, n - 2);
		buf[n - 2] = '\0';
		name = buf;
	}
	return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int url_split(const char *url, struct url_parts *p)
{
	char *s = NULL, *h = NULL, *port = NULL, *given = NULL;
	CURLU *u = curl_url();
	int rc = -EINVAL;

	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &s, 0) && !curl_url_get(u, CURLUPART_HOST, &h, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) &&
	    strlen(s) < sizeof(p->scheme) && strlen(h) < sizeof(p->host) &&
	    strlen(port) < sizeof(p->port)) {
		p->port_given = !curl_url_get(u, CURLUPART_PORT, &given, 0);
		strcpy(p->scheme, s);
		strcpy(p->host, h);
		strcpy(p->port, port);
		rc = 0;
	}
	curl_free(s);
	curl_free(h);
	curl_free(port);
	curl_free(given);
	curl_url_cleanup(u);
	return rc;
}

/* Credentials go only where they were meant: same scheme, host and port. */
int reg_same_origin(const char *a, const char *b)
{
	struct url_parts pa, pb;

	return !url_split(a, &pa) && !url_split(b, &pb) && !strcasecmp(pa.scheme, pb.scheme) &&
	       !strcasecmp(pa.host, pb.host) && !strcmp(pa.port, pb.port);
}

int reg_url_host(const char *url, char *buf, size_t len)
{
	struct url_parts u;

	if (url_split(url, &u))
		return -EINVAL;
	snprintf(buf, len, "%s%s%s", u.host, u.port_given ? ":" : "", u.port_given ? u.port : "");
	return 0;
}

int reg_url_allowed(const char *url, const char *what, struct img_err *e)
{
	struct url_parts u;

	if (url_split(url, &u) || (strcasecmp(u.scheme, "https") && strcasecmp(u.scheme, "http")))
		return img_fail(e, -EPROTO, "refusing %s '%.300s': not an HTTP(S) URL", what, url);
	if (!strcasecmp(u.scheme, "http") && !reg_is_loopback(u.host))
		return img_fail(e, -EPERM,
				"refusing %s to %.300s: plain HTTP is allowed only to localhost, "
				"127.0.0.0/8 and [::1]",
				what, url);
	return 0;
}

/* RFC 9110 tchar: the characters of a scheme, a parameter name or an unquoted value. */
static int is_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p)
{
	return p + strspn(p, " \t");
}

/* Reads a token at (*p) into (buf). Returns its length (0: none there), -1 if it does not fit. */
static int read_token(const char **p, char *buf, size_t len)
{
	size_t n = 0;

	while (is_tchar((unsigned char)(*p)[n]))
		n++;
	if (n >= len)
		return -1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n;
	return (int)n;
}

/* Reads the quoted-string at (*p) (on its quote), unescaped, into (buf). Returns 0 or -1. */
static int read_quoted(const char **p, char *buf, size_t len)
{
	const char *s = *p + 1;
	size_t n = 0;

	for (; *s != '"'; s++) {
		if (*s == '\\')
			s++;
		if (!*s || ((unsigned char)*s < 0x20 && *s != '\t') || n + 1 >= len)
			return -1;
		buf[n++] = *s;
	}
	buf[n] = '\0';
	*p = s + 1;
	return 0;
}

/* The field of (c) that parameter (name) fills, or NULL to skip it. */
static char *param_field(struct reg_challenge *c, const char *name, size_t *len)
{
	if (!strcasecmp(name, "realm"))
		return *len = sizeof(c->realm), c->realm;
	if (!strcasecmp(name, "service"))
		return *len = sizeof(c->service), c->service;
	if (!strcasecmp(name, "scope"))
		return *len = sizeof(c->scope), c->scope;
	return NULL;
}

/*
 * Reads one auth-param "name = value" at (*p) into (c). Returns 1, 0 when
 * (*p) is no parameter but the next challenge's scheme, -1 if malformed.
 */
static int read_param(const char **p, struct reg_challenge *c)
{
	char name[64], value[sizeof(c->realm)], *dst;
	const char *s = *p;
	size_t len;
	int r;

	if (read_token(&s, name, sizeof(name)) <= 0)
		return -1;
	s = skip_ows(s);
	if (*s != '=')
		return 0;
	s = skip_ows(s + 1);
	if (*s == '"')
		r = read_quoted(&s, value, sizeof(value));
	else
		r = read_token(&s, value, sizeof(value)) > 0 ? 0 : -1;
	if (r)
		return -1;
	dst = param_field(c, name, &len);
	if (dst && strlen(value) >= len)
		return -1;
	if (dst)
		strcpy(dst, value);
	*p = s;
	return 1;
}

/* Reads the parameters after a scheme, up to the next challenge. Returns 0 or -EPROTO. */
static int read_params(const char **p, struct reg_challenge *c)
{
	const char *s = skip_ows(*p), *at;
	int r;

	/* A comma right after the scheme: a challenge without parameters. */
	while (*s && *s != ',') {
		at = s;
		r = read_param(&s, c);
		if (r < 0)
			return -EPROTO;
		if (!r) {
			s = at;
			break;
		}
		s = skip_ows(s);
		if (*s && *s != ',')
			return -EPROTO;
		s += strspn(s, ", \t");
	}
	*p = s;
	return 0;
}

int reg_parse_challenge(const char *hdr, struct reg_challenge *c)
{
	const char *p = hdr;

	for (;;) {
		memset(c, 0, sizeof(*c));
		p += strspn(p, ", \t");
		if (!*p)
			return -ENOTSUP;
		if (read_token(&p, c->scheme, sizeof(c->scheme)) <= 0 ||
		    (*p && !strchr(" \t,", *p)))
			return -EPROTO;
		if (read_params(&p, c))
			return -EPROTO;
		if (!strcasecmp(c->scheme, "Bearer") || !strcasecmp(c->scheme, "Basic"))
			return 0;
	}
}

/* Base64 (RFC 4648, padded) of (in, n) into (out), which holds 4 * ((n + 2) / 3) + 1 bytes. */
static void base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v;
	size_t i;

	for (i = 0; i < n; i += 3, out += 4) {
		v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? in[i + 2] : 0);
		out[0] = tab[v >> 18 & 63];
		out[1] = tab[v >> 12 & 63];
		out[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[3] = i + 2 < n ? tab[v & 63] : '=';
	}
	*out = '\0';
}

int reg_auth_init(struct registry *reg, const char *user, const char *pass)
{
	static const char pre[] = "Authorization: Basic ";
	char *plain = NULL;
	size_t n;

	if (!user)
		return 0;
	if (asprintf(&plain, "%s:%s", user, pass) < 0)
		return -ENOMEM;
	n = strlen(plain);
	reg->cred_header = malloc(sizeof(pre) + 4 * ((n + 2) / 3));
	if (reg->cred_header) {
		memcpy(reg->cred_header, pre, sizeof(pre) - 1);
		base64((const unsigned char *)plain, n, reg->cred_header + sizeof(pre) - 1);
	}
	/* A password should not outlive its use in freed heap. */
	explicit_bzero(plain, n);
	free(plain);
	return reg->cred_header ? 0 : -ENOMEM;
}

void reg_auth_free(struct registry *reg)
{
	struct reg_token *t;

	while ((t = reg->tokens)) {
		reg->tokens = t->next;
		explicit_bzero(t->header, strlen(t->header));
		free(t->header);
		free(t->scope);
		free(t);
	}
	if (reg->cred_header)
		explicit_bzero(reg->cred_header, strlen(reg->cred_header));
	free(reg->cred_header);
	reg->cred_header = NULL;
}

/* The scope a pull of (repo) needs, the key of the token cache. */
static void repo_scope(const char *repo, char *buf, size_t len)
{
	snprintf(buf, len, "repository:%s:pull", repo);
}

const char *reg_auth_header(struct registry *reg, const char *repo)
{
	struct reg_token *t;
	char scope[320];

	if (reg->basic)
		return reg->cred_header;
	repo_scope(repo, scope, sizeof(scope));
	for (t = reg->tokens; t; t = t->next)
		if (!strcmp(t->scope, scope))
			return t->header;
	return NULL;
}

/* Keeps (header) (taken over) for (scope), in place of an expired token for it. */
static int cache_token(struct registry *reg, const char *scope, char *header)
{
	struct reg_token *t;

	for (t = reg->tokens; t; t = t->next) {
		if (strcmp(t->scope, scope))
			continue;
		explicit_bzero(t->header, strlen(t->header));
		free(t->header);
		t->header = header;
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->scope = strdup(scope))) {
		free(t);
		free(header);
		return -ENOMEM;
	}
	t->header = header;
	t->next = reg->tokens;
	reg->tokens = t;
	return 0;
}

/* realm?service=...&scope=..., escaped, malloc'd; NULL without memory. */
static char *token_url(CURL *c, const struct reg_challenge *ch, const char *scope)
{
	char *svc = curl_easy_escape(c, ch->service, 0), *sc = curl_easy_escape(c, scope, 0);
	char sep = strchr(ch->realm, '?') ? '&' : '?', *url = NULL;
	int n = -1;

	if (svc && sc && ch->service[0])
		n = asprintf(&url, "%s%cservice=%s&scope=%s", ch->realm, sep, svc, sc);
	else if (svc && sc)
		n = asprintf(&url, "%s%cscope=%s", ch->realm, sep, sc);
	curl_free(svc);
	curl_free(sc);
	return n < 0 ? NULL : url;
}

/* A token goes into a header line: only visible ASCII can be sent. */
static int visible(const char *t)
{
	for (; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			return 0;
	return 1;
}

/* Takes the token out of answer (x) into an Authorization header line at (*out). */
static int parse_token(const struct reg_xfer *x, const char *who, char **out, struct img_err *e)
{
	json_error_t je;
	json_t *j = json_loadb(x->buf ? x->buf : "", x->len, 0, &je);
	const char *t = json_string_value(json_object_get(j, "token"));
	int rc = 0;

	if (!t || !*t)
		t = json_string_value(json_object_get(j, "access_token"));
	if (!j)
		rc = img_fail(e, -EPROTO, "%s answered malformed JSON for %s: %s", who, x->what,
			      je.text);
	else if (!t || !*t || !visible(t))
		rc = img_fail(e, -EPROTO, "%s answered no usable token for %s", who, x->what);
	else if (asprintf(out, "Authorization: Bearer %s", t) < 0)
		rc = img_fail(e, -ENOMEM, "out of memory");
	json_decref(j);
	return rc;
}

/*
 * Gets a Bearer token for (repo) from the realm of challenge (c): with the
 * Basic credentials if there are any (Docker Hub's realm is another host,
 * auth.docker.io: that is where they are meant to go), else anonymously.
 */
static int bearer(struct registry *reg, const char *repo, const struct reg_challenge *c,
		  struct img_err *e)
{
	struct reg_xfer x = {.what = repo, .max = REG_TOKEN_MAX, .expected = -1};
	char scope[320], who[320], *url, *header = NULL;
	int rc;

	if (!c->realm[0])
		return img_fail(e, -EPROTO, "registry %s sent a Bearer challenge without a realm",
				reg->host);
	rc = reg_url_allowed(c->realm, "the token realm", e);
	if (rc)
		return rc;
	repo_scope(repo, scope, sizeof(scope));
	url = token_url(reg->curl, c, c->scope[0] ? c->scope : scope);
	if (!url)
		return img_fail(e, -ENOMEM, "out of memory");
	rc = reg_perform(reg, url, reg->cred_header, &x, e);
	snprintf(who, sizeof(who), "token service %s", x.host);
	if (!rc && x.status / 100 != 2)
		rc = reg_status_error(who, &x, e);
	if (!rc)
		rc = parse_token(&x, who, &header, e);
	if (!rc && cache_token(reg, scope, header))
		rc = img_fail(e, -ENOMEM, "out of memory");
	reg_xfer_done(&x);
	free(url);
	return rc;
}

int reg_authenticate(struct registry *reg, const char *repo, const char *hdr, struct img_err *e)
{
	struct reg_challenge c;
	int rc;

	if (!hdr)
		return img_fail(e, -EPROTO,
				"registry %s answered 401 without a WWW-Authenticate challenge",
				reg->host);
	rc = reg_parse_challenge(hdr, &c);
	if (rc == -ENOTSUP)
		return img_fail(e, rc,
				"registry %s asks for an authentication other than Basic "
				"or Bearer: %.200s",
				reg->host, hdr);
	if (rc)
		return img_fail(e, rc,
				"registry %s sent a malformed WWW-Authenticate challenge: %.200s",
				reg->host, hdr);
	if (strcasecmp(c.scheme, "Basic"))
		return bearer(reg, repo, &c, e);
	if (!reg->cred_header)
		return img_fail(e, -EACCES,
				"registry %s answered 401: it requires authentication: give a user "
				"and password",
				reg->host);
	reg->basic = 1;
	return 0;
}
