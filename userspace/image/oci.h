/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI and docker image formats: media types, layout, index, manifest, config, docker save. */
#ifndef EMBER_USERSPACE_IMAGE_OCI_H
#define EMBER_USERSPACE_IMAGE_OCI_H

#include <stddef.h>
#include <stdint.h>

#include "img_err.h"
#include "ref.h"

/* OCI image spec v1. */
#define OCI_MT_INDEX	 "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST	 "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG	 "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER	 "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZ	 "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZST "application/vnd.oci.image.layer.v1.tar+zstd"
/* Prefix of the non-distributable layers (+gzip, +zstd or none after it). */
#define OCI_MT_LAYER_NONDIST "application/vnd.oci.image.layer.nondistributable.v1.tar"

/* Docker image manifest v2, schema 2. */
#define DOCKER_MT_LIST		"application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_MANIFEST	"application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_CONFIG	"application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER		"application/vnd.docker.image.rootfs.diff.tar"
#define DOCKER_MT_LAYER_GZ	"application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

/* Bounds on hostile input; each refusal names the field. */
#define OCI_MANIFEST_MAX   (4 << 20)   /* bytes of an index, manifest or manifest.json */
#define OCI_CONFIG_MAX	   (1 << 20)   /* bytes of an image config */
#define OCI_LAYOUT_MAX	   4096	       /* bytes of an oci-layout file */
#define OCI_BLOB_MAX	   (1LL << 36) /* bytes of a layer (64 GiB) */
#define OCI_INDEX_MAX	   256	       /* manifests in an index */
#define OCI_LAYERS_MAX	   128
#define OCI_MEDIA_TYPE_MAX 127 /* RFC 6838: 127 for type and subtype each; ours are shorter */
#define OCI_PLATFORM_MAX   31  /* "linux", "amd64", "v8" */
#define OCI_REF_NAME_MAX   255
#define OCI_ENV_MAX	   1024
#define OCI_ENV_ENTRY_MAX  32768
#define OCI_ARGS_MAX	   256 /* in Entrypoint and in Cmd, each */
#define OCI_ARG_MAX	   4096
#define OCI_PORTS_MAX	   32
#define OCI_USER_MAX	   255
#define OCI_WORKDIR_MAX	   4095
#define DOCKER_IMAGES_MAX  64  /* images in one docker-archive */
#define DOCKER_PATH_MAX	   255 /* a path inside the archive */

enum oci_kind {
	OCI_KIND_UNKNOWN,
	OCI_KIND_INDEX,	   /* OCI index or docker manifest list */
	OCI_KIND_MANIFEST, /* OCI or docker v2 manifest */
	OCI_KIND_CONFIG,
	OCI_KIND_LAYER,
};

enum oci_compression {
	OCI_COMP_NONE,
	OCI_COMP_GZIP,
	OCI_COMP_ZSTD,
};

/* A heap vector of strings, (v)[n] == NULL; all zero when empty. */
struct oci_strv {
	char **v;
	size_t n;
};

struct oci_platform {
	char os[OCI_PLATFORM_MAX + 1]; /* "" when the descriptor has no platform */
	char architecture[OCI_PLATFORM_MAX + 1];
	char variant[OCI_PLATFORM_MAX + 1];
};

/* A content descriptor: what a blob is, its digest and size. */
struct oci_desc {
	char media_type[OCI_MEDIA_TYPE_MAX + 1];
	char digest[REF_DIGEST_SIZE];
	int64_t size;
	enum oci_compression compression;    /* layers only */
	struct oci_platform platform;	     /* index entries only */
	char ref_name[OCI_REF_NAME_MAX + 1]; /* index entries: the ref.name annotation or "" */
};

struct oci_index {
	size_t n;
	struct oci_desc *manifests; /* heap, n entries */
};

struct oci_manifest {
	char media_type[OCI_MEDIA_TYPE_MAX + 1]; /* "" when the manifest does not say */
	struct oci_desc config;
	size_t nlayers;
	struct oci_desc *layers; /* heap, nlayers entries */
};

/* Returns what the media type (mt) names; OCI_KIND_UNKNOWN for NULL or anything else. */
enum oci_kind oci_media_kind(const char *mt);

/*
 * Sets (*c) to the compression of the layer media type (mt). Returns 0;
 * -ENOTSUP for non-distributable and foreign layers (their blobs live
 * outside the registry, behind URLs ember does not follow) and for media
 * types that are not layers; (e) says which.
 */
int oci_layer_compression(const char *mt, enum oci_compression *c, struct img_err *e);

/* Checks an oci-layout file (buf, len) says {"imageLayoutVersion": "1.0.0"}.
 * Returns 0, -EINVAL (not that) or -ENOTSUP (another version). */
int oci_layout_check(const void *buf, size_t len, struct img_err *e);

