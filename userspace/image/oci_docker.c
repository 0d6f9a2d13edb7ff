/* SPDX-License-Identifier: Apache-2.0 */
/* A docker-archive's manifest.json (`docker save`): the config and layer files of each image. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oci_json.h"

/* RepoTags are references: a name, ':' and a tag. */
#define DOCKER_TAGS_MAX	   256
#define DOCKER_REPOTAG_MAX (REF_NAME_MAX + 1 + REF_TAG_MAX)

/* A path the tar reader may open: relative, and every component a name
 * (not "", "." or ".."), so it cannot leave the archive or alias another. */
static int path_check(const char *s, const char *path, struct img_err *e)
{
	const char *c = s, *end;
	int rc;

	if (*s == '/')
		return img_fail(e, -EINVAL, "%s: must be relative, not absolute", path);
	if ((rc = oj_printable(s, path, e)))
		return rc;
	for (;; c = end + 1) {
		end = strchrnul(c, '/');
		if (end == c)
			return img_fail(e, -EINVAL, "%s: must not have empty components", path);
		if ((end - c == 1 && c[0] == '.') || (end - c == 2 && !strncmp(c, "..", 2)))
			return img_fail(e, -EINVAL, "%s: must not have \".\" or \"..\" components",
					path);
		if (!*end)
			return 0;
	}
}

/* Reads the string array (v) into (sv), each string checked by (check). */
static int strv_parse(const json_t *v, const char *path, size_t max_n, size_t max_len,
		      int (*check)(const char *, const char *, struct img_err *),
		      struct oci_strv *sv, struct img_err *e)
{
	char p[OJ_PATH_MAX];
	int rc;

	if ((rc = oj_strv(v, path, max_n, max_len, sv, e)))
		return rc;
	for (size_t i = 0; i < sv->n; i++)
		if ((rc = check(sv->v[i], oj_at(p, path, i), e)))
			return rc;
	return 0;
}

/* One image (oj_each_fn): its config, tags and layers. */
static int image_parse(const json_t *v, const char *path, size_t i, void *arg, struct img_err *e)
{
	struct docker_manifest *dm = arg;
	struct docker_image *img = &dm->images[i];
	char p[OJ_PATH_MAX];

	/* Counted first: a failed image still holds vectors to free. */
	dm->n = i + 1;
	return oj_object(v, path, e)
		       ?: oj_str(json_object_get(v, "Config"), oj_key(p, path, "Config"),
				 img->config, sizeof(img->config), false, e)
		       ?: path_check(img->config, p, e)
		       ?: strv_parse(json_object_get(v, "RepoTags"), oj_key(p, path, "RepoTags"),
				     DOCKER_TAGS_MAX, DOCKER_REPOTAG_MAX, oj_printable,
				     &img->repo_tags, e)
		       /* required: oj_strv() would take a missing list for an empty one */
		       ?: oj_array(json_object_get(v, "Layers"), oj_key(p, path, "Layers"),
				   OCI_LAYERS_MAX, e)
		       ?: strv_parse(json_object_get(v, "Layers"), p, OCI_LAYERS_MAX,
				     DOCKER_PATH_MAX, path_check, &img->layers, e);
}

static int images_parse(const json_t *root, void *out, struct img_err *e)
{
	struct docker_manifest *dm = out;
	int rc;

	if (json_is_array(root) && !json_array_size(root))
		return img_fail(e, -EINVAL, "manifest.json: lists no image");
	rc = oj_each(root, "manifest.json", DOCKER_IMAGES_MAX, sizeof(*dm->images), &dm->images,
		     image_parse, dm, e);
	if (rc) /* what was parsed before the error */
		docker_manifest_free(dm);
	return rc;
}

int docker_manifest_parse(const void *buf, size_t len, struct docker_manifest *dm,
			  struct img_err *e)
{
	memset(dm, 0, sizeof(*dm));
	return oj_parse(buf, len, OCI_MANIFEST_MAX, "manifest.json", images_parse, dm, e);
}

void docker_manifest_free(struct docker_manifest *dm)
{
	for (size_t i = 0; i < dm->n; i++) {
		oci_strv_free(&dm->images[i].repo_tags);
		oci_strv_free(&dm->images[i].layers);
	}
	free(dm->images);
	memset(dm, 0, sizeof(*dm));
}

/* "redis" names "redis:latest", as docker reads it; the ':' of a registry's
 * port ("localhost:5000/app") is no tag. */
static bool tag_matches(const char *have, const char *want)
{
	const char *last = strrchr(want, '/');
	size_t n = strlen(want);

	if (!strcmp(have, want))
		return true;
	return !strchr(last ? last : want, ':') && !strncmp(have, want, n) &&
	       !strcmp(have + n, ":latest");
}

int docker_manifest_pick(const struct docker_manifest *dm, const char *repo_tag, struct img_err *e)
{
	char have[320] = "";

	if (!repo_tag)
		return dm->n ? 0 : img_fail(e, -ENOENT, "manifest.json: lists no image");
	for (size_t i = 0; i < dm->n; i++)
		for (size_t t = 0; t < dm->images[i].repo_tags.n; t++)
			if (tag_matches(dm->images[i].repo_tags.v[t], repo_tag))
				return (int)i;
	for (size_t i = 0; i < dm->n; i++)
		for (size_t t = 0; t < dm->images[i].repo_tags.n; t++)
			oj_list_add(have, sizeof(have), dm->images[i].repo_tags.v[t]);
	return img_fail(e, -ENOENT, "manifest.json: no image tagged \"%s\" (it has: %s)", repo_tag,
			have[0] ? have : "no tags");
}
