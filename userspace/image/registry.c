/* SPDX-License-Identifier: Apache-2.0 */
/* The registry client's API: hosts and options, names checked, redirects, manifests, blobs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry.h"

/* A registry redirects a blob once, to its storage; a longer chain is a loop. */
#define REG_MAX_HOPS 5

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init() is not thread-safe on every build: once, by whoever comes first. */
static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int valid_port(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n && n <= 5 && !s[n] && atoi(s) >= 1 && atoi(s) <= 65535;
}

/* Copies (host)'s name, without port or brackets, into (name). Returns 0 or -EINVAL. */
static int host_name(const char *host, char *name, size_t len)
{
	int bracket = host[0] == '[';
	const char *end = bracket ? strchr(host, ']') : host + strcspn(host, ":");
	const char *port = end ? end + bracket : NULL;
	size_t n;

	if (!end || (*port && (*port != ':' || !valid_port(port + 1))))
		return -EINVAL;
	host += bracket;
	n = (size_t)(end - host);
	if (!n || n >= len)
		return -EINVAL;
	memcpy(name, host, n);
	name[n] = '\0';
	if (bracket)
		return inet_pton(AF_INET6, name, &(struct in6_addr){0}) == 1 ? 0 : -EINVAL;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n
		       ? 0
		       : -EINVAL;
}

int registry_opts_check(const char *host, const struct registry_opts *o, struct img_err *e)
{
	static const struct registry_opts none;
	char name[256];

	o = o ? o : &none;
	host = host ? host : "";
	if (strlen(host) >= sizeof(((struct registry *)0)->host) ||
	    host_name(host, name, sizeof(name)))
		return img_fail(
			e, -EINVAL,
			"invalid registry host '%.300s': expected NAME[:PORT] or [IPV6][:PORT]",
			host);
	if (o->insecure && !reg_is_loopback(name))
		return img_fail(e, -EPERM,
				"registry %s: plain HTTP (insecure) is allowed only for localhost, "
				"127.0.0.0/8 and [::1]: elsewhere it would show credentials and "
				"images to the network",
				host);
	if (!o->username != !o->password || (o->username && strchr(o->username, ':')))
		return img_fail(e, -EINVAL,
				"registry %s: give a user (without ':') and a password, or neither",
				host);
	if (o->user_agent && !reg_printable(o->user_agent))
		return img_fail(e, -EINVAL, "registry %s: the user agent has control characters",
				host);
	return 0;
}

static int reg_setup(struct registry *reg, const char *host, const struct registry_opts *o)
{
	snprintf(reg->host, sizeof(reg->host), "%s", host);
	snprintf(reg->base, sizeof(reg->base), "%s://%s", o->insecure ? "http" : "https", host);
	reg->connect_s = o->connect_timeout_s ? o->connect_timeout_s : REGISTRY_CONNECT_TIMEOUT_S;
	reg->stall_s = o->stall_timeout_s ? o->stall_timeout_s : REGISTRY_STALL_TIMEOUT_S;
	reg->manifest_max = o->manifest_max ? o->manifest_max : REGISTRY_MANIFEST_MAX;
	reg->agent = strdup(o->user_agent ? o->user_agent : REGISTRY_USER_AGENT);
	reg->curl = curl_easy_init();
	if (!reg->agent || !reg->curl)
		return -ENOMEM;
	return reg_auth_init(reg, o->username, o->password);
}

int registry_new(const char *host, const struct registry_opts *o, struct registry **out,
		 struct img_err *e)
{
	static const struct registry_opts none;
	struct registry *reg;
	int rc;

	*out = NULL;
	o = o ? o : &none;
	rc = registry_opts_check(host, o, e);
	if (rc)
		return rc;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return img_fail(e, -ENOMEM, "cannot start libcurl: %s",
				curl_easy_strerror(curl_init_rc));
	reg = calloc(1, sizeof(*reg));
	rc = reg ? reg_setup(reg, host, o) : -ENOMEM;
	if (rc) {
		registry_free(reg);
		return img_fail(e, rc, "registry %s: out of memory", host);
	}
	*out = reg;
	return 0;
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	reg_auth_free(reg);
	if (reg->curl)
		curl_easy_cleanup(reg->curl);
	free(reg->agent);
	free(reg);
}

/* OCI repository names: lowercase [a-z0-9] runs joined by '.', '_' or '-', '/' between. */
static int valid_repo(const char *s)
{
	size_t n = strlen(s), k;

	if (!n || n > 255 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != n)
		return 0;
	for (;; s += k + 1) {
		k = strcspn(s, "/");
		if (!k || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[k - 1]))
			return 0;
		if (!s[k])
			return 1;
	}
}

