/* SPDX-License-Identifier: Apache-2.0 */
/* The blob store: its directory layout and blobs verified while they are written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../vmm/fileio.h"
#include "store.h"
#include "store_impl.h"

struct store_writer {
	struct store *st;
	int fd;			       /* the temporary file, -1 once closed */
	char tmp[48];		       /* its name in DIR/tmp/, "" once not ours to remove */
	struct digest_ctx hash;	       /* of everything written so far */
	char expected[DIGEST_BUF_LEN]; /* "" when the caller gave none */
	int64_t expected_size;	       /* -1 when the caller gave none */
	uint64_t size;		       /* bytes written so far */
	int failed; /* the first write's error: the file no longer matches the hash */
};

/* ---- layout ---- */

/* Opens directory (name) under (dfd), creating it with (mode) if missing. */
static int dir_open_at(int dfd, const char *name, mode_t mode, int *out)
{
	if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	*out = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *out < 0 ? -errno : 0;
}

/* A fresh stream over directory (dfd): a dup() would share, and move, its offset. */
static DIR *dir_stream(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (fd >= 0 && !d)
		close(fd);
	return d;
}

/*
 * DIR is 0700: a private registry's layers are nobody else's to read. The
 * blobs are 0444 so that nothing, emberd included, edits one in place.
 */
