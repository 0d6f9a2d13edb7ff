/* SPDX-License-Identifier: Apache-2.0 */
/* Image references as docker writes them: [REGISTRY[:PORT]/]PATH[:TAG][@sha256:HEX]. */
#ifndef EMBER_USERSPACE_IMAGE_REF_H
#define EMBER_USERSPACE_IMAGE_REF_H

#include <stddef.h>

#include "img_err.h"

/* The distribution spec's limits: a name (registry + path) of at most 255
 * characters, a tag of at most 128; the only digest is sha256. */
#define REF_NAME_MAX	255
#define REF_TAG_MAX	128
#define REF_DIGEST_SIZE (sizeof("sha256:") + 64)

/* Docker Hub: the host its API answers on, and the namespace of one-word names. */
#define REF_DOCKER_HUB	   "registry-1.docker.io"
#define REF_DOCKER_LIBRARY "library/"

/* A parsed reference. (registry) is "" for a LOCAL reference, a name in
 * ember's own store ("redis:7"); (tag) or (digest) may be "", not both. */
struct img_ref {
	char registry[REF_NAME_MAX + 1];		      /* "ghcr.io", "localhost:5000" */
	char repo[REF_NAME_MAX + sizeof(REF_DOCKER_LIBRARY)]; /* "library/redis" */
	char tag[REF_TAG_MAX + 1];			      /* "7", "latest" */
	char digest[REF_DIGEST_SIZE];			      /* "sha256:<64 hex>" */
};

/* ref_parse() flags. */
enum {
	/* A reference without a registry means Docker Hub (docker pull's reading)
	 * instead of a local name: registry REF_DOCKER_HUB, and "library/" before
	 * a one-component path. */
	REF_DEFAULT_DOCKER_HUB = 1 << 0,
};

/*
 * Parses the reference (s) into (r): the first '/'-separated component is a
 * registry when it contains '.' or ':' or is "localhost"; "docker.io" and
 * "index.docker.io" become REF_DOCKER_HUB (with "library/" as above). The tag
 * defaults to "latest" when there is neither tag nor digest. (flags):
 * REF_DEFAULT_DOCKER_HUB or 0. Returns 0, or -EINVAL with (e) saying which
 * part is wrong. Nothing is allocated.
 */
int ref_parse(const char *s, unsigned int flags, struct img_ref *r, struct img_err *e);

/* Bytes of the longest canonical form of a reference ref_parse() made (476). */
#define REF_FORMAT_SIZE 512

/*
 * Writes the canonical form of (r) into (buf) of (len) bytes:
 * [registry/]repo[:tag][@digest]. Returns 0, or -ENAMETOOLONG when it does
 * not fit (buf then holds a truncated string).
 */
int ref_format(const struct img_ref *r, char *buf, size_t len);

/* Returns 1 when (s) is "sha256:" and 64 lowercase hex digits, else 0. */
int ref_digest_valid(const char *s);

#endif
