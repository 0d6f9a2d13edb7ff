/* SPDX-License-Identifier: Apache-2.0 */
/* An image's etc/passwd and etc/group kept beside its root filesystem, to resolve User at deploy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/fileio.h"
#include "rootfs.h"
#include "user.h"

/*
 * The image file is read by the guest kernel, not by emberd; the two files
 * a User name needs are copied out of the applied tree before it goes, so
 * a deploy resolves "redis" or "app:app" without mounting anything. Only
 * regular files of at most USER_FILE_MAX bytes, opened without following a
 * symlink; anything else is left out, and a name that needs the file is
 * then refused by user_resolve() at deploy with its reason.
 */
int rootfs_users_path(const char *dir, const char *manifest_digest, char *buf, size_t len,
		      struct img_err *e)
{
	int rc = rootfs_path(dir, manifest_digest, ROOTFS_EROFS, buf, len, e);
	char *dot;

	if (rc)
		return rc;
	dot = strrchr(buf, '.');
	if ((size_t)(dot - buf) + sizeof(".users") > len)
		return img_fail(e, -ENAMETOOLONG, "rootfs %s: path too long", dir);
	strcpy(dot, ".users");
	return 0;
}

/* Copies etc/(name) of (etcfd) into (outfd)'s etc/(name), if it is a plain file. */
static int copy_one(int etcfd, int outfd, const char *name, struct img_err *e)
{
	char buf[USER_FILE_MAX];
	struct stat sb;
	int in = openat(etcfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), out, rc;

	if (in < 0)
		return 0; /* missing, or a symlink: left out */
	if (fstat(in, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > USER_FILE_MAX) {
		close(in);
		return 0;
	}
	rc = file_rw_all(in, false, buf, (uint64_t)sb.st_size, 0);
	close(in);
	if (rc)
		return img_fail(e, rc, "etc/%s: %s", name, strerror(-rc));
	out = openat(outfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (out < 0)
		return img_fail(e, -errno, "etc/%s: %s", name, strerror(errno));
	rc = file_rw_all(out, true, buf, (uint64_t)sb.st_size, 0);
	if (!rc && fsync(out))
		rc = -errno;
	close(out);
	return rc ? img_fail(e, rc, "etc/%s: %s", name, strerror(-rc)) : 0;
}

int rootfs_users_save(int rootfd, int tmpfd, struct img_err *e)
{
	int etcfd, outfd, rc;

	if (mkdirat(tmpfd, "users", 0755) || mkdirat(tmpfd, "users/etc", 0755))
		return img_fail(e, -errno, "users: %s", strerror(errno));
	outfd = openat(tmpfd, "users/etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (outfd < 0)
		return img_fail(e, -errno, "users/etc: %s", strerror(errno));
	etcfd = openat(rootfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	rc = etcfd < 0 ? 0 : copy_one(etcfd, outfd, "passwd", e);
	if (!rc && etcfd >= 0)
		rc = copy_one(etcfd, outfd, "group", e);
	if (etcfd >= 0)
		close(etcfd);
	close(outfd);
	return rc;
}
