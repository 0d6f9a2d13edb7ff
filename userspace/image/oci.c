/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI and docker v2 media types, oci-layout, image index (and manifest list) and manifest. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oci_json.h"

static const struct media {
	const char *mt;
	enum oci_kind kind;
	enum oci_compression comp;
	bool foreign; /* the blob is not in the registry */
} media[] = {
	{OCI_MT_INDEX, OCI_KIND_INDEX, OCI_COMP_NONE, false},
	{DOCKER_MT_LIST, OCI_KIND_INDEX, OCI_COMP_NONE, false},
	{OCI_MT_MANIFEST, OCI_KIND_MANIFEST, OCI_COMP_NONE, false},
	{DOCKER_MT_MANIFEST, OCI_KIND_MANIFEST, OCI_COMP_NONE, false},
	{OCI_MT_CONFIG, OCI_KIND_CONFIG, OCI_COMP_NONE, false},
	{DOCKER_MT_CONFIG, OCI_KIND_CONFIG, OCI_COMP_NONE, false},
	{OCI_MT_LAYER, OCI_KIND_LAYER, OCI_COMP_NONE, false},
	{OCI_MT_LAYER_GZ, OCI_KIND_LAYER, OCI_COMP_GZIP, false},
	{OCI_MT_LAYER_ZST, OCI_KIND_LAYER, OCI_COMP_ZSTD, false},
	{DOCKER_MT_LAYER, OCI_KIND_LAYER, OCI_COMP_NONE, false},
	{DOCKER_MT_LAYER_GZ, OCI_KIND_LAYER, OCI_COMP_GZIP, false},
	{OCI_MT_LAYER_NONDIST, OCI_KIND_LAYER, OCI_COMP_NONE, true},
	{OCI_MT_LAYER_NONDIST "+gzip", OCI_KIND_LAYER, OCI_COMP_GZIP, true},
	{OCI_MT_LAYER_NONDIST "+zstd", OCI_KIND_LAYER, OCI_COMP_ZSTD, true},
	{DOCKER_MT_LAYER_FOREIGN, OCI_KIND_LAYER, OCI_COMP_GZIP, true},
};

static const struct media *media_find(const char *mt)
{
	for (size_t i = 0; mt && i < sizeof(media) / sizeof(media[0]); i++)
		if (!strcmp(media[i].mt, mt))
			return &media[i];
	return NULL;
}

enum oci_kind oci_media_kind(const char *mt)
{
	const struct media *m = media_find(mt);

	return m ? m->kind : OCI_KIND_UNKNOWN;
}

static int layer_compression(const char *mt, const char *path, enum oci_compression *c,
			     struct img_err *e)
{
	const struct media *m = media_find(mt);

	if (!m || m->kind != OCI_KIND_LAYER)
		return img_fail(e, -ENOTSUP, "%s: \"%s\" is not a layer type ember can unpack",
				path, mt);
	if (m->foreign)
		return img_fail(e, -ENOTSUP,
				"%s: \"%s\" is a non-distributable layer: its blob is not in the "
				"registry but behind URLs ember does not fetch",
				path, mt);
	*c = m->comp;
	return 0;
}

int oci_layer_compression(const char *mt, enum oci_compression *c, struct img_err *e)
{
	return layer_compression(mt, "layer mediaType", c, e);
}

int oci_layout_check(const void *buf, size_t len, struct img_err *e)
{
	char version[16];
	json_t *root;
	int rc;

	if ((rc = oj_load(buf, len, OCI_LAYOUT_MAX, "oci-layout", &root, e)))
		return rc;
	rc = oj_object(root, "oci-layout", e)
		     ?: oj_str(json_object_get(root, "imageLayoutVersion"),
			       "oci-layout.imageLayoutVersion", version, sizeof(version), false, e);
	if (!rc && strcmp(version, "1.0.0"))
		rc = img_fail(e, -ENOTSUP, "oci-layout.imageLayoutVersion: \"%s\", not 1.0.0",
			      version);
	json_decref(root);
	return rc;
}

/* The bound on a descriptor's size follows from what it points to, so a
 * fetcher may trust it before downloading: manifests and configs are small. */
