/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 content digests ("sha256:<64 lowercase hex>"): validation and hashing. */
#ifndef EMBER_USERSPACE_IMAGE_DIGEST_H
#define EMBER_USERSPACE_IMAGE_DIGEST_H

#include <stddef.h>

#include "img_err.h"

/*
 * A digest names a blob and, once checked, becomes a file name in the store,
 * so the one accepted form is deliberately narrow: "sha256:" and exactly 64
 * lowercase hex digits. OCI allows other algorithms and registries may send
 * uppercase, but accepting them would give one blob several names (or a path
 * with '/' in it); they are refused instead.
 *
 * Digests travel as NUL-terminated strings; DIGEST_BUF_LEN holds one.
 * Not thread-safe beyond what libcrypto is: a hasher belongs to one caller.
 */
#define DIGEST_PREFIX  "sha256:"
#define DIGEST_HEX_LEN 64
#define DIGEST_STR_LEN (sizeof(DIGEST_PREFIX) - 1 + DIGEST_HEX_LEN)
#define DIGEST_BUF_LEN (DIGEST_STR_LEN + 1)

/*
 * digest_parse() - check that (s) is a digest in the one accepted form.
 * (out), if not NULL, gets a copy. Returns 0, or -EINVAL and fills (e) with
 * what is wrong (no "sha256:" prefix, another algorithm, wrong length,
 * uppercase, a character that is not a hex digit). (s) may be NULL.
 */
int digest_parse(const char *s, char out[DIGEST_BUF_LEN], struct img_err *e)
	__attribute__((warn_unused_result));

/* digest_hex() - the 64 hex digits of a digest digest_parse() accepted. */
const char *digest_hex(const char *digest);

/*
 * A streaming SHA-256 hasher over libcrypto's EVP interface. The context
 * lives behind a pointer so callers need no OpenSSL header.
 */
struct evp_md_ctx_st;
struct digest_ctx {
	struct evp_md_ctx_st *md;
};

/* digest_init() - start hashing into (h). Returns 0, -ENOMEM or -EIO. */
int digest_init(struct digest_ctx *h, struct img_err *e) __attribute__((warn_unused_result));

/* digest_update() - hash (n) more bytes at (buf). Returns 0 or -EIO. */
int digest_update(struct digest_ctx *h, const void *buf, size_t n, struct img_err *e)
	__attribute__((warn_unused_result));

/*
 * digest_final() - write the digest of everything hashed into (out) and
 * release (h), whatever the result. Returns 0 or -EIO.
 */
int digest_final(struct digest_ctx *h, char out[DIGEST_BUF_LEN], struct img_err *e)
	__attribute__((warn_unused_result));

/* digest_free() - release (h) without a result; a no-op once released. */
void digest_free(struct digest_ctx *h);

/* digest_buf() - the digest of the (n) bytes at (buf) into (out). Returns 0 or -errno. */
int digest_buf(const void *buf, size_t n, char out[DIGEST_BUF_LEN], struct img_err *e)
	__attribute__((warn_unused_result));

#endif
