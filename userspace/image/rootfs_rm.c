/* SPDX-License-Identifier: Apache-2.0 */
/* Removing trees without following symlinks: rootfs_remove() and the opaque-directory prune. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer_priv.h"

/*
 * Opens the directory (name) of (dirfd) and makes it rwx for its owner: an
 * image's 0555 or 0000 directory must still be emptied. Refuses (-EXDEV) one
 * on another filesystem than (dev): a mount left inside a root is not ours.
 */
static int open_dir_rw(int dirfd, const char *name, dev_t dev)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc = 0;

	/* EACCES, not ELOOP or ENOTDIR: a directory, so chmod follows nothing. */
	if (fd < 0 && errno == EACCES && !fchmodat(dirfd, name, 0700, 0))
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		rc = -errno;
	else if (st.st_dev != dev)
		rc = -EXDEV;
	else if ((st.st_mode & 0700) != 0700 && fchmod(fd, (st.st_mode & 07777) | 0700))
		rc = -errno;
	if (rc)
		close(fd);
	return rc ? rc : fd;
}

/* Removes (name) of (fd) if it is not a non-empty directory; else opens it into (*sub). */
static int remove_entry(int fd, const char *name, unsigned char type, dev_t dev, int *sub)
{
	int flags = type == DT_DIR ? AT_REMOVEDIR : 0;

	if (!unlinkat(fd, name, flags))
		return 0;
	if (errno == EISDIR && !unlinkat(fd, name, AT_REMOVEDIR))
		return 0;
	if (errno == ENOENT)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	*sub = open_dir_rw(fd, name, dev);
	if (*sub >= 0)
		return 0;
	return *sub;
}

/* A listing of (fd) from its start, on a descriptor of its own: closedir() leaves (fd) open. */
static DIR *list_dir(int fd)
{
	int dfd = dup(fd), err;
	DIR *d;

	if (dfd < 0)
		return NULL;
	d = fdopendir(dfd);
	if (!d) {
		err = errno;
		close(dfd);
		errno = err;
		return NULL;
	}
	/* A dup shares the offset an earlier pass over (fd) left at the end. */
	rewinddir(d);
	return d;
}

/* The next entry of (d) but "." and ".."; NULL at the end (errno 0) or on an error. */
static struct dirent *next_child(DIR *d)
{
	struct dirent *de;

	do {
		errno = 0;
		de = readdir(d);
	} while (de && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")));
	return de;
}

/*
 * One pass over (fd): removes its files, symlinks and empty directories;
 * stops at the first directory that is not empty and returns it opened in
 * (*sub), which stays -1 once (fd) is empty.
 */
static int empty_dir(int fd, dev_t dev, int *sub)
{
	DIR *d = list_dir(fd);
	struct dirent *de;
	int rc = 0;

	*sub = -1;
	if (!d)
		return -errno;
	while (!rc && *sub < 0 && (de = next_child(d)))
		rc = remove_entry(fd, de->d_name, de->d_type, dev, sub);
	if (!rc && *sub < 0 && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

/*
 * Empties the tree under (top) (closed on return) without recursion: down into
 * the first directory that is not empty, back up through ".." once it is, so
 * depth costs neither stack nor descriptors.
 */
static int empty_tree(int top, dev_t dev)
{
	int cur = top, depth = 0, sub, rc;

	while (!(rc = empty_dir(cur, dev, &sub))) {
		if (sub >= 0) {
			depth++;
		} else if (depth--) {
			/* Empty now: back to its parent, whose next pass removes it. */
			sub = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub < 0) {
				rc = -errno;
				break;
			}
		} else {
			break;
		}
		close(cur);
		cur = sub;
	}
	close(cur);
	return rc;
}

int rootfs_remove(int dirfd, const char *name)
{
	struct stat st;
	int fd, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) && errno != ENOENT ? -errno : 0;
	fd = open_dir_rw(dirfd, name, st.st_dev);
	if (fd < 0)
		return fd;
	rc = empty_tree(fd, st.st_dev);
	if (!rc && unlinkat(dirfd, name, AT_REMOVEDIR))
		rc = -errno;
	return rc;
}

/* The child (name) of the cleaned directory path (path, len): kept if this layer made it. */
static int prune_child(struct layer_ctx *c, int dfd, char *path, size_t len, const char *name)
{
	size_t n = len + !!len + strlen(name);
	int sub, rc;

	/* Longer than any path of this layer: not one of them. */
	if (n >= PATH_MAX)
		return rootfs_remove(dfd, name);
	snprintf(path + len, PATH_MAX - len, "%s%s", len ? "/" : "", name);
	if (!path_set_has(&c->mine, path))
		rc = rootfs_remove(dfd, name);
	else if ((sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		/* This layer's directory: the lower layers' entries under it are hidden too. */
		rc = layer_prune_opaque(c, sub, path, n);
		close(sub);
	} else
		rc = errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
	path[len] = 0;
	return rc;
}

int layer_prune_opaque(struct layer_ctx *c, int dfd, char *path, size_t len)
{
	DIR *d = list_dir(dfd);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -errno;
	while (!rc && (de = next_child(d)))
		rc = prune_child(c, dfd, path, len, de->d_name);
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}
