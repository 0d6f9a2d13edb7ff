/* SPDX-License-Identifier: Apache-2.0 */
/* Applying one OCI layer (a tar: plain, gzip or zstd) onto a root filesystem directory. */
#ifndef EMBER_USERSPACE_IMAGE_LAYER_H
#define EMBER_USERSPACE_IMAGE_LAYER_H

#include <stdint.h>

#include "img_err.h"

/*
 * What one layer may cost. The byte count is the sum of the regular files'
 * apparent sizes, so a sparse file counts at its full size: a few kilobytes of
 * tar must not become a terabyte file that fills the disk on the first write
 * into its hole. A zero max_ field means no limit.
 */
struct layer_limits {
	uint64_t max_bytes;   /* regular files' apparent sizes, summed */
	uint64_t max_entries; /* tar entries, whiteouts and skipped ones included */
	/* What the layers below used already, when the limits bound a whole
	 * image: this layer may have what is left. Zero for one layer alone. */
	uint64_t bytes_below, entries_below;
};

/* What layer_apply() did, for logs and metrics. */
struct layer_stats {
	uint64_t entries;	 /* tar entries read */
	uint64_t bytes;		 /* regular files' apparent sizes, summed */
	uint64_t whiteouts;	 /* .wh.NAME and .wh..wh..opq entries honoured */
	uint64_t xattrs_skipped; /* unsupported here (EOPNOTSUPP) or outside user.* / security.* */
};

/*
 * Applies the layer read from (layer_fd) (a tar, gzip- or zstd-compressed or
 * plain, or empty; read from its current offset, not closed) onto the directory
 * (rootfd), which holds the layers below it, as the OCI image spec's
 * "Applying Changesets" says:
 *  - files, directories, symlinks, hard links, char/block devices and fifos
 *    are created with their owner (numeric), mode (setuid/setgid/sticky
 *    included), mtime and user.* / security.* xattrs; regular files keep their
 *    sparse holes; sockets are skipped;
 *  - an existing directory is kept (its attributes updated); any other
 *    existing entry is removed first (a directory recursively);
 *  - ".wh.NAME" removes NAME of the lower layers; ".wh..wh..opq" removes every
 *    lower-layer child of its directory, keeping this layer's own entries
 *    wherever the marker is listed; whiteouts themselves are never created;
 *  - a hard link keeps its target's owner, mode and times (one inode); the
 *    root's own entry ("./") sets the root's; missing parents are made 0755;
 *  - directories' mtimes are set once the whole layer is in.
 * Nothing is written outside (rootfd), and ember never follows a symlink of
 * the tree: a hostile layer is refused (an entry leaving the root, a parent
 * path or hard link going through a symlink, even one that points inside the
 * root, a hard link to anything but a regular file, a path over PATH_MAX, an
 * unknown entry type, a truncated or corrupt stream, more than (lim)'s bytes
 * or entries). (lim) and (st) may be
 * NULL (no limits; no stats); (st) is filled even on failure.
 * Returns 0, or -errno with (e) naming the entry and the reason; the root is
 * then half-applied and the caller removes it (rootfs_remove()).
 * The process needs CAP_CHOWN, CAP_FOWNER and CAP_MKNOD (root) for owners,
 * modes and device nodes.
 */
int layer_apply(int rootfd, int layer_fd, const struct layer_limits *lim, struct layer_stats *st,
		struct img_err *e) __attribute__((warn_unused_result));

/*
 * Removes (name) in the directory (dirfd): a file, a symlink (never followed)
 * or a directory with everything beneath it, read-only modes included (it
 * makes each directory writable by its owner before emptying it). Keeps at
 * most three descriptors open whatever the depth, so a deep tree cannot run
 * it out of them. Does not go into another filesystem mounted beneath (name)
 * (-EXDEV): a mount left inside a root is not the root's to delete.
 * Returns 0 (also when (name) does not exist) or -errno.
 */
int rootfs_remove(int dirfd, const char *name) __attribute__((warn_unused_result));

#endif
