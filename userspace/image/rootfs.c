/* SPDX-License-Identifier: Apache-2.0 */
/* rootfs_build(): an image's layers checked against their diff_ids, applied, and made one file. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/fileio.h"
#include "oci.h"
#include "rootfs.h"

#define TMP_NAME_LEN 16 /* "tmp-XXXXXX" */

/* One build in progress: the temporary directory in (o->dir) and what it has done. */
struct build {
	struct store *st;
	const struct rootfs_opts *o;
	struct rootfs_result *res;
	struct img_err *e;
	int dirfd;		 /* o->dir */
	int tmpfd;		 /* tmp-XXXXXX */
	char tmp[TMP_NAME_LEN];	 /* "tmp-XXXXXX" in it, "" until made */
	char tmp_path[PATH_MAX]; /* o->dir/tmp-XXXXXX */
	struct oci_manifest m;
	struct oci_config c;
};

const char *rootfs_fs_name(enum rootfs_fs fs)
{
	return fs == ROOTFS_EXT4 ? "ext4" : "erofs";
}

int rootfs_path(const char *dir, const char *manifest_digest, enum rootfs_fs fs, char *buf,
		size_t len, struct img_err *e)
{
	int rc = digest_parse(manifest_digest, NULL, e);

	if (rc)
		return rc;
	if ((size_t)snprintf(buf, len, "%s/%s.%s", dir, digest_hex(manifest_digest),
			     rootfs_fs_name(fs)) >= len)
		return img_fail(e, -ENAMETOOLONG, "rootfs %s: path too long", dir);
	return 0;
}

