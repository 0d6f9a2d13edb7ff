/* SPDX-License-Identifier: Apache-2.0 */
/* A small image made in memory, written as an OCI layout, an oci-archive and a docker-archive. */
#ifndef EMBER_TESTS_UNIT_IMPORT_FIXTURE_H
#define EMBER_TESTS_UNIT_IMPORT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "image/digest.h"

struct fx_blob {
	char digest[DIGEST_BUF_LEN];
	char *data;
	size_t len;
};

/* How an image departs from the good one; all zero is the good one. */
struct fx_opts {
	const char *arch;	   /* the config's and the index entry's; "amd64" when NULL */
	bool index_platform;	   /* the index entry carries a platform */
	size_t env_big;		   /* adds an Env entry of this many bytes */
	bool swap_diff_ids;	   /* the config lists the layers' diff_ids in the wrong order */
	bool no_names;		   /* no ref.name annotation, no RepoTags */
	const char *docker_layer;  /* manifest.json's path of the first layer */
	const char *docker_link;   /* the second layer.tar is a symlink to this; its bytes are in
				      real/layer.tar */
	const char *docker_config; /* the config's name in a docker-archive; "<hex>.json" */
	size_t big;		   /* the second (plain) layer gets a file of this many bytes */
	bool docker_too;	   /* an oci-archive also has docker's manifest.json (docker 25) */
};

struct fx_image {
	struct fx_blob tar[2];	 /* the layers uncompressed: their digests are the diff_ids */
	struct fx_blob layer[2]; /* the layers as the manifest names them: gzip, then plain */
	struct fx_blob config, manifest, index;
	struct fx_opts o;
};

#define FX_REF_NAME "v1"	/* the index's ref.name annotation */
#define FX_REPO_TAG "fx/app:v1" /* the docker-archive's RepoTags[0] */

void fx_make(struct fx_image *im, const struct fx_opts *o);
void fx_free(struct fx_image *im);

/* Each writes the image; the asserts of cmocka stop the test on any error. */
void fx_layout(const struct fx_image *im, const char *dir);
void fx_oci_archive(const struct fx_image *im, const char *file, bool gzip);
void fx_docker_archive(const struct fx_image *im, const char *file);

struct store;

/* The number of blobs in (st). */
int fx_store_blobs(struct store *st);

/* Blob (digest) of (st), whole and NUL-terminated; the caller frees it. */
char *fx_store_read(struct store *st, const char *digest);

/* Writes (len) bytes at (data) to (path) (0644, replaced). */
void fx_write_file(const char *path, const void *data, size_t len);

#endif
