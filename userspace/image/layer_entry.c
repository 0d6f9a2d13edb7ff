/* SPDX-License-Identifier: Apache-2.0 */
/* One layer entry on disk: its node (a file with its holes, a directory, a link, a device) and
 * attributes. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer_priv.h"

/* The node being made: (base) in the directory (pfd), and a descriptor on it when one can be had.
 */
struct node {
	int pfd;
	const char *base;
	int fd; /* -1 for a symlink, device or fifo: their attributes are set by name */
	unsigned int type;
};

/* Frees (base) for the entry; returns 1 when it is a directory kept for a directory entry. */
static int make_room(int pfd, const char *base, bool dir)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (dir && S_ISDIR(st.st_mode))
		return 1;
	return rootfs_remove(pfd, base);
}

static int write_all(int fd, const char *buf, size_t len, off_t off)
{
	ssize_t n;

	for (; len; buf += n, len -= n, off += n) {
		n = pwrite(fd, buf, len, off);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n < 0)
			n = 0;
	}
	return 0;
}

/*
 * Writes the data blocks at their offsets: what lies between them (a sparse
 * file's holes) is never written, so it stays a hole, and the final size comes
 * from ftruncate.
 */
static int write_body(struct layer_ctx *c, int fd)
{
	int64_t size = archive_entry_size(c->ae);
	const void *buf;
	size_t len;
	la_int64_t off;
	int r, rc;

	while ((r = archive_read_data_block(c->ar, &buf, &len, &off)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return layer_refuse(c, -EIO, "layer is truncated or corrupt: %s",
					    archive_error_string(c->ar));
		if (off < 0 || off > size || len > (uint64_t)(size - off))
			return layer_refuse(c, -EINVAL, "data past the entry's size");
		rc = write_all(fd, buf, len, off);
		if (rc)
			return layer_refuse_errno(c, rc, "write");
	}
	return ftruncate(fd, size) ? layer_refuse_errno(c, -errno, "truncate") : 0;
}

static int make_file(struct layer_ctx *c, struct node *n)
{
	/* O_EXCL | O_NOFOLLOW: the name was just freed; anything there now is not ours to write. */
	n->fd = openat(n->pfd, n->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (n->fd < 0)
		return layer_refuse_errno(c, -errno, "create");
	return write_body(c, n->fd);
}

static int make_dir(struct layer_ctx *c, struct node *n, bool kept)
{
	/* 0700 until its own mode is set, after its owner. */
	if (!kept && mkdirat(n->pfd, n->base, 0700) < 0)
		return layer_refuse_errno(c, -errno, "mkdir");
	n->fd = openat(n->pfd, n->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return n->fd < 0 ? layer_refuse_errno(c, -errno, "open") : 0;
}

static int make_symlink(struct layer_ctx *c, struct node *n)
{
	const char *target = archive_entry_symlink(c->ae);

	if (!target)
		target = archive_entry_symlink_utf8(c->ae);
	if (!target || !*target)
		return layer_refuse(c, -EINVAL, "symlink without a target");
	if (strlen(target) >= PATH_MAX)
		return layer_refuse(c, -ENAMETOOLONG, "symlink target longer than PATH_MAX");
	/* Stored as is: ember never follows it, the guest resolves it in its own root. */
	return symlinkat(target, n->pfd, n->base) ? layer_refuse_errno(c, -errno, "symlink") : 0;
}

static int make_special(struct layer_ctx *c, struct node *n)
{
	dev_t dev = 0;

	if (n->type != AE_IFIFO)
		dev = makedev(archive_entry_rdevmajor(c->ae), archive_entry_rdevminor(c->ae));
	if (mknodat(n->pfd, n->base, n->type | 0600, dev))
		return layer_refuse_errno(c, -errno, "mknod");
	return 0;
}

/* Refuses a hard link target that is not a regular file of this root, reached without symlinks. */
static int open_link_target(struct layer_ctx *c, char *target, const char **tbase, struct stat *st)
{
	const char *raw = archive_entry_hardlink(c->ae);
	char shown[200], what[256];
	int rc, tfd;

	snprintf(what, sizeof(what), "hard link target '%s'",
		 layer_quote(raw, shown, sizeof(shown)));
	if (strlen(raw) >= PATH_MAX)
		return layer_refuse(c, -ENAMETOOLONG, "%s: longer than PATH_MAX", what);
	rc = layer_clean_path(raw, target);
	if (rc)
		return layer_refuse_errno(c, rc, what);
	tfd = layer_open_parent(c->rootfd, target, false, tbase);
	if (tfd < 0)
		return layer_refuse_errno(c, tfd, what);
	if (fstatat(tfd, *tbase, st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st->st_mode)) {
		close(tfd);
		return layer_refuse(c, -EINVAL, "%s is not a regular file of the root", what);
	}
	return tfd;
}

/* A hard link names the target's inode: its owner, mode and times are the target's. */
static int make_link(struct layer_ctx *c, struct node *n)
{
	char target[PATH_MAX];
	const char *tbase;
	struct stat t, cur;
	int tfd = open_link_target(c, target, &tbase, &t), rc = 0;

	if (tfd < 0)
		return tfd;
	/* Already that inode (a link to itself): removing it first would lose the target. */
	if (!fstatat(n->pfd, n->base, &cur, AT_SYMLINK_NOFOLLOW) && cur.st_dev == t.st_dev &&
	    cur.st_ino == t.st_ino)
		goto out;
	rc = make_room(n->pfd, n->base, false);
	if (rc)
		rc = layer_refuse_errno(c, rc, "remove what it replaces");
	else if (linkat(tfd, tbase, n->pfd, n->base, 0))
		rc = layer_refuse_errno(c, -errno, "link");
out:
	close(tfd);
	return rc;
}

static int set_owner_mode(struct layer_ctx *c, struct node *n)
{
	la_int64_t uid = archive_entry_uid(c->ae), gid = archive_entry_gid(c->ae);
	mode_t mode = archive_entry_perm(c->ae) & 07777;
	int rc;

	/* (uid_t)-1 would mean "leave as is" to chown. */
	if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
		return layer_refuse(c, -EINVAL, "owner %lld:%lld out of range", (long long)uid,
				    (long long)gid);
	if (fchownat(n->pfd, n->base, uid, gid, AT_SYMLINK_NOFOLLOW))
		return layer_refuse_errno(c, -errno, "chown");
	/* After chown, which clears setuid and setgid. Linux symlinks have no mode. */
	if (n->type == AE_IFLNK)
		return 0;
	if (n->fd >= 0)
		rc = fchmod(n->fd, mode);
	else /* a device or fifo made just now: not a symlink, chmod follows nothing */
		rc = fchmodat(n->pfd, n->base, mode, 0);
	return rc ? layer_refuse_errno(c, -errno, "chmod") : 0;
}

/* user.* and security.* (file capabilities); trusted.* (overlayfs's own markers) is the host's. */
static bool xattr_wanted(const char *name)
{
	return !strncmp(name, "user.", 5) || !strncmp(name, "security.", 9);
}

static int set_xattr(struct node *n, const char *name, const void *val, size_t len)
{
	char path[PATH_MAX + 32];

	if (n->fd >= 0)
		return fsetxattr(n->fd, name, val, len, 0) ? -errno : 0;
	/* No descriptor on a symlink or device: reach it through our own descriptor on
	 * its directory; lsetxattr does not follow the last component. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", n->pfd, n->base);
	return lsetxattr(path, name, val, len, 0) ? -errno : 0;
}

/*
 * Whether (name) came earlier in the entry: libarchive's own pax writer stores
 * each xattr twice (LIBARCHIVE.xattr and SCHILY.xattr) and its reader returns
 * both. Remembers the first (XATTRS_SEEN) names.
 */
#define XATTRS_SEEN 32
static bool seen_before(const char **seen, size_t *n, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(seen[i], name))
			return true;
	if (*n < XATTRS_SEEN)
		seen[(*n)++] = name;
	return false;
}

static int set_xattrs(struct layer_ctx *c, struct node *n)
{
	const char *name, *seen[XATTRS_SEEN];
	const void *val;
	size_t len, nseen = 0;
	int rc;

	archive_entry_xattr_reset(c->ae);
	while (archive_entry_xattr_next(c->ae, &name, &val, &len) == ARCHIVE_OK) {
		if (seen_before(seen, &nseen, name))
			continue;
		rc = xattr_wanted(name) ? set_xattr(n, name, val, len) : -EOPNOTSUPP;
		/* EPERM: the kernel keeps user.* to files and directories. */
		if (rc == -EOPNOTSUPP || (rc == -EPERM && n->fd < 0 && !strncmp(name, "user.", 5)))
			c->st.xattrs_skipped++;
		else if (rc)
			return layer_refuse(c, rc, "xattr %.64s: %s", name, strerror(-rc));
	}
	return 0;
}

static int set_times(struct layer_ctx *c, struct node *n)
{
	struct archive_entry *ae = c->ae;
	struct timespec ts[2] = {
		{archive_entry_atime(ae), archive_entry_atime_nsec(ae)},
		{archive_entry_mtime(ae), archive_entry_mtime_nsec(ae)},
	};

	if (!archive_entry_atime_is_set(ae))
		ts[0] = ts[1];
	/* Writing the directory's entries would move its mtime: set once the layer is in. */
	if (n->type == AE_IFDIR)
		return layer_defer_dir_time(c, ts) ? layer_refuse(c, -ENOMEM, "out of memory") : 0;
	if (utimensat(n->pfd, n->base, ts, AT_SYMLINK_NOFOLLOW))
		return layer_refuse_errno(c, -errno, "utimensat");
	return 0;
}

static int make_node(struct layer_ctx *c, struct node *n)
{
	int kept = make_room(n->pfd, n->base, n->type == AE_IFDIR);

	if (kept < 0)
		return layer_refuse_errno(c, kept, "remove what it replaces");
	switch (n->type) {
	case AE_IFREG:
		return make_file(c, n);
	case AE_IFDIR:
		return make_dir(c, n, kept);
	case AE_IFLNK:
		return make_symlink(c, n);
	default: /* char, block, fifo: layer.c let nothing else through */
		return make_special(c, n);
	}
}

int layer_entry_create(struct layer_ctx *c, int pfd, const char *base)
{
	struct node n = {.pfd = pfd, .base = base, .fd = -1, .type = archive_entry_filetype(c->ae)};
	int rc;

	if (archive_entry_hardlink(c->ae))
		return make_link(c, &n);
	/* Owner before mode (chown clears setuid), xattrs after chown (which drops
	 * security.capability), times last. */
	rc = make_node(c, &n);
	if (!rc)
		rc = set_owner_mode(c, &n);
	if (!rc)
		rc = set_xattrs(c, &n);
	if (!rc)
		rc = set_times(c, &n);
	if (n.fd >= 0)
		close(n.fd);
	return rc;
}
