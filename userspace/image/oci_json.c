/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded, typed JSON reads shared by the OCI and docker parsers: each refusal names the field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci_json.h"

int oj_load(const void *buf, size_t len, size_t max, const char *what, json_t **out,
	    struct img_err *e)
{
	json_error_t je;

	*out = NULL;
	if (len > max)
		return img_fail(e, -E2BIG, "%s: larger than %zu bytes", what, max);
	/* Duplicate keys are refused: two readers of the same document must
	 * not see two different values (one taking the first, one the last). */
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return img_fail(e, -EINVAL, "%s: not JSON (line %d, column %d: %s)", what, je.line,
				je.column, je.text);
	return 0;
}

int oj_parse(const void *buf, size_t len, size_t max, const char *what,
	     int (*members)(const json_t *root, void *out, struct img_err *e), void *out,
	     struct img_err *e)
{
	json_t *root;
	int rc = oj_load(buf, len, max, what, &root, e);

	if (rc)
		return rc;
	rc = members(root, out, e);
	json_decref(root);
	return rc;
}

const char *oj_key(char *buf, const char *parent, const char *key)
{
	snprintf(buf, OJ_PATH_MAX, "%s%s%s", parent, parent[0] ? "." : "", key);
	return buf;
}

const char *oj_at(char *buf, const char *parent, size_t i)
{
	snprintf(buf, OJ_PATH_MAX, "%s[%zu]", parent, i);
	return buf;
}

int oj_object(const json_t *v, const char *path, struct img_err *e)
{
	if (!v)
		return img_fail(e, -EINVAL, "%s: is required", path);
	return json_is_object(v) ? 0 : img_fail(e, -EINVAL, "%s: must be an object", path);
}

int oj_array(const json_t *v, const char *path, size_t max, struct img_err *e)
{
	if (!v)
		return img_fail(e, -EINVAL, "%s: is required", path);
	if (!json_is_array(v))
		return img_fail(e, -EINVAL, "%s: must be an array", path);
	if (json_array_size(v) > max)
		return img_fail(e, -E2BIG, "%s: more than %zu elements", path, max);
	return 0;
}

int oj_each(const json_t *v, const char *path, size_t max, size_t size, void *arrp, oj_each_fn fn,
	    void *arg, struct img_err *e)
{
	char at[OJ_PATH_MAX];
	void *arr;
	json_t *m;
	size_t i;
	int rc;

	if ((rc = oj_array(v, path, max, e)))
		return rc;
	if (size) {
		/* Allocated only now: the bound above keeps a hostile length from sizing it. */
		if (!(arr = calloc(json_array_size(v) + 1, size)))
			return img_fail(e, -ENOMEM, "%s: out of memory", path);
		memcpy(arrp, &arr, sizeof(arr));
	}
	json_array_foreach(v, i, m)
	{
		if ((rc = fn(m, oj_at(at, path, i), i, arg, e)))
			return rc;
	}
	return 0;
}

int oj_printable(const char *s, const char *path, struct img_err *e)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return img_fail(e, -EINVAL, "%s: must not contain control characters",
					path);
	return 0;
}

/* Points (*out) at the string (v) of at most (max) bytes. jansson refuses
 * \u0000 in strings when loading, so the value's length is its strlen(). */
static int string_of(const json_t *v, const char *path, size_t max, const char **out,
		     struct img_err *e)
{
	if (!v)
		return img_fail(e, -EINVAL, "%s: is required", path);
	if (!json_is_string(v))
		return img_fail(e, -EINVAL, "%s: must be a string", path);
	if (json_string_length(v) > max)
		return img_fail(e, -E2BIG, "%s: longer than %zu bytes", path, max);
	*out = json_string_value(v);
	return 0;
}

int oj_str(const json_t *v, const char *path, char *buf, size_t size, bool allow_empty,
	   struct img_err *e)
{
	const char *s = NULL;
	int rc = string_of(v, path, size - 1, &s, e);