static int layout_open(struct store *st, const char *dir, struct img_err *e)
{
	int rc = 0, blobs;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		rc = -errno;
	if (!rc && !(st->dir = realpath(dir, NULL)))
		rc = -errno;
	if (!rc && (st->root_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = -errno;
	if (rc)
		return img_fail(e, rc, "image store %s: %s", dir, strerror(-rc));
	rc = dir_open_at(st->root_fd, "blobs", 0755, &blobs);
	if (!rc) {
		rc = dir_open_at(blobs, "sha256", 0755, &st->blobs_fd);
		close(blobs);
	}
	if (!rc)
		rc = dir_open_at(st->root_fd, "tmp", 0700, &st->tmp_fd);
	if (rc)
		return img_fail(e, rc, "image store %s: cannot make its layout: %s", st->dir,
				strerror(-rc));
	return 0;
}

/*
 * Whatever DIR/tmp/ holds was never verified, or was interrupted before it
 * was placed: none of it is trusted, so none of it is kept. A directory there
 * is not ours and stays. The same goes for file_replace()'s refs.json.tmp.
 */
static int tmp_clean(struct store *st, struct img_err *e)
{
	DIR *d = dir_stream(st->tmp_fd);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return img_fail(e, -errno, "image store %s/tmp: %s", st->dir, strerror(errno));
	while (!rc && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    unlinkat(st->tmp_fd, de->d_name, 0) < 0 && errno != EISDIR)
			rc = img_fail(e, -errno, "image store %s/tmp/%s: cannot remove it: %s",
				      st->dir, de->d_name, strerror(errno));
	}
	closedir(d);
	if (!rc && unlinkat(st->root_fd, REFS_FILE ".tmp", 0) < 0 && errno != ENOENT)
		rc = img_fail(e, -errno, "image store %s/" REFS_FILE ".tmp: %s", st->dir,
			      strerror(errno));
	return rc;
}

/* ---- blobs ---- */

/* One message for a blob that could not be reached, naming the digest. */
static int blob_fail(const struct store *st, const char *digest, int rc, struct img_err *e)
{
	if (rc == -ENOENT)
		return img_fail(e, rc, "blob %s is not in the image store", digest);
	return img_fail(e, rc, "image store %s: blob %s: %s", st->dir, digest, strerror(-rc));
}

static int blob_stat(const struct store *st, const char *digest, struct stat *sb, struct img_err *e)
{
	int rc = digest_parse(digest, NULL, e);

	if (rc)
		return rc;
	if (fstatat(st->blobs_fd, digest_hex(digest), sb, AT_SYMLINK_NOFOLLOW) < 0)
		return blob_fail(st, digest, -errno, e);
	if (!S_ISREG(sb->st_mode))
		return img_fail(e, -EINVAL, "image store %s: blob %s is not a regular file",
				st->dir, digest);
	return 0;
}

bool store_has(const struct store *st, const char *digest)
{
	struct stat sb;

	return blob_stat(st, digest, &sb, NULL) == 0;
}

int store_blob_size(const struct store *st, const char *digest, uint64_t *size, struct img_err *e)
{
	struct stat sb;
	int rc = blob_stat(st, digest, &sb, e);

	if (!rc)
		*size = (uint64_t)sb.st_size;
	return rc;
}

int store_blob_open(const struct store *st, const char *digest, struct img_err *e)
{
	int rc = digest_parse(digest, NULL, e), fd;

	if (rc)
		return rc;
	fd = openat(st->blobs_fd, digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? blob_fail(st, digest, -errno, e) : fd;
}

int store_blob_path(const struct store *st, const char *digest, char *buf, size_t len)
{
	if (digest_parse(digest, NULL, NULL))
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/blobs/sha256/%s", st->dir, digest_hex(digest)) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int store_blob_remove(struct store *st, const char *digest, struct img_err *e)
{
	int rc = digest_parse(digest, NULL, e);

	if (rc)
		return rc;
	if (unlinkat(st->blobs_fd, digest_hex(digest), 0) < 0)
		return blob_fail(st, digest, -errno, e);
	return 0;
}

int store_blob_foreach(const struct store *st, int (*cb)(const char *digest, void *ctx), void *ctx,
		       struct img_err *e)
{
	char digest[sizeof(DIGEST_PREFIX) + NAME_MAX];
	DIR *d = dir_stream(st->blobs_fd);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return img_fail(e, -errno, "image store %s/blobs: %s", st->dir, strerror(errno));
	while (!rc && (errno = 0, de = readdir(d))) {
		snprintf(digest, sizeof(digest), DIGEST_PREFIX "%s", de->d_name);
		if (!digest_parse(digest, NULL, NULL))
			rc = cb(digest, ctx);
	}
	if (!rc && errno)
		rc = img_fail(e, -errno, "image store %s/blobs: %s", st->dir, strerror(errno));
	closedir(d);
	return rc;
}

/* ---- blob writer ---- */

/* What to call the blob in a message before its digest is known. */
static const char *writer_name(const struct store_writer *w)
{
	return w->expected[0] ? w->expected : "being written";
}

/* A name of our own in DIR/tmp/: O_EXCL, so never another writer's file. */
static int writer_create(struct store_writer *w, struct img_err *e)
{
	struct store *st = w->st;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		snprintf(w->tmp, sizeof(w->tmp), "blob-%d-%u", (int)getpid(), st->tmp_seq++);
		w->fd = openat(st->tmp_fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (w->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	w->tmp[0] = 0;
	return img_fail(e, -errno, "image store %s/tmp: cannot create a file: %s", st->dir,
			strerror(errno));
}

int store_writer_open(struct store *st, const char *expected, int64_t expected_size,
		      struct store_writer **out, struct img_err *e)
{
	struct store_writer *w;
	int rc;

	*out = NULL;
	if (expected_size < -1)
		return img_fail(e, -EINVAL, "blob size %lld is not valid",
				(long long)expected_size);
	w = calloc(1, sizeof(*w));
	if (!w)
		return img_fail(e, -ENOMEM, "blob writer: out of memory");
	w->st = st;
	w->fd = -1;
	w->expected_size = expected_size;
	rc = expected ? digest_parse(expected, w->expected, e) : 0;
	if (!rc)
		rc = digest_init(&w->hash, e);
	if (!rc)
		rc = writer_create(w, e);
	if (rc) {
		store_writer_abort(w);
		return rc;
	}
	*out = w;
	return 0;
}

int store_writer_write(struct store_writer *w, const void *buf, size_t n, struct img_err *e)
{
	int rc;

	if (w->failed)
		return img_fail(e, w->failed, "blob %s: an earlier write failed", writer_name(w));
	/* Refused before it is written: a registry cannot fill the disk past what it promised. */
	if (w->expected_size >= 0 && n > (uint64_t)w->expected_size - w->size)
		rc = img_fail(e, -EFBIG, "blob %s: more than the expected %lld bytes arrived",
			      writer_name(w), (long long)w->expected_size);
	else if ((rc = file_rw_all(w->fd, true, (void *)buf, n, w->size)))
		rc = img_fail(e, rc, "image store %s/tmp/%s: %s", w->st->dir, w->tmp,
			      strerror(-rc));
	else
		rc = digest_update(&w->hash, buf, n, e);
	if (rc)
		w->failed = rc;
	else
		w->size += n;
	return rc;
}

void store_writer_abort(struct store_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp[0])
		unlinkat(w->st->tmp_fd, w->tmp, 0);
	digest_free(&w->hash);
	free(w);
}

/* The size and the digest the caller expected, against what arrived. */
static int writer_verify(struct store_writer *w, char got[DIGEST_BUF_LEN], struct img_err *e)
{
	int rc;

	if (w->failed)
		return img_fail(e, w->failed, "blob %s: an earlier write failed", writer_name(w));
	if (w->expected_size >= 0 && w->size != (uint64_t)w->expected_size)
		return img_fail(e, -EBADMSG, "blob %s: %llu bytes arrived, expected %lld",
				writer_name(w), (unsigned long long)w->size,
				(long long)w->expected_size);
	rc = digest_final(&w->hash, got, e);
	if (!rc && w->expected[0] && strcmp(got, w->expected))
		rc = img_fail(e, -EBADMSG, "blob digest mismatch: expected %s, got %s", w->expected,
			      got);
	return rc;
}

/*
 * The blob is whole on disk before it gets its name, and the name is on disk
 * before this returns: readers trust a name in blobs/ without rehashing.
 */
static int writer_place(struct store_writer *w, const char *digest, struct img_err *e)
{
	struct store *st = w->st;
	int rc = 0;

	if (store_has(st, digest))
		return 0; /* the same bytes are already there; store_writer_abort() drops ours */
	if (fchmod(w->fd, 0444) < 0 || fsync(w->fd) < 0)
		rc = -errno;
	if (close(w->fd) < 0 && !rc)
		rc = -errno;
	w->fd = -1;
	if (!rc && renameat(st->tmp_fd, w->tmp, st->blobs_fd, digest_hex(digest)) < 0)
		rc = -errno;
	if (rc)
		return img_fail(e, rc, "image store %s: cannot place blob %s: %s", st->dir, digest,
				strerror(-rc));
	w->tmp[0] = 0;
	if (fsync(st->blobs_fd) < 0)
		return img_fail(e, -errno, "image store %s/blobs: fsync: %s", st->dir,
				strerror(errno));
	return 0;
}

int store_writer_commit(struct store_writer *w, char digest_out[DIGEST_BUF_LEN], struct img_err *e)
{
	char got[DIGEST_BUF_LEN];
	int rc = writer_verify(w, got, e);

	if (!rc)
		rc = writer_place(w, got, e);
	if (!rc && digest_out)
		memcpy(digest_out, got, DIGEST_BUF_LEN);
	store_writer_abort(w);
	return rc;
}

/* ---- open and close ---- */

int store_open(const char *dir, struct store **out, struct img_err *e)
{
	struct store *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st)
		return img_fail(e, -ENOMEM, "image store %s: out of memory", dir);
	st->root_fd = st->blobs_fd = st->tmp_fd = -1;
	rc = layout_open(st, dir, e);
	if (!rc)
		rc = tmp_clean(st, e);
	if (!rc)
		rc = refs_load(st, e);
	if (rc) {
		store_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->tmp_fd >= 0)
		close(st->tmp_fd);
	if (st->blobs_fd >= 0)
		close(st->blobs_fd);
	if (st->root_fd >= 0)
		close(st->root_fd);
	json_decref(st->refs);
	free(st->dir);
	free(st);
}