static int64_t size_max(const char *mt)
{
	switch (oci_media_kind(mt)) {
	case OCI_KIND_INDEX:
	case OCI_KIND_MANIFEST:
		return OCI_MANIFEST_MAX;
	case OCI_KIND_CONFIG:
		return OCI_CONFIG_MAX;
	default:
		return OCI_BLOB_MAX;
	}
}

/* A descriptor's mediaType, digest and size. */
static int desc_parse(const json_t *v, const char *path, struct oci_desc *d, struct img_err *e)
{
	char p[OJ_PATH_MAX];

	return oj_object(v, path, e)
		       ?: oj_str(json_object_get(v, "mediaType"), oj_key(p, path, "mediaType"),
				 d->media_type, sizeof(d->media_type), false, e)
		       ?: oj_digest(json_object_get(v, "digest"), oj_key(p, path, "digest"),
				    d->digest, e)
		       ?: oj_size(json_object_get(v, "size"), oj_key(p, path, "size"),
				  size_max(d->media_type), &d->size, e);
}

/* An index entry (oj_each_fn): a descriptor with an optional platform and ref.name. */
static int index_entry(const json_t *v, const char *path, size_t i, void *arg, struct img_err *e)
{
	struct oci_index *ix = arg;
	struct oci_desc *d = &ix->manifests[i];
	const json_t *platform = json_object_get(v, "platform");
	const json_t *notes = json_object_get(v, "annotations"), *name;
	char p[OJ_PATH_MAX], n[OJ_PATH_MAX];
	int rc;

	ix->n = i + 1;
	if ((rc = desc_parse(v, path, d, e)))
		return rc;
	if (platform && ((rc = oj_object(platform, oj_key(p, path, "platform"), e)) ||
			 (rc = oj_platform(platform, p, &d->platform, e))))
		return rc;
	if (!notes)
		return 0;
	if ((rc = oj_object(notes, oj_key(p, path, "annotations"), e)))
		return rc;
	name = json_object_get(notes, OCI_ANNOTATION_REF_NAME);
	return name ? oj_str(name, oj_key(n, p, OCI_ANNOTATION_REF_NAME), d->ref_name,
			     sizeof(d->ref_name), false, e)
		    : 0;
}

/* schemaVersion 2, and a mediaType (optional in OCI) of the (want) kind. */
static int doc_header(const json_t *root, const char *what, enum oci_kind want, char *mt,
		      struct img_err *e)
{
	const json_t *sv = json_object_get(root, "schemaVersion"), *m;
	char p[OJ_PATH_MAX];
	int rc;

	if (!json_is_integer(sv))
		return img_fail(e, -EINVAL, "%s.schemaVersion: must be the integer 2", what);
	if (json_integer_value(sv) == 1)
		return img_fail(e, -ENOTSUP,
				"%s.schemaVersion: 1 (docker's old format) is not supported: push "
				"the image again with a current docker",
				what);
	if (json_integer_value(sv) != 2)
		return img_fail(e, -ENOTSUP, "%s.schemaVersion: must be 2", what);
	if (!(m = json_object_get(root, "mediaType")))
		return 0;
	if ((rc = oj_str(m, oj_key(p, what, "mediaType"), mt, OCI_MEDIA_TYPE_MAX + 1, false, e)))
		return rc;
	if (oci_media_kind(mt) != want)
		return img_fail(e, -EINVAL, "%s: \"%s\" is not an %s", p, mt,
				want == OCI_KIND_INDEX ? "image index" : "image manifest");
	return 0;
}

static int index_members(const json_t *root, void *out, struct img_err *e)
{
	char mt[OCI_MEDIA_TYPE_MAX + 1];
	struct oci_index *ix = out;
	int rc;

	rc = oj_object(root, "index", e) ?: doc_header(root, "index", OCI_KIND_INDEX, mt, e)
		?: oj_each(json_object_get(root, "manifests"), "index.manifests", OCI_INDEX_MAX,
			   sizeof(*ix->manifests), &ix->manifests, index_entry, ix, e);
	if (rc) /* what was parsed before the error */
		oci_index_free(ix);
	return rc;
}

int oci_index_parse(const void *buf, size_t len, struct oci_index *ix, struct img_err *e)
{
	memset(ix, 0, sizeof(*ix));
	return oj_parse(buf, len, OCI_MANIFEST_MAX, "index", index_members, ix, e);
}

