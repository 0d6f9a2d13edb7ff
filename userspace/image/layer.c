/* SPDX-License-Identifier: Apache-2.0 */
/* layer_apply(): reading an OCI layer with libarchive, vetting each entry, whiteouts, limits. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "layer_priv.h"

/* A hostile name must not break the one-line message: control bytes and quotes as \xNN, cut. */
const char *layer_quote(const char *in, char *out, size_t n)
{
	size_t o = 0;
	unsigned char ch;

	for (; *in && o + 8 < n; in++) {
		ch = *in;
		if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch == '\\')
			o += snprintf(out + o, n - o, "\\x%02x", ch);
		else
			out[o++] = ch;
	}
	snprintf(out + o, n - o, "%s", *in ? "..." : "");
	return out;
}

int layer_refuse(struct layer_ctx *c, int rc, const char *fmt, ...)
{
	char why[256], name[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return img_fail(c->e, rc, "entry '%s': %s", layer_quote(c->raw, name, sizeof(name)), why);
}

int layer_refuse_errno(struct layer_ctx *c, int rc, const char *what)
{
	switch (rc) {
	case -ELOOP:
		return layer_refuse(c, rc, "%s goes through a symlink", what);
	case -EXDEV:
		return layer_refuse(c, rc, "%s leaves the root", what);
	case -ENOTDIR:
		return layer_refuse(c, rc, "%s goes through a non-directory", what);
	default:
		return layer_refuse(c, rc, "%s: %s", what, strerror(-rc));
	}
}

int layer_defer_dir_time(struct layer_ctx *c, const struct timespec ts[2])
{
	struct dir_time *d;
	size_t cap = c->dircap ? c->dircap * 2 : 64;

	if (c->ndirs == c->dircap) {
		d = reallocarray(c->dirs, cap, sizeof(*d));
		if (!d)
			return -ENOMEM;
		c->dirs = d;
		c->dircap = cap;
	}
	d = &c->dirs[c->ndirs];
	d->path = strdup(c->path);
	if (!d->path)
		return -ENOMEM;
	memcpy(d->ts, ts, sizeof(d->ts));
	c->ndirs++;
	return 0;
}

/*
 * Only what OCI layers are: tar (pax, ustar, gnutar) through gzip, zstd or
 * nothing, and an empty blob as an empty layer (containerd reads it so). "all"
 * would expose cpio, zip, iso9660 and more parsers to hostile input for no
 * layer's sake. A filter that is not built in makes libarchive say
 * ARCHIVE_WARN and run an external program instead: refused too.
 */
static int open_layer(struct layer_ctx *c, int fd)
{
	struct archive *a = archive_read_new();

	c->ar = a;
	if (!a)
		return img_fail(c->e, -ENOMEM, "layer: out of memory");
	if (archive_read_support_format_tar(a) || archive_read_support_format_empty(a) ||
	    archive_read_support_filter_gzip(a) || archive_read_support_filter_zstd(a) ||
	    archive_read_support_filter_none(a))
		return img_fail(c->e, -ENOTSUP, "layer: libarchive: %s", archive_error_string(a));
	if (archive_read_open_fd(a, fd, 1 << 16))
		return img_fail(c->e, -EIO, "layer is truncated or corrupt: %s",
				archive_error_string(a));
	return 0;
}

/* Refuses a name that leaves the root; fills c->path with it cleaned. */
static int clean_name(struct layer_ctx *c, const char *name)
{
	int rc;

	if (strlen(name) >= PATH_MAX)
		return layer_refuse(c, -ENAMETOOLONG, "path longer than PATH_MAX (%d)", PATH_MAX);
	rc = layer_clean_path(name, c->path);
	if (rc == -EXDEV && *name == '/')
		return layer_refuse(c, rc, "absolute path");
	if (rc == -EXDEV)
		return layer_refuse(c, rc, "a '..' component leaves the root");
	if (rc)
		return layer_refuse(c, rc, "path longer than PATH_MAX (%d)", PATH_MAX);
	return 0;
}

/* Vets the entry's name and the entry count; fills c->raw and c->path. */
static int vet_name(struct layer_ctx *c)
{
	const char *name = archive_entry_pathname(c->ae);

	if (!name)
		name = archive_entry_pathname_utf8(c->ae);
	snprintf(c->raw, sizeof(c->raw), "%s", name ? name : "");
	if (!name || !*name)
		return layer_refuse(c, -EINVAL, "entry %llu has no name",
				    (unsigned long long)c->st.entries);
	if (c->lim.max_entries && c->lim.entries_below + c->st.entries > c->lim.max_entries)
		return layer_refuse(c, -E2BIG, "more entries than the limit of %llu",
				    (unsigned long long)c->lim.max_entries);
	return clean_name(c, name);
}

/* Reads the next header into c->ae. Returns 1, 0 at the end, or -errno. */
static int next_entry(struct layer_ctx *c)
{
	char prev[200];
	int r = archive_read_next_header(c->ar, &c->ae);

	if (r == ARCHIVE_EOF)
		return 0;
	/* ARCHIVE_WARN includes a UTF-8 name kept as bytes, which is what Linux stores. */
	if (r < ARCHIVE_WARN && !c->st.entries)
		return img_fail(c->e, -EIO, "layer is truncated or corrupt: %s",
				archive_error_string(c->ar));
	if (r < ARCHIVE_WARN)
		return img_fail(c->e, -EIO, "layer is truncated or corrupt after entry '%s': %s",
				layer_quote(c->raw, prev, sizeof(prev)),
				archive_error_string(c->ar));
	c->st.entries++;
	return vet_name(c) ?: 1;
}

/* Whether a component above the last one is a whiteout: a whiteout has no children. */
static bool under_whiteout(const char *path, const char *base)
{
	const char *p;

	for (p = path; p < base; p = strchr(p, '/') + 1)
		if (!strncmp(p, ".wh.", 4))
			return true;
	return false;
}

/* Opens (O_RDONLY) the directory of c->path's last component, (len) bytes of it. */
static int open_entry_dir(struct layer_ctx *c, size_t len, char *dir)
{
	memcpy(dir, c->path, len);
	dir[len] = 0;
	return open_beneath(c->rootfd, len ? dir : ".", O_RDONLY | O_DIRECTORY);
}

/* .wh..wh..opq in (dir) (len bytes of c->path): the lower layers' children of dir go. */
static int apply_opaque(struct layer_ctx *c, size_t len)
{
	char dir[PATH_MAX];
	int fd = open_entry_dir(c, len, dir), rc;

	/* The marker says dir is this layer's: an opaque parent's marker must keep it. */
	rc = path_set_add_tree(&c->mine, dir);
	if (rc)
		return layer_refuse(c, rc, "out of memory");
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return layer_refuse_errno(c, fd, "its directory");
	rc = layer_prune_opaque(c, fd, dir, len);
	close(fd);
	return rc ? layer_refuse(c, rc, "opaque directory: %s", strerror(-rc)) : 0;
}

/* .wh.NAME: NAME of the lower layers goes (this layer's own NAME, listed before, stays). */
static int apply_whiteout(struct layer_ctx *c, const char *base)
{
	const char *name = base + 4, *ignored;
	char target[PATH_MAX];
	size_t len = base - c->path;
	int pfd, rc;

	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return layer_refuse(c, -EXDEV, "whiteout of '%s' leaves its directory", name);
	snprintf(target, sizeof(target), "%.*s%s", (int)len, c->path, name);
	if (path_set_has(&c->mine, target))
		return 0;
	pfd = layer_open_parent(c->rootfd, c->path, false, &ignored);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0;
	if (pfd < 0)
		return layer_refuse_errno(c, pfd, "its directory");
	rc = rootfs_remove(pfd, name);
	close(pfd);
	return rc ? layer_refuse(c, rc, "whiteout: %s", strerror(-rc)) : 0;
}

static int apply_whiteout_entry(struct layer_ctx *c, const char *base)
{
	size_t len = base - c->path;
	int rc;

	if (!strcmp(base, ".wh..wh..opq"))
		rc = apply_opaque(c, len ? len - 1 : 0);
	else if (!strncmp(base, ".wh..wh.", 8))
		return 0; /* aufs's own bookkeeping (.wh..wh.plnk), not a change */
	else
		rc = apply_whiteout(c, base);
	c->st.whiteouts += !rc;
	return rc;
}

/* Counts a regular file's apparent size against the limit before a byte is written. */
static int count_bytes(struct layer_ctx *c)
{
	int64_t size = archive_entry_size(c->ae);
	uint64_t used = c->lim.bytes_below + c->st.bytes;

	if (size < 0)
		return layer_refuse(c, -EINVAL, "negative size");
	if (c->lim.max_bytes &&
	    (used > c->lim.max_bytes || (uint64_t)size > c->lim.max_bytes - used))
		return layer_refuse(c, -EFBIG,
				    "the files exceed the limit of %llu bytes (this one: %lld, "
				    "%llu before it)",
				    (unsigned long long)c->lim.max_bytes, (long long)size,
				    (unsigned long long)used);
	c->st.bytes += size;
	return 0;
}

/* Vets the entry's type; returns 1 for a socket, which is skipped. */
static int check_type(struct layer_ctx *c, bool link)
{
	unsigned int type = archive_entry_filetype(c->ae);

	if (link)
		return *c->path ? 0
				: layer_refuse(c, -EINVAL, "a hard link cannot replace the root");
	switch (type) {
	case AE_IFSOCK:
		return 1; /* a running program's endpoint; no image ships one */
	case AE_IFDIR:
		return 0;
	case AE_IFREG:
		if (!*c->path)
			break;
		return count_bytes(c);
	case AE_IFLNK:
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (!*c->path)
			break;
		return 0;
	default:
		return layer_refuse(c, -EINVAL, "unknown entry type 0%o", type);
	}
	return layer_refuse(c, -EINVAL, "only a directory can be the root");
}

static int apply_node(struct layer_ctx *c)
{
	const char *base;
	int pfd, rc = check_type(c, archive_entry_hardlink(c->ae) != NULL);

	if (rc)
		return rc < 0 ? rc : 0;
	if (path_set_add_tree(&c->mine, c->path))
		return layer_refuse(c, -ENOMEM, "out of memory");
	pfd = layer_open_parent(c->rootfd, c->path, true, &base);
	if (pfd < 0)
		return layer_refuse_errno(c, pfd, "its parent path");
	rc = layer_entry_create(c, pfd, base);
	close(pfd);
	return rc;
}

static int apply_entry(struct layer_ctx *c)
{
	const char *base = strrchr(c->path, '/');

	base = base ? base + 1 : c->path;
	if (under_whiteout(c->path, base))
		return layer_refuse(c, -EINVAL, "a whiteout cannot have children");
	if (!strncmp(base, ".wh.", 4))
		return apply_whiteout_entry(c, base);
	return apply_node(c);
}

/* Directories' mtimes, now that nothing more is written into them. */
static int set_dir_times(struct layer_ctx *c)
{
	const char *base;
	struct stat st;
	size_t i;
	int pfd, rc = 0;

	for (i = 0; i < c->ndirs && !rc; i++) {
		/* Gone, or replaced by a later entry: nothing to stamp. */
		pfd = layer_open_parent(c->rootfd, c->dirs[i].path, false, &base);
		if (pfd < 0)
			continue;
		if (!fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) && S_ISDIR(st.st_mode) &&
		    utimensat(pfd, base, c->dirs[i].ts, AT_SYMLINK_NOFOLLOW))
			rc = img_fail(c->e, -errno, "directory '%s': mtime: %s", c->dirs[i].path,
				      strerror(errno));
		close(pfd);
	}
	return rc;
}

static void layer_ctx_free(struct layer_ctx *c)
{
	size_t i;

	archive_read_free(c->ar);
	path_set_free(&c->mine);
	for (i = 0; i < c->ndirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
}

int layer_apply(int rootfd, int layer_fd, const struct layer_limits *lim, struct layer_stats *st,
		struct img_err *e)
{
	struct layer_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return img_fail(e, -ENOMEM, "layer: out of memory");
	c->rootfd = rootfd;
	c->e = e;
	if (lim)
		c->lim = *lim;
	rc = open_layer(c, layer_fd);
	while (!rc && (rc = next_entry(c)) == 1)
		rc = apply_entry(c);
	if (!rc)
		rc = set_dir_times(c);
	if (st)
		*st = c->st;
	layer_ctx_free(c);
	free(c);
	return rc;
}
