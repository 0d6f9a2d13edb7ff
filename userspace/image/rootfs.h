/* SPDX-License-Identifier: Apache-2.0 */
/* Building an image's read-only root filesystem (erofs or ext4) once, from the store's layers. */
#ifndef EMBER_USERSPACE_IMAGE_ROOTFS_H
#define EMBER_USERSPACE_IMAGE_ROOTFS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "img_err.h"
#include "layer.h"
#include "store.h"

/*
 * One image, one file, built once: DIR/<manifest hex>.erofs (or .ext4) is
 * made from the image's layers applied in order into DIR/tmp-XXXXXX/root,
 * written to DIR/tmp-XXXXXX/fs, fsynced and renamed into place, so a name
 * in DIR is always a complete image; the temporary directory is removed on
 * success and failure alike. A crash leaves a tmp-XXXXXX behind: it is never
 * read, and not swept here because another build may own it.
 */
enum rootfs_fs {
	ROOTFS_EROFS, /* mkfs.erofs: smaller, the guest kernel reads it directly */
	ROOTFS_EXT4,  /* mke2fs -d: for a guest kernel without erofs */
};

struct rootfs_opts {
	const char *dir;	    /* where images go (STATE/images/rootfs); made if missing */
	enum rootfs_fs fs;	    /* which filesystem */
	struct layer_limits limits; /* the whole image's, all layers summed; zero max_ fields are
				       no limit; the _below fields are ignored */
	bool compress;		    /* erofs only: lz4hc (-zlz4hc) instead of uncompressed */
};

struct rootfs_result {
	char path[PATH_MAX];  /* the image file */
	bool cached;	      /* it existed: nothing was read or built */
	uint64_t bytes;	      /* regular files' bytes applied, summed over the layers */
	uint64_t entries;     /* tar entries applied, summed over the layers */
	uint64_t image_bytes; /* size of the image file */
	double apply_seconds; /* checking diff_ids and applying the layers */
	double mkfs_seconds;  /* running mkfs, fsync and rename */
};

/* rootfs_fs_name() - "erofs" or "ext4": the image file's extension and the log's word. */
const char *rootfs_fs_name(enum rootfs_fs fs);

/*
 * rootfs_path() - the image file of (manifest_digest) for (fs) in (dir), into
 * (buf) of (len) bytes, whether or not it is built. Returns 0, -EINVAL (not
 * a digest digest_parse() accepts) or -ENAMETOOLONG.
 */
int rootfs_path(const char *dir, const char *manifest_digest, enum rootfs_fs fs, char *buf,
		size_t len, struct img_err *e) __attribute__((warn_unused_result));

/*
 * rootfs_build() - the root filesystem image of the manifest (manifest_digest)
 * of (st), as (o) says. When the image file already exists it is the answer:
 * (res)->cached is set and nothing else is done. Otherwise the manifest and
 * config are read from the store (the config must be linux/amd64 and have one
 * diff_id per layer); each layer's decompressed stream must hash to its
 * diff_id before layer_apply() puts it on the root, within what the layers
 * below left of (o)->limits (entries and files' bytes count in every layer,
 * so a file that a later layer replaces counts twice); then
 * mkfs runs (stdin /dev/null, its output kept for the error message) and its
 * image is renamed into place, mode 0444. The process must be root (owners,
 * modes, devices) and have mkfs.erofs / mke2fs in /usr/sbin, /sbin, /usr/bin
 * or /bin (Debian puts erofs-utils in /usr/bin); $PATH is not searched.
 * (res) may be NULL. Returns 0, or -errno with (e) saying what failed
 * (a digest mismatch names both digests and the layer); then (o)->dir holds
 * what it held before, and nothing of this build.
 */
int rootfs_build(struct store *st, const char *manifest_digest, const struct rootfs_opts *o,
		 struct rootfs_result *res, struct img_err *e) __attribute__((warn_unused_result));

/*
 * rootfs_users_path() - DIR/<manifest hex>.users: the image's etc/passwd and
 * etc/group (whichever are plain files of at most USER_FILE_MAX bytes) as
 * DIR/<hex>.users/etc/{passwd,group}, placed by rootfs_build() before the
 * image file (so an image file means its .users is there, for images built
 * since it exists). user_resolve() takes it as its root. 0 or -errno.
 */
int rootfs_users_path(const char *dir, const char *manifest_digest, char *buf, size_t len,
		      struct img_err *e) __attribute__((warn_unused_result));

/* Internal to rootfs*.c: copies them from the applied tree (rootfd) to (tmpfd)/users. */
int rootfs_users_save(int rootfd, int tmpfd, struct img_err *e) __attribute__((warn_unused_result));

/*
 * Internal to rootfs*.c: rootfs_mkfs() - make the (fs) image (out) of the
 * directory (root) with the mkfs tool, (compress) as in struct rootfs_opts.
 * ext4's size and inode count come from (root)'s tree with slack. Returns 0,
 * or -errno with (e) holding the tool's exit status and the end of its output.
 */
int rootfs_mkfs(enum rootfs_fs fs, bool compress, const char *root, const char *out,
		struct img_err *e) __attribute__((warn_unused_result));

#endif
