/* SPDX-License-Identifier: Apache-2.0 */
/* The image store's references (name -> manifest digest), kept in DIR/refs.json. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../vmm/fileio.h"
#include "store_impl.h"

int store_ref_name_check(const char *name, struct img_err *e)
{
	size_t n = name ? strnlen(name, STORE_REF_MAX + 1) : 0, i;

	if (!n)
		return img_fail(e, -EINVAL, "empty image name");
	if (n > STORE_REF_MAX)
		return img_fail(e, -EINVAL, "image name longer than %d characters", STORE_REF_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c >= 0x7f)
			return img_fail(e, -EINVAL,
					"image name: character %zu is whitespace, a control "
					"character or not ASCII",
					i + 1);
	}
	return 0;
}

/* Every reference in (doc) well formed, so that later lookups need no check. */
static int refs_check(const struct store *st, json_t *doc, struct img_err *e)
{
	json_t *refs = json_object_get(doc, "refs"), *v;
	struct img_err why;
	const char *name;

	if (json_integer_value(json_object_get(doc, "version")) != REFS_VERSION ||
	    !json_is_object(refs))
		return img_fail(e, -EINVAL,
				"%s/" REFS_FILE ": not {\"version\": %d, \"refs\": {...}}; repair "
				"or remove it (removing forgets every image name)",
				st->dir, REFS_VERSION);
	json_object_foreach(refs, name, v)
	{
		if (store_ref_name_check(name, &why) ||
		    digest_parse(json_string_value(v), NULL, &why))
			return img_fail(e, -EINVAL, "%s/" REFS_FILE ": %s; repair or remove it",
					st->dir, why.msg);
	}
	return 0;
}

/* A missing refs.json is a new store; one that does not parse is never read as empty. */
int refs_load(struct store *st, struct img_err *e)
{
	int fd = openat(st->root_fd, REFS_FILE, O_RDONLY | O_CLOEXEC), rc;
	json_error_t jerr;
	json_t *doc;

	if (fd < 0 && errno == ENOENT)
		return (st->refs = json_object()) ? 0 : img_fail(e, -ENOMEM, "out of memory");
	if (fd < 0)
		return img_fail(e, -errno, "%s/" REFS_FILE ": %s", st->dir, strerror(errno));
	doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (!doc)
		return img_fail(
			e, -EINVAL,
			"%s/" REFS_FILE
			": line %d: %s; repair or remove it (removing forgets every image name)",
			st->dir, jerr.line, jerr.text);
	rc = refs_check(st, doc, e);
	if (!rc)
		st->refs = json_incref(json_object_get(doc, "refs"));
	json_decref(doc);
	return rc;
}

/* Writes (refs) as refs.json: a crash leaves the old file or the new, never a mix. */
static int refs_save(struct store *st, json_t *refs, struct img_err *e)
{
	json_t *doc = json_pack("{s:i, s:O}", "version", REFS_VERSION, "refs", refs);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL, *line = NULL;
	char path[PATH_MAX];
	int rc = -ENOMEM;

	json_decref(doc);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	if (!line)
		return img_fail(e, rc, "image references: out of memory");
	rc = snprintf(path, sizeof(path), "%s/" REFS_FILE, st->dir) >= (int)sizeof(path)
		     ? -ENAMETOOLONG
		     : file_replace_buf(path, 0644, true, line, strlen(line));
	free(line);
	if (rc)
		return img_fail(e, rc, "%s/" REFS_FILE ": cannot write it: %s", st->dir,
				strerror(-rc));
	return 0;
}

/*
 * Sets (name) to (digest), or removes it when (digest) is NULL: on disk first,
 * then in memory, so a failed write changes neither. The values are immutable
 * strings, so a shallow copy of the object is independent enough.
 */
static int refs_update(struct store *st, const char *name, const char *digest, struct img_err *e)
{
	json_t *next = json_copy(st->refs);
	int rc;

	if (!next || (digest ? json_object_set_new(next, name, json_string(digest))
			     : json_object_del(next, name))) {
		json_decref(next);
		return img_fail(e, -ENOMEM, "image references: out of memory");
	}
	rc = refs_save(st, next, e);
	if (rc) {
		json_decref(next);
		return rc;
	}
	json_decref(st->refs);
	st->refs = next;
	return 0;
}

int store_ref_set(struct store *st, const char *name, const char *digest, struct img_err *e)
{
	int rc = store_ref_name_check(name, e);
	const char *old;

	if (!rc)
		rc = digest_parse(digest, NULL, e);
	if (rc)
		return rc;
	/* Tagging an image again as it already is costs no disk write. */
	old = json_string_value(json_object_get(st->refs, name));
	if (old && !strcmp(old, digest))
		return 0;
	return refs_update(st, name, digest, e);
}

int store_ref_get(const struct store *st, const char *name, char out[DIGEST_BUF_LEN],
		  struct img_err *e)
{
	int rc = store_ref_name_check(name, e);
	const char *digest;

	if (rc)
		return rc;
	digest = json_string_value(json_object_get(st->refs, name));
	if (!digest)
		return img_fail(e, -ENOENT, "no image named '%s'", name);
	memcpy(out, digest, DIGEST_BUF_LEN);
	return 0;
}

int store_ref_del(struct store *st, const char *name, struct img_err *e)
{
	int rc = store_ref_name_check(name, e);

	if (rc)
		return rc;
	if (!json_object_get(st->refs, name))
		return img_fail(e, -ENOENT, "no image named '%s'", name);
	return refs_update(st, name, NULL, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int store_ref_foreach(const struct store *st,
		      int (*cb)(const char *name, const char *digest, void *ctx), void *ctx)
{
	size_t n = json_object_size(st->refs), i = 0;
	const char **names, *name;
	int rc = 0;
	json_t *v;

	if (!n)
		return 0;
	names = calloc(n, sizeof(*names));
	if (!names)
		return -ENOMEM;
	json_object_foreach(st->refs, name, v) names[i++] = name;
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; !rc && i < n; i++)
		rc = cb(names[i], json_string_value(json_object_get(st->refs, names[i])), ctx);
	free(names);
	return rc;
}