void oci_index_free(struct oci_index *ix)
{
	free(ix->manifests);
	memset(ix, 0, sizeof(*ix));
}

static bool pickable(const struct oci_desc *d, const char *ref_name)
{
	enum oci_kind k = oci_media_kind(d->media_type);

	if (ref_name && strcmp(d->ref_name, ref_name))
		return false;
	return k == OCI_KIND_INDEX || k == OCI_KIND_MANIFEST;
}

/* The -ENOENT of oci_index_pick(): what the index has instead. */
static int pick_fail(const struct oci_index *ix, const char *os, const char *arch,
		     const char *ref_name, struct img_err *e)
{
	char have[320] = "", pl[3 * (OCI_PLATFORM_MAX + 1)];
	size_t named = 0;

	for (size_t i = 0; i < ix->n; i++) {
		const struct oci_platform *p = &ix->manifests[i].platform;

		if (!pickable(&ix->manifests[i], ref_name))
			continue;
		named++;
		snprintf(pl, sizeof(pl), "%s/%s%s%s", p->os, p->architecture,
			 p->variant[0] ? "/" : "", p->variant);
		oj_list_add(have, sizeof(have), pl);
	}
	if (ref_name && !named)
		return img_fail(e, -ENOENT, "index: no manifest named \"%s\"", ref_name);
	return img_fail(e, -ENOENT, "index: no manifest for %s/%s (it has: %s)", os, arch,
			have[0] ? have : "none");
}

int oci_index_pick(const struct oci_index *ix, const char *os, const char *arch,
		   const char *ref_name, struct img_err *e)
{
	int unplatformed = -1;

	for (size_t i = 0; i < ix->n; i++) {
		const struct oci_desc *d = &ix->manifests[i];

		if (!pickable(d, ref_name))
			continue;
		if (!d->platform.os[0]) {
			if (unplatformed < 0)
				unplatformed = (int)i;
		} else if (!strcmp(d->platform.os, os) && !strcmp(d->platform.architecture, arch)) {
			return (int)i;
		}
	}
	return unplatformed >= 0 ? unplatformed : pick_fail(ix, os, arch, ref_name, e);
}

static int manifest_config(const json_t *v, struct oci_desc *d, struct img_err *e)
{
	int rc = desc_parse(v, "manifest.config", d, e);

	if (!rc && oci_media_kind(d->media_type) != OCI_KIND_CONFIG)
		rc = img_fail(e, -ENOTSUP,
			      "manifest.config.mediaType: \"%s\" is not an image config (an "
			      "artifact, not a container image?)",
			      d->media_type);
	return rc;
}

/* A layer (oj_each_fn): a descriptor of a layer type ember unpacks. */
static int manifest_layer(const json_t *v, const char *path, size_t i, void *arg, struct img_err *e)
{
	struct oci_manifest *m = arg;
	struct oci_desc *d = &m->layers[i];
	char p[OJ_PATH_MAX];

	m->nlayers = i + 1;
	return desc_parse(v, path, d, e)
		       ?: layer_compression(d->media_type, oj_key(p, path, "mediaType"),
					    &d->compression, e);
}

static int manifest_members(const json_t *root, void *out, struct img_err *e)
{
	struct oci_manifest *m = out;
	int rc;

	rc = oj_object(root, "manifest", e)
		       ?: doc_header(root, "manifest", OCI_KIND_MANIFEST, m->media_type, e)
		       ?: manifest_config(json_object_get(root, "config"), &m->config, e)
		       ?: oj_each(json_object_get(root, "layers"), "manifest.layers", OCI_LAYERS_MAX,
				  sizeof(*m->layers), &m->layers, manifest_layer, m, e);
	if (rc) /* what was parsed before the error */
		oci_manifest_free(m);
	return rc;
}

int oci_manifest_parse(const void *buf, size_t len, struct oci_manifest *m, struct img_err *e)
{
	memset(m, 0, sizeof(*m));
	return oj_parse(buf, len, OCI_MANIFEST_MAX, "manifest", manifest_members, m, e);
}

void oci_manifest_free(struct oci_manifest *m)
{
	free(m->layers);
	memset(m, 0, sizeof(*m));
}