	if (rc)
		return rc;
	if (!*s && !allow_empty)
		return img_fail(e, -EINVAL, "%s: must not be empty", path);
	if ((rc = oj_printable(s, path, e)))
		return rc;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

int oj_str_opt(const json_t *v, const char *path, char *buf, size_t size, struct img_err *e)
{
	buf[0] = '\0';
	return !v || json_is_null(v) ? 0 : oj_str(v, path, buf, size, true, e);
}

int oj_platform(const json_t *v, const char *parent, struct oci_platform *pl, struct img_err *e)
{
	char p[OJ_PATH_MAX];

	return oj_str(json_object_get(v, "os"), oj_key(p, parent, "os"), pl->os, sizeof(pl->os),
		      false, e)
		       ?: oj_str(json_object_get(v, "architecture"),
				 oj_key(p, parent, "architecture"), pl->architecture,
				 sizeof(pl->architecture), false, e)
		       ?: oj_str_opt(json_object_get(v, "variant"), oj_key(p, parent, "variant"),
				     pl->variant, sizeof(pl->variant), e);
}

int oj_digest(const json_t *v, const char *path, char *buf, struct img_err *e)
{
	char d[256]; /* read long so a sha512 digest (135 bytes) gets its own line */
	int rc = oj_str(v, path, d, sizeof(d), false, e);

	if (rc)
		return rc == -E2BIG ? img_fail(e, -EINVAL, "%s: not a sha256 digest", path) : rc;
	if (strncmp(d, "sha256:", 7) && strchr(d, ':'))
		return img_fail(e, -ENOTSUP, "%s: only sha256 digests are supported", path);
	if (!ref_digest_valid(d))
		return img_fail(e, -EINVAL, "%s: must be \"sha256:\" and 64 lowercase hex digits",
				path);
	memcpy(buf, d, REF_DIGEST_SIZE);
	return 0;
}

int oj_size(const json_t *v, const char *path, int64_t max, int64_t *out, struct img_err *e)
{
	json_int_t n;

	if (!v)
		return img_fail(e, -EINVAL, "%s: is required", path);
	/* 12.0 is a real in JSON: a byte count is never fractional. */
	if (!json_is_integer(v))
		return img_fail(e, -EINVAL, "%s: must be an integer", path);
	n = json_integer_value(v);
	if (n < 0)
		return img_fail(e, -EINVAL, "%s: must not be negative", path);
	if (n > max)
		return img_fail(e, -E2BIG, "%s: larger than %lld", path, (long long)max);
	*out = n;
	return 0;
}

/* An oj_strv() under way: its vector, and the bound on each string. */
struct strv_arg {
	struct oci_strv *sv;
	size_t max_len;
};

static int strv_add(const json_t *v, const char *path, size_t i, void *arg, struct img_err *e)
{
	struct strv_arg *a = arg;
	const char *s = NULL;
	int rc = string_of(v, path, a->max_len, &s, e);

	if (rc)
		return rc;
	if (!(a->sv->v[i] = strdup(s)))
		return img_fail(e, -ENOMEM, "%s: out of memory", path);
	a->sv->n = i + 1;
	return 0;
}

int oj_strv(const json_t *v, const char *path, size_t max_n, size_t max_len, struct oci_strv *sv,
	    struct img_err *e)
{
	struct strv_arg a = {sv, max_len};

	memset(sv, 0, sizeof(*sv));
	if (!v || json_is_null(v))
		return 0;
	return oj_each(v, path, max_n, sizeof(*sv->v), &sv->v, strv_add, &a, e);
}

void oj_list_add(char *buf, size_t size, const char *item)
{
	size_t n = strlen(buf);

	if (n >= 3 && !strcmp(buf + n - 3, "..."))
		return;
	if (n + 2 + strlen(item) + sizeof(", ...") > size) /* keep room for ", ..." */
		snprintf(buf + n, size - n, "%s...", n ? ", " : "");
	else
		snprintf(buf + n, size - n, "%s%s", n ? ", " : "", item);
}

void oci_strv_free(struct oci_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}
