/* SPDX-License-Identifier: Apache-2.0 */
/* The content-addressed blob store of OCI images, and the image references that name its manifests.
 */
#ifndef EMBER_USERSPACE_IMAGE_STORE_H
#define EMBER_USERSPACE_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "img_err.h"

/*
 * A store rooted at a directory DIR (emberd passes STATE/images):
 *
 *   DIR/blobs/sha256/<hex>  blobs, mode 0444, named by the SHA-256 of their
 *                           contents; a blob is only ever placed there after
 *                           its size and digest were verified, so a name
 *                           there can be trusted without rehashing.
 *   DIR/tmp/                blobs being written; emptied at every open, so an
 *                           interrupted import leaves nothing a later run uses.
 *   DIR/refs.json           image references, name -> manifest digest
 *                           ("redis:7" -> "sha256:..."), replaced atomically.
 *
 * Functions returning int return 0 or -errno and fill (e), when not NULL,
 * with one line saying why. Digests are the strings of digest.h. Nothing
 * here is thread-safe: emberd uses a store from its one event loop.
 */
struct store;
struct store_writer;

/* Longest image reference name store_ref_set() accepts. */
#define STORE_REF_MAX 255

/*
 * store_open() - open the store at (dir), creating its layout if needed (the
 * parent of (dir) must exist), removing every file left in DIR/tmp/ and
 * loading DIR/refs.json. A refs.json that is not valid is an error (-EINVAL),
 * never silently emptied. On success (*out) is the caller's, to store_close().
 */
int store_open(const char *dir, struct store **out, struct img_err *e)
	__attribute__((warn_unused_result));

/* store_close() - release (st); NULL is a no-op. Open writers must be gone. */
void store_close(struct store *st);

/*
 * store_writer_open() - start a blob in DIR/tmp/. (expected), if not NULL,
 * is the digest the contents must have; (expected_size), if not -1, their
 * exact size. On success (*out) belongs to the caller until it passes it to
 * store_writer_commit() or store_writer_abort(), which free it.
 */
int store_writer_open(struct store *st, const char *expected, int64_t expected_size,
		      struct store_writer **out, struct img_err *e)
	__attribute__((warn_unused_result));

/*
 * store_writer_write() - append (n) bytes at (buf), hashing them on the way.
 * Returns -EFBIG at once, writing nothing, when they would pass the expected
 * size. After any failure the writer only accepts store_writer_abort() (or a
 * commit, which then fails).
 */
int store_writer_write(struct store_writer *w, const void *buf, size_t n, struct img_err *e)
	__attribute__((warn_unused_result));

/*
 * store_writer_commit() - verify and place the blob, and free (w) whatever
 * the result. A size or digest that does not match the expected ones is
 * -EBADMSG, its message naming both, and leaves nothing behind. On success
 * the file is fsynced, renamed into blobs/ (or dropped when that blob is
 * already there) and the directory fsynced; (digest_out), if not NULL, gets
 * the blob's digest.
 */
int store_writer_commit(struct store_writer *w, char digest_out[DIGEST_BUF_LEN], struct img_err *e)
	__attribute__((warn_unused_result));

/* store_writer_abort() - remove the temporary file and free (w); NULL is a no-op. */
void store_writer_abort(struct store_writer *w);

/* store_has() - whether blob (digest) is in the store (false for a bad digest). */
bool store_has(const struct store *st, const char *digest);

/*
 * store_blob_open() - the blob (digest) opened read-only (O_CLOEXEC): returns
 * an fd the caller closes, or -EINVAL (bad digest), -ENOENT (not stored) or
 * another -errno.
 */
int store_blob_open(const struct store *st, const char *digest, struct img_err *e)
	__attribute__((warn_unused_result));

/*
 * store_blob_path() - the absolute path of blob (digest) into (buf) of (len)
 * bytes, whether or not it is stored. Returns 0, -EINVAL or -ENAMETOOLONG.
 */
int store_blob_path(const struct store *st, const char *digest, char *buf, size_t len)
	__attribute__((warn_unused_result));

/* store_blob_size() - the size of the stored blob (digest) into (*size). */
int store_blob_size(const struct store *st, const char *digest, uint64_t *size, struct img_err *e)
	__attribute__((warn_unused_result));

/* store_blob_remove() - remove blob (digest); -ENOENT when it is not stored.
 * References are not checked: deciding what is unused is the caller's job. */
int store_blob_remove(struct store *st, const char *digest, struct img_err *e);

/*
 * store_blob_foreach() - call (cb) with the digest of every stored blob (in
 * directory order; files whose name is not a digest are skipped). A non-zero
 * return from (cb) stops the walk and is returned. (cb) must not add or
 * remove blobs.
 */
int store_blob_foreach(const struct store *st, int (*cb)(const char *digest, void *ctx), void *ctx,
		       struct img_err *e);

/*
 * store_ref_name_check() - a sanity check of an image reference name: 1 to
 * STORE_REF_MAX printable ASCII characters, no whitespace. The full
 * reference grammar is the reference parser's. Returns 0 or -EINVAL.
 */
int store_ref_name_check(const char *name, struct img_err *e);

/*
 * store_ref_set() - point reference (name) at manifest (digest), replacing
 * what it named. refs.json is rewritten durably before this returns; on any
 * failure the references, in memory and on disk, are unchanged. The blob
 * need not be stored yet (a pull may name it first).
 */
int store_ref_set(struct store *st, const char *name, const char *digest, struct img_err *e)
	__attribute__((warn_unused_result));

/* store_ref_get() - the digest reference (name) points at into (out); -ENOENT if none. */
int store_ref_get(const struct store *st, const char *name, char out[DIGEST_BUF_LEN],
		  struct img_err *e) __attribute__((warn_unused_result));

/* store_ref_del() - remove reference (name), durably like store_ref_set(); -ENOENT if none. */
int store_ref_del(struct store *st, const char *name, struct img_err *e)
	__attribute__((warn_unused_result));

/*
 * store_ref_foreach() - call (cb) for every reference in name order. A
 * non-zero return from (cb) stops the walk and is returned; -ENOMEM otherwise
 * possible. The strings are valid during the call only; (cb) must not change
 * the references.
 */
int store_ref_foreach(const struct store *st,
		      int (*cb)(const char *name, const char *digest, void *ctx), void *ctx);

#endif