/* "algorithm:encoded" (sha256:<hex>): checked only so far as it goes into a URL safely. */
static int valid_digest(const char *s)
{
	static const char enc[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-";
	size_t a = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789+._-");

	if (!a || s[a] != ':' || strlen(s) >= sizeof(((struct registry_doc *)0)->digest))
		return 0;
	s += a + 1;
	return *s && strspn(s, enc) == strlen(s);
}

/* A tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) or a digest. */
static int valid_ref(const char *s)
{
	static const char tag[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(s);

	if (strchr(s, ':'))
		return valid_digest(s);
	return n && n <= 128 && s[0] != '.' && s[0] != '-' && strspn(s, tag) == n;
}

static int is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Moves (*url) to where answer (x) redirects. Returns 0 or -errno with (e). */
static int next_hop(struct registry *reg, char **url, int *hops, const struct reg_xfer *x,
		    struct img_err *e)
{
	char *to = NULL, *copy;
	int rc;

	curl_easy_getinfo(reg->curl, CURLINFO_REDIRECT_URL, &to);
	if (!to)
		return img_fail(e, -EPROTO, "%s answered %ld without a Location for %s", x->host,
				x->status, x->what);
	if (++*hops > REG_MAX_HOPS)
		return img_fail(e, -ELOOP, "registry %s: more than %d redirects for %s", reg->host,
				REG_MAX_HOPS, x->what);
	rc = reg_url_allowed(to, "a redirect", e);
	if (rc)
		return rc;
	copy = strdup(to);
	if (!copy)
		return img_fail(e, -ENOMEM, "out of memory fetching %s", x->what);
	free(*url);
	*url = copy;
	return 0;
}

/* What failed answer (x) is called in messages: the registry, or its storage. */
static int answer_error(struct registry *reg, const char *url, const struct reg_xfer *x,
			struct img_err *e)
{
	char who[600];

	if (reg_same_origin(url, reg->base))
		snprintf(who, sizeof(who), "registry %s", reg->host);
	else
		snprintf(who, sizeof(who), "%s (storage of registry %s)", x->host, reg->host);
	return reg_status_error(who, x, e);
}

/*
 * GETs (path) of the registry for (repo) into (x): answers a 401 challenge
 * once, follows redirects, and sends credentials only to the registry itself.
 */
static int reg_get(struct registry *reg, const char *repo, const char *path, struct reg_xfer *x,
		   struct img_err *e)
{
	int hops = 0, authed = 0, home, rc;
	char *url = NULL;

	if (asprintf(&url, "%s%s", reg->base, path) < 0)
		return img_fail(e, -ENOMEM, "out of memory fetching %s", x->what);
	for (;;) {
		home = reg_same_origin(url, reg->base);
		rc = reg_perform(reg, url, home ? reg_auth_header(reg, repo) : NULL, x, e);
		if (!rc && x->status == 401 && home && !authed++)
			rc = reg_authenticate(reg, repo, x->challenge, e);
		else if (!rc && is_redirect(x->status))
			rc = next_hop(reg, &url, &hops, x, e);
		else if (!rc && x->status / 100 != 2)
			rc = answer_error(reg, url, x, e);
		else
			break;
		if (rc)
			break;
	}
	free(url);
	return rc;
}

int registry_get_manifest(struct registry *reg, const char *repo, const char *reference,
			  struct registry_doc *out, struct img_err *e)
{
	struct reg_xfer x = {.accept = REGISTRY_ACCEPT, .max = reg->manifest_max, .expected = -1};
	char what[512], path[512];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo || !reference || !valid_repo(repo) || !valid_ref(reference))
		return img_fail(e, -EINVAL, "invalid repository '%.200s' or reference '%.200s'",
				repo ? repo : "", reference ? reference : "");
	snprintf(what, sizeof(what), "%s%c%s", repo, strchr(reference, ':') ? '@' : ':', reference);
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repo, reference);
	x.what = what;
	rc = reg_get(reg, repo, path, &x, e);
	if (!rc && !x.len)
		rc = img_fail(e, -EPROTO, "registry %s answered an empty manifest for %s",
			      reg->host, what);
	if (!rc) {
		out->data = x.buf;
		out->len = x.len;
		x.buf = NULL;
		strcpy(out->media_type, x.type);
		strcpy(out->digest, x.digest);
	}
	reg_xfer_done(&x);
	return rc;
}

void registry_doc_free(struct registry_doc *doc)
{
	free(doc->data);
	memset(doc, 0, sizeof(*doc));
}

int registry_get_blob(struct registry *reg, const char *repo, const char *digest,
		      int64_t expected_size, registry_sink_fn sink, void *ctx,
		      registry_progress_fn progress, struct img_err *e)
{
	struct reg_xfer x = {.what = digest, .sink = sink, .progress = progress, .ctx = ctx};
	char path[512];
	int rc;

	if (!sink || !repo || !digest || !valid_repo(repo) || !valid_digest(digest))
		return img_fail(e, -EINVAL, "invalid repository '%.200s' or digest '%.200s'",
				repo ? repo : "", digest ? digest : "");
	x.expected = expected_size < 0 ? -1 : expected_size;
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", repo, digest);
	rc = reg_get(reg, repo, path, &x, e);
	/* Fewer bytes than the manifest says is a cut transfer, whatever the length header said. */
	if (!rc && x.expected >= 0 && x.done != (uint64_t)x.expected)
		rc = img_fail(e, -EIO,
			      "blob %s from %s ended after %" PRIu64 " of %" PRId64 " bytes",
			      digest, x.host, x.done, x.expected);
	reg_xfer_done(&x);
	return rc;
}
