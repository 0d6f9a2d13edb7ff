/* SPDX-License-Identifier: Apache-2.0 */
/* The image store's insides, shared by store.c (blobs) and store_refs.c (references). */
#ifndef EMBER_USERSPACE_IMAGE_STORE_IMPL_H
#define EMBER_USERSPACE_IMAGE_STORE_IMPL_H

#include <jansson.h>

#include "store.h"

#define REFS_FILE    "refs.json"
#define REFS_VERSION 1

struct store {
	char *dir;	  /* absolute (realpath), for messages and store_blob_path() */
	int root_fd;	  /* DIR */
	int blobs_fd;	  /* DIR/blobs/sha256 */
	int tmp_fd;	  /* DIR/tmp */
	json_t *refs;	  /* name -> digest string, as on disk */
	unsigned tmp_seq; /* names the next temporary file */
};

/* Reads DIR/refs.json into st->refs (an empty set when there is none); a
 * file that is not a valid record is refused, never emptied. 0 or -errno. */
int refs_load(struct store *st, struct img_err *e);

#endif
