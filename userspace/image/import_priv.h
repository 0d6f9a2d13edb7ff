/* SPDX-License-Identifier: Apache-2.0 */
/* The importers' insides: an image source (layout directory or tar) and one import's blobs. */
#ifndef EMBER_USERSPACE_IMAGE_IMPORT_PRIV_H
#define EMBER_USERSPACE_IMAGE_IMPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import.h"
#include "oci.h"

/* A file's name inside a source: "blobs/sha256/<hex>", "<id>/layer.tar". */
#define IMP_PATH_MAX DOCKER_PATH_MAX
/* Bytes moved per read while a blob is copied, and between progress calls. */
#define IMP_CHUNK	  (64 << 10)
#define IMP_PROGRESS_STEP (1 << 20)

struct imp_job;
struct imp_src;

/* What a source is; each function returns 0 or -errno and fills (e). */
struct imp_src_ops {
	/* Reads file (path) of at most (max) bytes into (*buf, *len), heap, the
	 * caller's to free; -ENOENT when it is missing, -E2BIG when larger. */
	int (*read)(struct imp_src *s, const char *path, size_t max, char **buf, size_t *len,
		    struct img_err *e);
	/* The size of the regular file (path) into (*size), and into (real) of
	 * IMP_PATH_MAX + 1 bytes the name copy() finds it by (a tar's link
	 * resolved); -ENOENT when missing, -EINVAL when not a regular file. */
	int (*stat)(struct imp_src *s, const char *path, char *real, uint64_t *size,
		    struct img_err *e);
	/* Streams every blob imp_job_pending() names into the store (imp_blob_copy()). */
	int (*copy)(struct imp_src *s, struct imp_job *j, struct img_err *e);
	void (*close)(struct imp_src *s);
};

struct imp_src {
	const struct imp_src_ops *ops;
	enum import_format format;
	const char *path; /* for messages */
};

/* Opens the layout directory (path) / the tar (path), which says its own
 * format. On success (*out) is the caller's, to ops->close(). */
int imp_dir_open(const char *path, struct imp_src **out, struct img_err *e);
int imp_tar_open(const char *path, struct imp_src **out, struct img_err *e);

/* One blob an import puts in the store. */
struct imp_blob {
	char digest[DIGEST_BUF_LEN];
	uint64_t size;
	char path[IMP_PATH_MAX + 1]; /* in the source, "" when (data) holds it */
	const void *data;	     /* the bytes (a config, a manifest), or NULL */
	const char *what;	     /* "layer", "config", "manifest": for messages */
	unsigned layer;		     /* 1-based among the layers, 0 when not a layer */
	bool present;		     /* the store had it before this import */
	bool written;		     /* this import wrote it: removed again on failure */
};

struct imp_job {
	struct store *st;
	const struct import_opts *o; /* never NULL: zeroed options stand in */
	struct imp_src *src;
	char name[STORE_REF_MAX + 1]; /* the reference to set; "" until known */
	const char *want;	      /* the name the caller gave, or NULL */
	struct imp_blob blobs[OCI_LAYERS_MAX + 2];
	size_t n;
	unsigned nlayers;
	char manifest[DIGEST_BUF_LEN], config[DIGEST_BUF_LEN];
	char *manifest_buf, *config_buf; /* what the in-memory blobs point at */
	uint64_t written, skipped;
};

/* Reads (n) bytes into (buf), setting (*got) (0 at the end). 0 or -errno. */
typedef int (*imp_read_fn)(void *arg, void *buf, size_t n, size_t *got, struct img_err *e);

/*
 * imp_job_add() - list blob (digest) of (size) bytes, found at (path) in the
 * source or held at (data), unless its digest is listed already. (layer):
 * its 1-based position among the layers, or 0.
 */
int imp_job_add(struct imp_job *j, const char *what, unsigned layer, const char *digest,
		uint64_t size, const char *path, const void *data, struct img_err *e);

/* imp_blob_pending() - whether (b) is still to copy from the source. */
bool imp_blob_pending(const struct imp_blob *b);

/* imp_job_pending() - the blob at (path) still to copy from the source, or NULL. */
struct imp_blob *imp_job_pending(struct imp_job *j, const char *path);

/* imp_job_npending() - how many blobs are still to copy from the source. */
size_t imp_job_npending(const struct imp_job *j);

/* imp_blob_copy() - writes (b) into the store from (rd), verified against
 * its digest and size, and reports progress. */
int imp_blob_copy(struct imp_job *j, struct imp_blob *b, imp_read_fn rd, void *arg,
		  struct img_err *e);

/* imp_read_blob() - reads blob (digest) of (size) bytes, at most (max), from
 * the source's blobs/sha256/ and checks both; (who) names who named it. */
int imp_read_blob(struct imp_job *j, const char *who, const char *digest, int64_t size, size_t max,
		  char **buf, size_t *len, struct img_err *e);

/* imp_config_check() - the config (buf, len) parses, is for linux/amd64 and
 * has (nlayers) diff_ids; (c), when not NULL, keeps what was parsed. */
int imp_config_check(const void *buf, size_t len, size_t nlayers, struct oci_config *c,
		     struct img_err *e);

/*
 * imp_job_commit() - checks the reference name and the limits, writes every
 * blob of (j) (the source's through its ops->copy, then those held in
 * memory), counts those the store had as skipped, runs the caller's check
 * (import_opts.check) and sets the reference last. On failure the blobs it
 * wrote are removed again.
 */
int imp_job_commit(struct imp_job *j, struct img_err *e);

/* imp_result_fill() - what (j) did, into (res). */
void imp_result_fill(const struct imp_job *j, struct import_result *res);

/* imp_oci() / imp_docker() - list the blobs of the image in (j)'s source
 * and set (j)->name, manifest and config; nothing is written yet. */
int imp_oci(struct imp_job *j, struct img_err *e);
int imp_docker(struct imp_job *j, struct img_err *e);

#endif
