/* SPDX-License-Identifier: Apache-2.0 */
/* An image's User, read as a container runtime reads it against its etc/passwd and etc/group. */
#ifndef EMBER_USERSPACE_IMAGE_USER_H
#define EMBER_USERSPACE_IMAGE_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "img_err.h"

#define USER_SPEC_MAX 255	 /* bytes of a User string */
#define USER_FILE_MAX (1 << 20)	 /* bytes of etc/passwd or etc/group */
#define USER_LINE_MAX 4096	 /* bytes of one of their lines */
#define USER_ID_MAX   2147483647 /* runc's bound: ids fit an int32 */

/*
 * Resolves the OCI config's User (user): "", "name", "uid", "name:group",
 * "uid:gid", "uid:group" or "name:gid", into (*uid), (*gid) and the home
 * directory (home) of (homelen) bytes. Names are looked up in etc/passwd and
 * etc/group of the image root (rootfd), opened without following any
 * symlink and without leaving the root. As runc does: "" is uid 0; a uid
 * with a passwd entry takes that entry's gid and home, without one gid 0 and
 * home "/"; a missing file is fine when no name needs it.
 *
 * Returns 0; -EINVAL (malformed User, id out of 0-USER_ID_MAX, a file that is
 * not a regular file or over the bounds); -ENOENT (a name neither file has, or
 * the file it needs is missing); -ELOOP (etc or the file is a symlink);
 * -ENAMETOOLONG (home does not fit); another -errno of open/read. (e) says
 * which. Nothing stays allocated or open.
 */
int user_resolve(int rootfd, const char *user, uid_t *uid, gid_t *gid, char *home, size_t homelen,
		 struct img_err *e);

#endif
