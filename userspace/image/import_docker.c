/* SPDX-License-Identifier: Apache-2.0 */
/* A docker-archive's image: its config and diff_id-checked layers, and an OCI manifest made for it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_priv.h"

/* The digest a config's name claims ("<hex>.json", "blobs/sha256/<hex>") into (out), or "". */
static void named_digest(const char *name, char out[DIGEST_BUF_LEN])
{
	const char *blobs = "blobs/sha256/";
	char hex[DIGEST_HEX_LEN + 1] = "";
	size_t n = strlen(name);

	if (n == DIGEST_HEX_LEN + 5 && !strcmp(name + DIGEST_HEX_LEN, ".json"))
		memcpy(hex, name, DIGEST_HEX_LEN);
	else if (!strncmp(name, blobs, strlen(blobs)) && n == strlen(blobs) + DIGEST_HEX_LEN)
		memcpy(hex, name + strlen(blobs), DIGEST_HEX_LEN);
	snprintf(out, DIGEST_BUF_LEN, "%s%s", DIGEST_PREFIX, hex);
	if (digest_parse(out, NULL, NULL))
		out[0] = 0;
}

/* The config, stored as it is; when its name is a digest, it must be that one. */
static int config_load(struct imp_job *j, const struct docker_image *img, struct oci_config *c,
		       size_t *len, struct img_err *e)
{
	char claimed[DIGEST_BUF_LEN];
	int rc = j->src->ops->read(j->src, img->config, OCI_CONFIG_MAX, &j->config_buf, len, e);

	if (rc == -ENOENT)
		return img_fail(e, rc, "manifest.json names config %s which is not in the archive",
				img->config);
	if (rc || (rc = digest_buf(j->config_buf, *len, j->config, e)))
		return rc;
	named_digest(img->config, claimed);
	if (claimed[0] && strcmp(claimed, j->config))
		return img_fail(e, -EBADMSG, "config %s: its bytes hash to %s", img->config,
				j->config);
	return imp_config_check(j->config_buf, *len, img->layers.n, c, e);
}

/* Layer (i): in the archive, and to be verified against diff_id (i) as it is written. */
static int layer_add(struct imp_job *j, const struct docker_image *img, const struct oci_config *c,
		     unsigned i, uint64_t *size, struct img_err *e)
{
	char real[IMP_PATH_MAX + 1];
	int rc = j->src->ops->stat(j->src, img->layers.v[i], real, size, e);

	if (rc == -ENOENT)
		return img_fail(e, rc, "manifest.json names layer %s which is not in the archive",
				img->layers.v[i]);
	return rc ?: imp_job_add(j, "layer", i + 1, c->diff_ids[i], *size, real, NULL, e);
}

static json_t *desc_json(const char *mt, const char *digest, uint64_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", digest, "size",
			 (json_int_t)size);
}

/*
 * The OCI manifest the store's reference points at. Sorted keys and no
 * whitespace make it a function of the config and layers only, so the same
 * archive imported twice names the same manifest.
 */
static int manifest_make(struct imp_job *j, const struct oci_config *c, size_t clen,
			 const uint64_t *sizes, struct img_err *e)
{
	json_t *layers = json_array(), *root = NULL;
	bool ok = layers;
	size_t len;

	for (size_t i = 0; ok && i < c->ndiff_ids; i++)
		ok = !json_array_append_new(layers,
					    desc_json(OCI_MT_LAYER, c->diff_ids[i], sizes[i]));
	if (ok)
		root = json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType",
				 OCI_MT_MANIFEST, "config",
				 desc_json(OCI_MT_CONFIG, j->config, clen), "layers", layers);
	if (root)
		j->manifest_buf = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(root);
	json_decref(layers);
	if (!j->manifest_buf)
		return img_fail(e, -ENOMEM, "manifest for %s: out of memory", j->src->path);
	len = strlen(j->manifest_buf);
	return digest_buf(j->manifest_buf, len, j->manifest, e)
		       ?: imp_job_add(j, "manifest", 0, j->manifest, len, NULL, j->manifest_buf, e);
}

/* The image's blobs listed and its manifest made, config first: it says what the layers are. */
static int image_load(struct imp_job *j, const struct docker_image *img, struct oci_config *c,
		      struct img_err *e)
{
	uint64_t sizes[OCI_LAYERS_MAX];
	size_t clen;
	int rc = config_load(j, img, c, &clen, e);

	if (!j->name[0] && img->repo_tags.n)
		snprintf(j->name, sizeof(j->name), "%s", img->repo_tags.v[0]);
	j->nlayers = (unsigned)img->layers.n;
	for (unsigned i = 0; !rc && i < img->layers.n; i++)
		rc = layer_add(j, img, c, i, &sizes[i], e);
	return rc ?: imp_job_add(j, "config", 0, j->config, clen, NULL, j->config_buf, e)
		?: manifest_make(j, c, clen, sizes, e);
}

/* The image tagged as asked, else the only one: an import may rename it. */
static int image_pick(struct imp_job *j, const struct docker_manifest *dm, struct img_err *e)
{
	int i = docker_manifest_pick(dm, j->want, e);

	return i < 0 && j->want && dm->n == 1 ? 0 : i;
}

int imp_docker(struct imp_job *j, struct img_err *e)
{
	struct docker_manifest dm;
	struct oci_config *c = calloc(1, sizeof(*c)); /* 13 KiB: not on the stack */
	char *buf = NULL;
	size_t len;
	int rc = c ? j->src->ops->read(j->src, "manifest.json", OCI_MANIFEST_MAX, &buf, &len, e)
		   : img_fail(e, -ENOMEM, "%s: out of memory", j->src->path);

	if (!rc && !(rc = docker_manifest_parse(buf, len, &dm, e))) {
		if ((rc = image_pick(j, &dm, e)) >= 0)
			rc = image_load(j, &dm.images[rc], c, e);
		docker_manifest_free(&dm);
	}
	if (c)
		oci_config_free(c);
	free(c);
	free(buf);
	return rc;
}
