/* SPDX-License-Identifier: Apache-2.0 */
/* Importing an image from disk (OCI layout, oci-archive, docker-archive) into the blob store. */
#ifndef EMBER_USERSPACE_IMAGE_IMPORT_H
#define EMBER_USERSPACE_IMAGE_IMPORT_H

#include <stdint.h>

#include "digest.h"
#include "img_err.h"
#include "store.h"

/*
 * What an import may cost and whom it tells how far it got. A zero limit
 * means the library's own bound (OCI_BLOB_MAX for a blob, none for the total).
 */
struct import_opts {
	/*
	 * Called as the bytes of layer (layer) (1 to (layers)) go into the
	 * store: at most about every MiB, and once with (done) == (total) when
	 * the layer is in (also for a layer the store already had). May be NULL.
	 */
	void (*progress)(void *ctx, unsigned layer, unsigned layers, uint64_t done, uint64_t total);
	void *progress_ctx;
	uint64_t max_total; /* bytes this import may write into the store, all blobs together */
	uint64_t max_blob;  /* bytes of any one blob of the image */
	/*
	 * Called once every blob is in the store, before the reference is set,
	 * with the manifest's digest: -errno (with (e) filled) fails the import as
	 * a refusal would, so the blobs this import wrote go again and no
	 * reference changes. emberd builds the root filesystem here, so an image
	 * whose layers cannot be applied is not left imported. May be NULL.
	 */
	int (*check)(void *ctx, struct store *st, const char *manifest, struct img_err *e);
	void *check_ctx;
};

enum import_format {
	IMPORT_OCI_LAYOUT = 1, /* a directory with oci-layout, index.json, blobs/ */
	IMPORT_OCI_ARCHIVE,    /* the same in a tar (plain or gzip) */
	IMPORT_DOCKER_ARCHIVE, /* `docker save`'s tar: manifest.json, <hex>.json, layers */
	IMPORT_REGISTRY,       /* pulled from a registry (pull.h) */
};

/* What an import did. */
struct import_result {
	enum import_format format;
	char ref[STORE_REF_MAX + 1];   /* the reference set */
	char manifest[DIGEST_BUF_LEN]; /* the OCI or docker v2 manifest it points at */
	char config[DIGEST_BUF_LEN];   /* the image config */
	unsigned layers;	       /* layers of the image */
	uint64_t bytes_written;	       /* bytes of blobs this import put in the store */
	uint64_t bytes_skipped;	       /* bytes of blobs the store already had */
};

/*
 * image_import() - put the image at (path) into (st) and point reference
 * (name) at its manifest.
 *
 * (path) is an OCI image layout directory (it holds an oci-layout file) or a
 * tar, plain or gzip: an oci-archive (oci-layout and index.json; preferred
 * when a newer `docker save` wrote both) or a docker-archive (manifest.json).
 * A tar is read twice, its small JSON members first, then streamed; nothing
 * is extracted to disk. Inside a layout directory nothing is opened through
 * a symlink or outside the directory.
 *
 * The manifest is the one whose org.opencontainers.image.ref.name annotation
 * is (name)'s tag (or (name)), else the first linux/amd64 one (nested
 * indexes are followed); of a docker-archive, the image tagged (name), else
 * its only or first image, for which an OCI manifest (layers
 * application/vnd.oci.image.layer.v1.tar) is written, byte for byte the same
 * at every import. (name) NULL takes the archive's own name (the ref.name
 * annotation, the first RepoTag); there must be one.
 *
 * Before anything is written the config must parse (oci_config_parse()), be
 * for linux/amd64 and have one diff_id per layer; every blob must be in the
 * source at its descriptor's size and within (o)'s limits; a docker-archive's
 * config named by its digest must have that digest. Each blob is verified
 * while it is written (a docker layer against its diff_id) and not written at
 * all when the store has it. The reference is set once every blob is in and
 * (o)->check, when given, has passed.
 *
 * (o) and (res) may be NULL. Returns 0 with (res) filled, or -errno with (e)
 * naming the blob or member and the reason; then the blobs this import
 * wrote are removed again, no reference changed and (res) is zeroed.
 */
int image_import(struct store *st, const char *path, const char *name, const struct import_opts *o,
		 struct import_result *res, struct img_err *e) __attribute__((warn_unused_result));

/* import_format_name() - "oci-layout", "oci-archive", "docker-archive", "registry" or "unknown". */
const char *import_format_name(enum import_format f);

#endif
