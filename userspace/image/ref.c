/* SPDX-License-Identifier: Apache-2.0 */
/* Image references parsed and formatted by the grammar of the distribution spec's reference. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ref.h"

/* The longest input worth reading: name, ':' tag, '@' digest. */
#define REF_INPUT_MAX (REF_NAME_MAX + 1 + REF_TAG_MAX + 1 + REF_DIGEST_SIZE - 1)

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int ref_digest_valid(const char *s)
{
	if (strncmp(s, "sha256:", 7))
		return 0;
	for (int i = 0; i < 64; i++)
		if (!is_hex_lower(s[7 + i]))
			return 0;
	return s[7 + 64] == '\0';
}

static int bad(struct img_err *e, const char *ref, const char *why)
{
	return img_fail(e, -EINVAL, "reference \"%.100s\": %s", ref, why);
}

/* One path component of [s, end): [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*. */
static bool component_valid(const char *s, const char *end)
{
	while (s < end) {
		if (!is_lower_alnum(*s))
			return false;
		while (s < end && is_lower_alnum(*s))
			s++;
		if (s == end)
			return true;
		if (*s == '.')
			s++;
		else if (*s == '_')
			s += (s + 1 < end && s[1] == '_') ? 2 : 1;
		else if (*s == '-')
			while (s < end && *s == '-')
				s++;
		else
			return false;
		if (s == end)
			return false; /* a separator must be followed by a run */
	}
	return false; /* empty */
}

static bool path_valid(const char *path)
{
	const char *end;

	for (const char *p = path;; p = end + 1) {
		end = strchr(p, '/');
		if (!end)
			end = p + strlen(p);
		if (!component_valid(p, end))
			return false;
		if (!*end)
			return true;
	}
}

/* ":PORT" with PORT 1-65535, or nothing. */
static bool port_valid(const char *s)
{
	unsigned long port = 0;

	if (!*s)
		return true;
	if (*s++ != ':' || !*s || strlen(s) > 5)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		port = port * 10 + (unsigned long)(*s - '0');
	}
	return port >= 1 && port <= 65535;
}

/* "[v6]" or DNS labels of [A-Za-z0-9-] (no '-' at either end), then an optional port. */
static bool registry_valid(const char *s)
{
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1 ||
		    strspn(s + 1, "0123456789abcdefABCDEF:") != (size_t)(close - s - 1))
			return false;
		return port_valid(close + 1);
	}
	for (;;) {
		const char *label = s;

		while (is_alnum(*s) || *s == '-')
			s++;
		if (s == label || *label == '-' || s[-1] == '-')
			return false;
		if (*s != '.')
			return port_valid(s);
		s++;
	}
}

static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > REF_TAG_MAX || !(is_alnum(t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

/* Cuts "@digest" then ":tag" off the end of (buf) into (r). */
static int split_suffixes(char *buf, const char *s, struct img_ref *r, struct img_err *e)
{
	char *at = strchr(buf, '@'), *slash, *colon;

	if (at) {
		*at++ = '\0';
		if (strncmp(at, "sha256:", 7) && strchr(at, ':'))
			return bad(e, s, "only sha256 digests are supported");
		if (!ref_digest_valid(at))
			return bad(e, s,
				   "the digest must be \"sha256:\" and 64 lowercase hex digits");
		strcpy(r->digest, at);
	}
	slash = strrchr(buf, '/');
	colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon++ = '\0';
		if (!tag_valid(colon))
			return bad(e, s, "the tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
		strcpy(r->tag, colon);
	}
	return 0;
}

/* Docker's heuristic: a first component with a '.' or a ':', or "localhost",
 * names a registry; anything else is the first component of a path. */
static bool is_registry(const char *first, size_t n)
{
	return memchr(first, '.', n) || memchr(first, ':', n) ||
	       (n == 9 && !memcmp(first, "localhost", 9));
}

/* Splits the name (buf) into registry and path. */
static int split_name(char *buf, const char *s, unsigned int flags, struct img_ref *r,
		      struct img_err *e)
{
	char *slash = strchr(buf, '/'), *path = buf;

	if (strlen(buf) > REF_NAME_MAX)
		return bad(e, s, "the name (registry and path) is longer than 255 characters");
	if (slash && is_registry(buf, (size_t)(slash - buf))) {
		*slash = '\0';
		path = slash + 1;
		if (!registry_valid(buf))
			return bad(e, s, "the registry must be HOST[:PORT] (1-65535)");
		strcpy(r->registry, buf);
	}
	if (!path_valid(path))
		return bad(e, s,
			   "path components must be lowercase [a-z0-9] runs joined by '.', '_', "
			   "'__' or '-'");
	if (!strcmp(r->registry, "docker.io") || !strcmp(r->registry, "index.docker.io") ||
	    (!r->registry[0] && (flags & REF_DEFAULT_DOCKER_HUB)))
		strcpy(r->registry, REF_DOCKER_HUB);
	/* Fits: the path is at most REF_NAME_MAX, the repo has room for the prefix too. */
	if (!strcmp(r->registry, REF_DOCKER_HUB) && !strchr(path, '/'))
		strcpy(r->repo, REF_DOCKER_LIBRARY);
	strcat(r->repo, path);
	return 0;
}

int ref_parse(const char *s, unsigned int flags, struct img_ref *r, struct img_err *e)
{
	char buf[REF_INPUT_MAX + 1];
	size_t n = strnlen(s, sizeof(buf));
	int rc;

	memset(r, 0, sizeof(*r));
	if (!n)
		return img_fail(e, -EINVAL, "reference: empty");
	if (n >= sizeof(buf))
		return bad(e, s, "longer than a name, a tag and a digest can be");
	/* Checked before any error line quotes the reference. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return img_fail(e, -EINVAL,
					"reference: must not contain spaces or control characters");
	memcpy(buf, s, n + 1);
	if ((rc = split_suffixes(buf, s, r, e)) || (rc = split_name(buf, s, flags, r, e)))
		return rc;
	if (!r->tag[0] && !r->digest[0])
		strcpy(r->tag, "latest");
	return 0;
}

int ref_format(const struct img_ref *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s%s%s%s%s%s", r->registry, r->registry[0] ? "/" : "",
			 r->repo, r->tag[0] ? ":" : "", r->tag, r->digest[0] ? "@" : "", r->digest);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