/* Prefixes (e)'s message with "layer DIGEST: ", which the lower function could not know. */
static int in_layer(struct img_err *e, int rc, const char *blob)
{
	char msg[sizeof(e->msg)];

	if (strstr(e->msg, blob))
		return rc;
	memcpy(msg, e->msg, sizeof(msg));
	return img_fail(e, rc, "layer %s: %s", blob, msg);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the manifest and config ---- */

/* Reads blob (digest) whole into (*buf) (the caller frees it), refusing more than (max) bytes. */
static int read_blob(struct build *b, const char *digest, size_t max, char **buf, size_t *len)
{
	uint64_t size;
	int fd, rc = store_blob_size(b->st, digest, &size, b->e);

	if (rc)
		return rc;
	if (size > max)
		return img_fail(b->e, -E2BIG, "blob %s: %llu bytes, more than %zu", digest,
				(unsigned long long)size, max);
	fd = store_blob_open(b->st, digest, b->e);
	if (fd < 0)
		return fd;
	*buf = malloc(size ? size : 1);
	rc = *buf ? file_rw_all(fd, false, *buf, size, 0) : -ENOMEM;
	close(fd);
	if (!rc) {
		*len = size;
		return 0;
	}
	free(*buf);
	*buf = NULL;
	return img_fail(b->e, rc, "blob %s: cannot read it: %s", digest, strerror(-rc));
}

static int load_manifest(struct build *b, const char *digest)
{
	char *buf;
	size_t len;
	int rc = read_blob(b, digest, OCI_MANIFEST_MAX, &buf, &len);

	if (rc)
		return rc;
	rc = oci_manifest_parse(buf, len, &b->m, b->e);
	free(buf);
	return rc;
}

static int load_config(struct build *b)
{
	char *buf;
	size_t len;
	int rc = read_blob(b, b->m.config.digest, OCI_CONFIG_MAX, &buf, &len);

	if (rc)
		return rc;
	rc = oci_config_parse(buf, len, &b->c, b->e);
	free(buf);
	if (!rc)
		rc = oci_config_check_layers(&b->c, &b->m, b->e);
	if (!rc)
		rc = oci_config_check_platform(&b->c, "linux", "amd64", b->e);
	return rc;
}

/* ---- the layers ---- */

/*
 * The same decoders as layer_apply(), so the bytes hashed are the bytes it
 * will apply: were the filter chosen by media type instead, a gzip blob
 * labelled plain would be hashed compressed and applied decompressed.
 */
static int open_raw(struct archive **out, int fd, struct img_err *e)
{
	struct archive *a = archive_read_new();

	*out = a;
	if (!a)
		return img_fail(e, -ENOMEM, "layer: out of memory");
	if (archive_read_support_format_raw(a) || archive_read_support_format_empty(a) ||
	    archive_read_support_filter_gzip(a) || archive_read_support_filter_zstd(a) ||
	    archive_read_support_filter_none(a))
		return img_fail(e, -ENOTSUP, "layer: libarchive: %s", archive_error_string(a));
	if (archive_read_open_fd(a, fd, 1 << 16))
		return img_fail(e, -EIO, "%s", archive_error_string(a));
	return 0;
}

/* Hashes the decompressed stream of (a) into (h); an empty blob is an empty stream. */
static int hash_stream(struct archive *a, struct digest_ctx *h, struct img_err *e)
{
	struct archive_entry *ae;
	char buf[1 << 16];
	la_ssize_t n;
	int rc = archive_read_next_header(a, &ae);

	if (rc == ARCHIVE_EOF)
		return 0;
	if (rc != ARCHIVE_OK)
		return img_fail(e, -EIO, "%s", archive_error_string(a));
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
		if ((rc = digest_update(h, buf, n, e)))
			return rc;
	if (n < 0)
		return img_fail(e, -EIO, "%s", archive_error_string(a));
	return 0;
}

/* The sha256 of layer (i)'s decompressed stream must be config rootfs.diff_ids[i]. */
static int check_diff_id(struct build *b, size_t i, int fd)
{
	const char *want = b->c.diff_ids[i], *blob = b->m.layers[i].digest;
	char got[DIGEST_BUF_LEN];
	struct digest_ctx h = {0};
	struct archive *a;
	int rc = open_raw(&a, fd, b->e);

	if (!rc)
		rc = digest_init(&h, b->e);
	if (!rc)
		rc = hash_stream(a, &h, b->e);
	if (!rc)
		rc = digest_final(&h, got, b->e);
	digest_free(&h);
	if (a)
		archive_read_free(a);
	if (rc)
		return in_layer(b->e, rc, blob);
	if (strcmp(got, want))
		return img_fail(b->e, -EBADMSG, "layer %s: decompressed digest %s, but diff_id %s",
				blob, got, want);
	return 0;
}

static int apply_layer(struct build *b, size_t i, int rootfd)
{
	const char *blob = b->m.layers[i].digest;
	struct layer_limits lim = b->o->limits;
	struct layer_stats ls = {0};
	int rc, fd = store_blob_open(b->st, blob, b->e);

	if (fd < 0)
		return fd;
	rc = check_diff_id(b, i, fd);
	if (!rc && lseek(fd, 0, SEEK_SET) < 0)
		rc = img_fail(b->e, -errno, "layer %s: lseek: %s", blob, strerror(errno));
	if (!rc) {
		/* The limits bound the image: this layer gets what the ones below left. */
		lim.bytes_below = b->res->bytes;
		lim.entries_below = b->res->entries;
		rc = layer_apply(rootfd, fd, &lim, &ls, b->e);
		b->res->bytes += ls.bytes;
		b->res->entries += ls.entries;
	}
	close(fd);
	return rc ? in_layer(b->e, rc, blob) : 0;
}

static int apply_layers(struct build *b)
{
	double t0 = now();
	int rc = 0, rootfd;
	size_t i;

	if (mkdirat(b->tmpfd, "root", 0755))
		return img_fail(b->e, -errno, "%s/root: %s", b->tmp_path, strerror(errno));
	rootfd = openat(b->tmpfd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return img_fail(b->e, -errno, "%s/root: %s", b->tmp_path, strerror(errno));
	for (i = 0; !rc && i < b->m.nlayers; i++)
		rc = apply_layer(b, i, rootfd);
	if (!rc)
		rc = rootfs_users_save(rootfd, b->tmpfd, b->e);
	close(rootfd);
	b->res->apply_seconds = now() - t0;
	return rc;
}

/* ---- the image file ---- */

/* Makes the image read-only and durable before its name says it is complete. */
static int seal(struct build *b)
{
	struct stat sb;
	int rc = 0, fd = openat(b->tmpfd, "fs", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fchmod(fd, 0444) || fsync(fd) || fstat(fd, &sb))
		rc = -errno;
	else
		b->res->image_bytes = (uint64_t)sb.st_size;
	if (fd >= 0)
		close(fd);
	if (rc)
		return img_fail(b->e, rc, "%s/fs: %s", b->tmp_path, strerror(-rc));
	return 0;
}

/* <hex>.users goes in first: a crash between the renames leaves a .users
 * without its image, replaced by the next build; never the reverse. */
static int place_users(struct build *b, const char *name)
{
	char users[TMP_NAME_LEN + 80];
	int rc;

	snprintf(users, sizeof(users), "%.64s.users", name);
	rc = rootfs_remove(b->dirfd, users);
	if (rc)
		return img_fail(b->e, rc, "%s/%s: %s", b->o->dir, users, strerror(-rc));
	if (renameat(b->tmpfd, "users", b->dirfd, users))
		return img_fail(b->e, -errno, "%s/%s: rename: %s", b->o->dir, users,
				strerror(errno));
	return 0;
}

static int make_image(struct build *b, const char *name)
{
	char root[PATH_MAX + 8], fs[PATH_MAX + 8];
	double t0 = now();
	int rc;

	snprintf(root, sizeof(root), "%s/root", b->tmp_path);
	snprintf(fs, sizeof(fs), "%s/fs", b->tmp_path);
	rc = rootfs_mkfs(b->o->fs, b->o->compress, root, fs, b->e);
	if (!rc)
		rc = seal(b);
	if (!rc)
		rc = place_users(b, name);
	if (!rc && renameat(b->tmpfd, "fs", b->dirfd, name))
		rc = img_fail(b->e, -errno, "%s: rename: %s", b->res->path, strerror(errno));
	if (!rc && fsync(b->dirfd))
		rc = img_fail(b->e, -errno, "%s: fsync: %s", b->o->dir, strerror(errno));
	b->res->mkfs_seconds = now() - t0;
	return rc;
}

/* ---- the build ---- */

/* Opens (o->dir), making it if missing (its parent must exist). */
static int open_dir(struct build *b)
{
	if (mkdir(b->o->dir, 0755) && errno != EEXIST)
		return img_fail(b->e, -errno, "rootfs %s: %s", b->o->dir, strerror(errno));
	b->dirfd = open(b->o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->dirfd < 0)
		return img_fail(b->e, -errno, "rootfs %s: %s", b->o->dir, strerror(errno));
	return 0;
}

/* Returns 1 when image (name) is there: it was placed whole, so it is the answer. */
static int cached(struct build *b, const char *name)
{
	struct stat sb;

	if (fstatat(b->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT
			       ? 0
			       : img_fail(b->e, -errno, "%s: %s", b->res->path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return img_fail(b->e, -EEXIST, "%s: exists and is not a file", b->res->path);
	b->res->cached = true;
	b->res->image_bytes = (uint64_t)sb.st_size;
	return 1;
}

static int make_tmp(struct build *b)
{
	if (snprintf(b->tmp_path, sizeof(b->tmp_path), "%s/tmp-XXXXXX", b->o->dir) >=
	    (int)sizeof(b->tmp_path))
		return img_fail(b->e, -ENAMETOOLONG, "rootfs %s: path too long", b->o->dir);
	if (!mkdtemp(b->tmp_path))
		return img_fail(b->e, -errno, "%s: mkdtemp: %s", b->tmp_path, strerror(errno));
	snprintf(b->tmp, sizeof(b->tmp), "%s", strrchr(b->tmp_path, '/') + 1);
	b->tmpfd = open(b->tmp_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (b->tmpfd < 0)
		return img_fail(b->e, -errno, "%s: %s", b->tmp_path, strerror(errno));
	return 0;
}

static int build(struct build *b, const char *digest, const char *name)
{
	int rc = load_manifest(b, digest);

	if (!rc)
		rc = load_config(b);
	if (!rc)
		rc = make_tmp(b);
	if (!rc)
		rc = apply_layers(b);
	if (!rc)
		rc = make_image(b, name);
	return rc;
}

/* Removes the temporary directory whatever happened; its failure is only news after a success. */
static int finish(struct build *b, int rc)
{
	int rm = 0;

	if (b->tmpfd >= 0)
		close(b->tmpfd);
	if (b->tmp[0])
		rm = rootfs_remove(b->dirfd, b->tmp);
	if (!rc && rm)
		rc = img_fail(b->e, rm, "%s: built, but cannot remove %s: %s", b->res->path,
			      b->tmp_path, strerror(-rm));
	if (b->dirfd >= 0)
		close(b->dirfd);
	oci_manifest_free(&b->m);
	oci_config_free(&b->c);
	return rc;
}

int rootfs_build(struct store *st, const char *manifest_digest, const struct rootfs_opts *o,
		 struct rootfs_result *res, struct img_err *e)
{
	struct rootfs_result own_res;
	struct img_err own_e;
	struct build b = {.st = st,
			  .o = o,
			  .res = res ? res : &own_res,
			  .e = e ? e : &own_e,
			  .dirfd = -1,
			  .tmpfd = -1};
	const char *name;
	int rc;

	memset(b.res, 0, sizeof(*b.res));
	b.e->msg[0] = 0;
	rc = rootfs_path(o->dir, manifest_digest, o->fs, b.res->path, sizeof(b.res->path), b.e);
	if (rc)
		return rc;
	name = strrchr(b.res->path, '/') + 1;
	rc = open_dir(&b);
	if (!rc)
		rc = cached(&b, name);
	if (!rc)
		rc = build(&b, manifest_digest, name);
	return finish(&b, rc < 0 ? rc : 0);
}
