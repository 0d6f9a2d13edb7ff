/* SPDX-License-Identifier: Apache-2.0 */
/* Opening a path of an untrusted tree: beneath its directory, through no symlink. */
#ifndef EMBER_USERSPACE_IMAGE_BENEATH_H
#define EMBER_USERSPACE_IMAGE_BENEATH_H

/*
 * Opens (path) relative to (dirfd) with (flags) (O_CLOEXEC added) as
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * does: the lookup never leaves (dirfd) and follows no symlink, not even
 * one that points inside (layers, layouts and an image's etc/ are all
 * hostile). Returns the fd, or -errno: -ELOOP for a symlink on the way,
 * -EXDEV for a path that would leave (dirfd), -ENOENT, ...
 */
int open_beneath(int dirfd, const char *path, int flags);

#endif
