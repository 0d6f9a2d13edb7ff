/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded, typed JSON reads shared by the OCI and docker parsers (private to oci*.c). */
#ifndef EMBER_USERSPACE_IMAGE_OCI_JSON_H
#define EMBER_USERSPACE_IMAGE_OCI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "oci.h"

/* A field's path in error lines: "manifest.layers[3].digest". */
#define OJ_PATH_MAX 96

/*
 * Parses (buf, len) as JSON into (*out) (json_decref() it), refusing more
 * than (max) bytes (-E2BIG), duplicate keys and anything that is not JSON
 * (-EINVAL). (what) names the document in (e).
 */
int oj_load(const void *buf, size_t len, size_t max, const char *what, json_t **out,
	    struct img_err *e);

/* Parses the document (buf, len) as oj_load() does, then hands its root to
 * (members) with (out); returns the first error. */
int oj_parse(const void *buf, size_t len, size_t max, const char *what,
	     int (*members)(const json_t *root, void *out, struct img_err *e), void *out,
	     struct img_err *e);

/* Writes "(parent).(key)" ("(key)" when parent is "") / "(parent)[(i)]" into
 * (buf) of OJ_PATH_MAX bytes; returns (buf). */
const char *oj_key(char *buf, const char *parent, const char *key);
const char *oj_at(char *buf, const char *parent, size_t i);

/* Each returns 0, or -EINVAL naming (path) when (v) is not of the type
 * (a NULL v: "is required"); oj_array also -E2BIG beyond (max) elements. */
int oj_object(const json_t *v, const char *path, struct img_err *e);
int oj_array(const json_t *v, const char *path, size_t max, struct img_err *e);

/* What oj_each() calls on each element (v) at (path): the (i)th, for (arg). */
typedef int (*oj_each_fn)(const json_t *v, const char *path, size_t i, void *arg,
			  struct img_err *e);

/*
 * Checks (v) is an array of at most (max) elements (oj_array()); when (size)
 * is not 0, stores into the pointer at (arrp) a zeroed heap array of as many
 * elements of (size) bytes, plus one, for the caller to free; then calls (fn)
 * on each element until one fails. Returns 0, its error or -ENOMEM.
 */
int oj_each(const json_t *v, const char *path, size_t max, size_t size, void *arrp, oj_each_fn fn,
	    void *arg, struct img_err *e);

/* Returns 0, or -EINVAL naming (path) when (s) holds control characters:
 * strings that end up in file names and error lines must not. */
int oj_printable(const char *s, const char *path, struct img_err *e);

/*
 * Copies the string (v) into (buf) of (size) bytes, oj_printable(). Returns 0,
 * -EINVAL (not a string, empty unless (allow_empty), control characters) or
 * -E2BIG (too long).
 */
int oj_str(const json_t *v, const char *path, char *buf, size_t size, bool allow_empty,
	   struct img_err *e);

/* oj_str() of an optional string: absent or JSON null leaves (buf) "". */
int oj_str_opt(const json_t *v, const char *path, char *buf, size_t size, struct img_err *e);

/* Reads "os", "architecture" (both required) and "variant" of the object (v)
 * into (pl); (parent) prefixes the paths in (e). */
int oj_platform(const json_t *v, const char *parent, struct oci_platform *pl, struct img_err *e);

/* oj_str() of a "sha256:<64 hex>" digest into (buf) of REF_DIGEST_SIZE bytes. */
int oj_digest(const json_t *v, const char *path, char *buf, struct img_err *e);

/* Reads an integer 0-(max) into (*out); -EINVAL / -E2BIG naming (path). */
int oj_size(const json_t *v, const char *path, int64_t max, int64_t *out, struct img_err *e);

/*
 * Reads an array of at most (max_n) strings of at most (max_len) bytes each
 * (NULL or JSON null: an empty vector) into (sv), which the caller frees with
 * oci_strv_free(), also on failure. Returns 0, -EINVAL, -E2BIG or -ENOMEM.
 */
int oj_strv(const json_t *v, const char *path, size_t max_n, size_t max_len, struct oci_strv *sv,
	    struct img_err *e);

/* Appends ", (item)" (no comma first) to the list (buf) of (size) bytes; a
 * list that would not fit ends in "..." instead. For error lines. */
void oj_list_add(char *buf, size_t size, const char *item);

#endif