/*
 * Parses an OCI image index or a docker manifest list (buf, len) into (ix):
 * each entry's mediaType, digest, size, platform and ref.name annotation.
 * Returns 0, or -EINVAL / -E2BIG / -ENOTSUP / -ENOMEM with (e) naming the
 * field. On success (ix)->manifests is allocated: oci_index_free() it. On
 * failure nothing is left allocated.
 */
int oci_index_parse(const void *buf, size_t len, struct oci_index *ix, struct img_err *e);
void oci_index_free(struct oci_index *ix);

/*
 * Picks the entry of (ix) for (os) and (arch): the first whose platform
 * matches, else the first without a platform (an oci-layout's index.json
 * names manifests, not platforms); only index and manifest entries count.
 * With (ref_name) non-NULL, only entries of that ref.name annotation count.
 * Returns the entry's position (>= 0), or -ENOENT with (e) listing the
 * platforms present.
 */
int oci_index_pick(const struct oci_index *ix, const char *os, const char *arch,
		   const char *ref_name, struct img_err *e);

/*
 * Parses an OCI or docker v2 image manifest (buf, len) into (m): schemaVersion
 * 2, a config descriptor of an image config, at most OCI_LAYERS_MAX layers of
 * distributable layer types. Returns 0, or -EINVAL / -E2BIG / -ENOTSUP /
 * -ENOMEM with (e) naming the field. On success (m)->layers is allocated:
 * oci_manifest_free() it. On failure nothing is left allocated.
 */
int oci_manifest_parse(const void *buf, size_t len, struct oci_manifest *m, struct img_err *e);
void oci_manifest_free(struct oci_manifest *m);

enum oci_proto {
	OCI_PROTO_TCP,
	OCI_PROTO_UDP,
	OCI_PROTO_SCTP,
};

struct oci_port {
	uint16_t port;
	enum oci_proto proto;
};

/* What an image config says the container runs, and the layers it is made of. */
struct oci_config {
	struct oci_platform platform;
	struct oci_strv entrypoint;	   /* config.Entrypoint, empty when absent or null */
	struct oci_strv cmd;		   /* config.Cmd */
	struct oci_strv env;		   /* config.Env, each "KEY=VALUE" */
	char user[OCI_USER_MAX + 1];	   /* config.User, "" = root */
	char workdir[OCI_WORKDIR_MAX + 1]; /* config.WorkingDir, "" or absolute */
	size_t nports;
	struct oci_port ports[OCI_PORTS_MAX]; /* config.ExposedPorts */
	size_t ndiff_ids;
	char diff_ids[OCI_LAYERS_MAX][REF_DIGEST_SIZE]; /* rootfs.diff_ids */
};

/*
 * Parses an image config (buf, len) of at most OCI_CONFIG_MAX bytes into (c).
 * Returns 0, or -EINVAL / -E2BIG / -ENOMEM with (e) naming the field
 * ("config.Env[3]: longer than 32768 bytes"). On success the vectors of (c)
 * are allocated: oci_config_free() them. On failure nothing is left allocated.
 */
int oci_config_parse(const void *buf, size_t len, struct oci_config *c, struct img_err *e);
void oci_config_free(struct oci_config *c);

/* Returns 0 when (c) has one diff_id per layer of (m), else -EINVAL. */
int oci_config_check_layers(const struct oci_config *c, const struct oci_manifest *m,
			    struct img_err *e);

/* Returns 0 when (c) is for (os)/(arch), else -ENOEXEC naming both. */
int oci_config_check_platform(const struct oci_config *c, const char *os, const char *arch,
			      struct img_err *e);

/* One image of a docker-archive's manifest.json; paths are inside the tar. */
struct docker_image {
	char config[DOCKER_PATH_MAX + 1]; /* "<hex>.json" or "blobs/sha256/<hex>" */
	struct oci_strv repo_tags;	  /* "redis:7"; may be empty */
	struct oci_strv layers;		  /* "<id>/layer.tar" or "blobs/sha256/<hex>" */
};

struct docker_manifest {
	size_t n;
	struct docker_image *images; /* heap, n entries */
};

/*
 * Parses a docker-archive's manifest.json (buf, len) (what `docker save`
 * writes) into (dm): at most DOCKER_IMAGES_MAX images; every path relative,
 * without "..", "." or empty components. Returns 0, or -EINVAL / -E2BIG /
 * -ENOMEM with (e) naming the field. On success (dm) holds heap memory:
 * docker_manifest_free() it. On failure nothing is left allocated.
 */
int docker_manifest_parse(const void *buf, size_t len, struct docker_manifest *dm,
			  struct img_err *e);
void docker_manifest_free(struct docker_manifest *dm);

/*
 * Picks the image of (dm) tagged (repo_tag) ("redis" matches "redis:latest"),
 * or the first when (repo_tag) is NULL. Returns its position (>= 0), or
 * -ENOENT with (e) listing the tags present.
 */
int docker_manifest_pick(const struct docker_manifest *dm, const char *repo_tag, struct img_err *e);

/* Frees the strings of (sv) and zeroes it. */
void oci_strv_free(struct oci_strv *sv);

#endif
