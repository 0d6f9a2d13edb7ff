/* SPDX-License-Identifier: Apache-2.0 */
/* What layer.c, layer_path.c, layer_entry.c and rootfs_rm.c share; not for other callers. */
#ifndef EMBER_USERSPACE_IMAGE_LAYER_PRIV_H
#define EMBER_USERSPACE_IMAGE_LAYER_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "layer.h"

struct archive;
struct archive_entry;

/* A set of cleaned paths (open addressing, strings owned by the set). */
struct path_set {
	char **slot;
	size_t cap, used;
};

/* A directory whose mtime is set once the layer is in (its entries change it). */
struct dir_time {
	char *path;
	struct timespec ts[2];
};

/* One layer_apply() call. */
struct layer_ctx {
	int rootfd;
	struct archive *ar;
	struct archive_entry *ae; /* the entry being applied */
	struct layer_limits lim;
	struct layer_stats st;
	struct img_err *e;
	/* This layer's entries and their parents: what an opaque marker keeps. */
	struct path_set mine;
	struct dir_time *dirs;
	size_t ndirs, dircap;
	char raw[PATH_MAX];  /* the entry's name as the tar has it, for messages */
	char path[PATH_MAX]; /* the entry's cleaned path; "" is the root */
};

/* --- layer.c --- */

/* (in) made fit for a one-line message in (out) (n bytes): control bytes and quotes escaped, cut.
 */
const char *layer_quote(const char *in, char *out, size_t n);

/* Fills (c)'s error with "entry '<name>': " and (fmt); returns (rc). */
int layer_refuse(struct layer_ctx *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Refuses the entry for (rc), an error of layer_open_parent() or a syscall on (what). */
int layer_refuse_errno(struct layer_ctx *c, int rc, const char *what);

/* Remembers that (c)'s directory entry gets (ts) at the end. Returns 0 or -ENOMEM. */
int layer_defer_dir_time(struct layer_ctx *c, const struct timespec ts[2]);

/* --- layer_path.c --- */

/*
 * Cleans the tar name (in) into (out) (PATH_MAX bytes): "." and empty
 * components dropped, no leading or trailing '/'; "" is the root. Returns 0,
 * -EXDEV for an absolute name or a ".." component, -ENAMETOOLONG.
 */
int layer_clean_path(const char *in, char *out);

/*
 * Opens (O_PATH) the directory holding the cleaned (path) beneath (rootfd),
 * never through a symlink, creating missing parents (0755, like docker) when
 * (create); points (*base) at the last component of (path) ("." for the
 * root). Returns the descriptor, or -ELOOP (a symlink on the way), -EXDEV,
 * -ENOTDIR, -ENOENT (missing and not (create)) or another -errno.
 */
int layer_open_parent(int rootfd, const char *path, bool create, const char **base);

/* Adds (path) and each of its parents to (s). Returns 0 or -ENOMEM. */
int path_set_add_tree(struct path_set *s, const char *path);

/* Whether (path) is in (s). */
bool path_set_has(const struct path_set *s, const char *path);

/* Frees what (s) holds and empties it. */
void path_set_free(struct path_set *s);

/* --- layer_entry.c --- */

/*
 * Creates (c)'s current entry, (base) in the directory (pfd), replacing
 * what is there (a directory is kept for a directory entry), with its
 * owner, mode, xattrs and mtime (a directory's deferred). Returns 0 or the
 * -errno of layer_refuse().
 */
int layer_entry_create(struct layer_ctx *c, int pfd, const char *base);

/* --- rootfs_rm.c --- */

/*
 * Empties the directory (dfd), whose cleaned path is (path) (PATH_MAX bytes,
 * (len) long, restored on return), of everything not in (c)->mine, at any
 * depth. Returns 0 or -errno.
 */
int layer_prune_opaque(struct layer_ctx *c, int dfd, char *path, size_t len);

#endif
