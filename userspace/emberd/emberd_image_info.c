/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's answers about stored images: list, inspect, and remove with a sweep of unused blobs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emberd.h"
#include "image/layer.h"
#include "image/oci.h"
#include "image/ref.h"
#include "image/rootfs.h"
#include "image/store.h"
#include "../../vmm/fileio.h"

/* One stored image, read back: its manifest and the raw config. */
struct image_view {
	char ref[STORE_REF_MAX + 1];
	char manifest[DIGEST_BUF_LEN];
	struct oci_manifest m;
	json_t *config; /* the config blob as JSON */
	char rootfs[PATH_MAX];
	bool built;
};

/* Blob (digest) of at most (max) bytes, NUL-terminated, in (*out) (free it). */
static int blob_read(struct store *st, const char *digest, size_t max, char **out, size_t *len,
		     struct img_err *e)
{
	struct stat sb;
	int fd = store_blob_open(st, digest, e), rc = 0;

	*out = NULL;
	if (fd < 0)
		return fd;
	if (fstat(fd, &sb))
		rc = img_fail(e, -errno, "blob %s: %s", digest, strerror(errno));
	else if ((uint64_t)sb.st_size > max)
		rc = img_fail(e, -E2BIG, "blob %s: larger than %zu bytes", digest, max);
	else if (!(*out = malloc((size_t)sb.st_size + 1)))
		rc = img_fail(e, -ENOMEM, "out of memory");
	else if ((rc = file_rw_all(fd, false, *out, (uint64_t)sb.st_size, 0)))
		img_fail(e, rc, "blob %s: %s", digest, strerror(-rc));
	close(fd);
	if (rc) {
		free(*out);
		*out = NULL;
		return rc;
	}
	(*out)[sb.st_size] = 0;
	*len = (size_t)sb.st_size;
	return 0;
}

static int manifest_read(struct store *st, const char *digest, struct oci_manifest *m,
			 struct img_err *e)
{
	char *buf;
	size_t len;
	int rc = blob_read(st, digest, OCI_MANIFEST_MAX, &buf, &len, e);

	if (rc)
		return rc;
	rc = oci_manifest_parse(buf, len, m, e);
	free(buf);
	return rc;
}

/* (ref) as an app names it: NAME[:TAG] as stored ("busybox" also finds
 * "busybox:latest"), or [NAME]@sha256:HEX for a stored manifest. */
static int ref_lookup(struct emberd *d, const char *ref, char digest[DIGEST_BUF_LEN],
		      struct img_err *e)
{
	const char *at = strchr(ref, '@'), *slash = strrchr(ref, '/');
	char latest[STORE_REF_MAX + 16];

	if (at) {
		if (!ref_digest_valid(at + 1))
			return img_fail(e, -EINVAL, "%s: not a sha256 digest after '@'", ref);
		if (!store_has(images_store(d), at + 1))
			return img_fail(e, -ENOENT, "no image %s in the store", at + 1);
		snprintf(digest, DIGEST_BUF_LEN, "%s", at + 1);
		return 0;
	}
	if (!store_ref_get(images_store(d), ref, digest, e))
		return 0;
	snprintf(latest, sizeof(latest), "%s:latest", ref);
	if (!strchr(slash ? slash : ref, ':') && !store_ref_get(images_store(d), latest, digest, e))
		return 0;
	return img_fail(e, -ENOENT,
			"no image \"%s\" in the store (ember image ls lists them; ember image "
			"pull or import adds one)",
			ref);
}

int images_resolve(struct emberd *d, const char *ref, char digest[APP_DIGEST_MAX],
		   struct oci_config *c, struct img_err *e)
{
	struct oci_manifest m;
	char *buf;
	size_t len;
	int rc = ref_lookup(d, ref, digest, e);

	if (rc)
		return rc;
	rc = manifest_read(images_store(d), digest, &m, e);
	if (!rc) {
		rc = blob_read(images_store(d), m.config.digest, OCI_CONFIG_MAX, &buf, &len, e);
		oci_manifest_free(&m);
	}
	if (rc)
		return rc;
	rc = oci_config_parse(buf, len, c, e);
	free(buf);
	return rc;
}

static void view_free(struct image_view *v)
{
	oci_manifest_free(&v->m);
	json_decref(v->config);
}

static int view_load(struct emberd *d, const char *ref, const char *digest, struct image_view *v,
		     struct img_err *e)
{
	char *buf;
	size_t len;
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(v->ref, sizeof(v->ref), "%s", ref);
	snprintf(v->manifest, sizeof(v->manifest), "%s", digest);
	rc = manifest_read(images_store(d), digest, &v->m, e);
	if (!rc)
		rc = blob_read(images_store(d), v->m.config.digest, OCI_CONFIG_MAX, &buf, &len, e);
	if (rc)
		return rc;
	v->config = json_loadb(buf, len, 0, NULL);
	free(buf);
	if (!json_is_object(v->config)) {
		view_free(v);
		return img_fail(e, -EINVAL, "config %s: not a JSON object", v->m.config.digest);
	}
	if (!rootfs_path(images_rootfs_dir(d), digest, images_fs(d), v->rootfs, sizeof(v->rootfs),
			 e))
		v->built = !access(v->rootfs, F_OK);
	return 0;
}

static json_t *view_summary(const struct image_view *v)
{
	int64_t size = v->m.config.size;
	const char *s;

	for (size_t i = 0; i < v->m.nlayers; i++)
		size += v->m.layers[i].size;
	s = json_string_value(json_object_get(v->config, "created"));
	return json_pack("{s:s,s:s,s:I,s:i,s:o,s:o,s:o}", "ref", v->ref, "manifest", v->manifest,
			 "size", (json_int_t)size, "layers", (int)v->m.nlayers, "created",
			 s ? json_string(s) : json_null(), "architecture",
			 json_copy(json_object_get(v->config, "architecture")), "rootfs",
			 v->built ? json_string(v->rootfs) : json_null());
}

/* The image's own words for what it runs (the config's "config" object). */
static json_t *view_config(const struct image_view *v)
{
	static const char *const keys[] = {"Entrypoint", "Cmd",	 "Env",
					   "WorkingDir", "User", "ExposedPorts"};
	json_t *c = json_object_get(v->config, "config"), *o = json_object();

	json_object_set_new(o, "digest", json_string(v->m.config.digest));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *x = json_object_get(c, keys[i]);

		json_object_set_new(o, keys[i], x ? json_deep_copy(x) : json_null());
	}
	return o;
}

static json_t *view_detail(const struct image_view *v)
{
	json_t *o = view_summary(v), *ls = json_array();

	for (size_t i = 0; i < v->m.nlayers; i++)
		json_array_append_new(ls,
				      json_pack("{s:s,s:I,s:s}", "digest", v->m.layers[i].digest,
						"size", (json_int_t)v->m.layers[i].size,
						"media_type", v->m.layers[i].media_type));
	json_object_set_new(o, "media_type", json_string(v->m.media_type));
	json_object_set_new(o, "config", view_config(v));
	json_object_set_new(o, "layers", ls);
	json_object_set_new(o, "rootfs_path", json_string(v->rootfs));
	return o;
}

struct list_ctx {
	struct emberd *d;
	json_t *arr;
};

static int list_one(const char *name, const char *digest, void *ctx)
{
	struct list_ctx *lc = ctx;
	struct image_view v;
	struct img_err e;

	if (view_load(lc->d, name, digest, &v, &e)) {
		/* Listed all the same, with what is wrong: rm can still remove it. */
		json_array_append_new(lc->arr, json_pack("{s:s,s:s,s:s}", "ref", name, "manifest",
							 digest, "error", e.msg));
		return 0;
	}
	json_array_append_new(lc->arr, view_summary(&v));
	view_free(&v);
	return 0;
}

int images_list(void *ctx, struct api_reply *rep)
{
	struct list_ctx lc = {.d = ctx, .arr = json_array()};

	if (store_ref_foreach(images_store(lc.d), list_one, &lc)) {
		json_decref(lc.arr);
		return api_error(rep, 500, NULL, "out of memory");
	}
	rep->json = json_pack("{s:o}", "images", lc.arr);
	return 0;
}

int images_get(void *ctx, const char *ref, struct api_reply *rep)
{
	struct emberd *d = ctx;
	char digest[DIGEST_BUF_LEN];
	struct image_view v;
	struct img_err e;

	if (store_ref_get(images_store(d), ref, digest, &e))
		return api_error(rep, 404, NULL, "no image \"%s\"", ref);
	if (view_load(d, ref, digest, &v, &e))
		return api_error(rep, 500, NULL, "image %s: %s", ref, e.msg);
	rep->json = view_detail(&v);
	view_free(&v);
	return 0;
}

/* ---- remove: the reference, then what no remaining reference needs ---- */

struct sweep {
	struct emberd *d;
	json_t *keep;	/* digests still needed (keys) */
	json_t *unused; /* blobs to remove */
	struct img_err e;
	int blobs, rootfs;
	uint64_t bytes;
};

/* Marks a remaining reference's manifest, config and layers. A manifest
 * that cannot be read stops the sweep: what it needs is then unknown. */
static int mark_ref(const char *name, const char *digest, void *ctx)
{
	struct sweep *s = ctx;
	struct oci_manifest m;
	int rc = manifest_read(images_store(s->d), digest, &m, &s->e);

	json_object_set_new(s->keep, digest, json_true());
	if (rc == -ENOENT)
		return 0; /* nothing of it is stored: it needs nothing */
	if (rc) {
		img_fail(&s->e, rc, "image %s: %s", name, s->e.msg);
		return rc;
	}
	json_object_set_new(s->keep, m.config.digest, json_true());
	for (size_t i = 0; i < m.nlayers; i++)
		json_object_set_new(s->keep, m.layers[i].digest, json_true());
	oci_manifest_free(&m);
	return 0;
}

static int collect_blob(const char *digest, void *ctx)
{
	struct sweep *s = ctx;

	if (!json_object_get(s->keep, digest))
		json_array_append_new(s->unused, json_string(digest));
	return 0;
}

static void sweep_blobs(struct sweep *s)
{
	struct store *st = images_store(s->d);
	size_t i;
	json_t *v;

	json_array_foreach(s->unused, i, v)
	{
		const char *digest = json_string_value(v);
		uint64_t size = 0;
		struct img_err e;

		if (store_blob_size(st, digest, &size, &e) == 0 &&
		    !store_blob_remove(st, digest, &e))
			s->blobs++, s->bytes += size;
		else
			log_err("image store: removing blob %s: %s", digest, e.msg);
	}
}

/* Root filesystems are named by their manifest's hex: "<hex>.erofs", with
 * the image's user files beside them in "<hex>.users" (a directory). */
static void sweep_rootfs(struct sweep *s)
{
	DIR *dh = opendir(images_rootfs_dir(s->d));
	struct dirent *de;
	char digest[DIGEST_BUF_LEN + 8];
	struct stat sb;

	while (dh && (de = readdir(dh))) {
		const char *dot = strrchr(de->d_name, '.');

		if (!dot || dot - de->d_name != 64 ||
		    (strcmp(dot, ".erofs") && strcmp(dot, ".ext4") && strcmp(dot, ".users")))
			continue;
		snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
		if (json_object_get(s->keep, digest))
			continue;
		if (!strcmp(dot, ".users")) {
			int rc = rootfs_remove(dirfd(dh), de->d_name);

			if (rc)
				log_err("image store: removing %s: %s", de->d_name, strerror(-rc));
			continue;
		}
		if (fstatat(dirfd(dh), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    unlinkat(dirfd(dh), de->d_name, 0) == 0)
			s->rootfs++, s->bytes += (uint64_t)sb.st_size;
	}
	if (dh)
		closedir(dh);
}

/* Another reference than (ref) keeps (digest) (and so its blobs and root filesystem). */
struct other_ref {
	const char *ref, *digest;
	bool found;
};

static int other_ref(const char *name, const char *digest, void *ctx)
{
	struct other_ref *o = ctx;

	if (strcmp(name, o->ref) && !strcmp(digest, o->digest))
		o->found = true;
	return 0;
}

/*
 * The app that keeps (ref) from going, if any: one whose spec names it
 * (current version, or the one a new version replaces), or one that boots
 * from its manifest (digest) when no other reference keeps that manifest,
 * since removing the last one would sweep the root filesystem it boots.
 */
static const char *image_used_by_app(struct emberd *d, const char *ref, const char *digest)
{
	struct other_ref o = {.ref = ref, .digest = digest};

	(void)store_ref_foreach(images_store(d), other_ref, &o);
	for (struct eapp *a = d->apps; a; a = a->next) {
		const struct app_spec *s[2] = {a->entry ? app_spec_of(a) : NULL, a->prev};

		for (int i = 0; i < 2; i++)
			if (s[i] && (!strcmp(s[i]->image, ref) ||
				     (!o.found && !strcmp(s[i]->boot.digest, digest))))
				return app_name(a);
	}
	return NULL;
}

int images_remove(void *ctx, const char *ref, struct api_reply *rep)
{
	struct sweep s = {.d = ctx};
	char digest[DIGEST_BUF_LEN];
	const char *user;
	int rc;

	if (images_busy(s.d))
		return api_error(rep, 409, NULL,
				 "an image job is queued or running: try again after it");
	if (store_ref_get(images_store(s.d), ref, digest, &s.e))
		return api_error(rep, 404, NULL, "no image \"%s\"", ref);
	if ((user = image_used_by_app(s.d, ref, digest)))
		return api_error(rep, 409, NULL,
				 "image \"%s\" is used by app %s: remove the app or deploy it "
				 "with another image first",
				 ref, user);
	if (store_ref_del(images_store(s.d), ref, &s.e))
		return api_error(rep, 500, NULL, "%s", s.e.msg);
	s.keep = json_object();
	s.unused = json_array();
	rc = store_ref_foreach(images_store(s.d), mark_ref, &s);
	if (!rc)
		rc = store_blob_foreach(images_store(s.d), collect_blob, &s, &s.e);
	if (!rc) {
		sweep_blobs(&s);
		sweep_rootfs(&s);
	} else {
		log_err("image store: %s: no blob removed", s.e.msg);
	}
	log_info("image %s removed: %d blobs, %d root filesystems, %llu bytes freed", ref, s.blobs,
		 s.rootfs, (unsigned long long)s.bytes);
	rep->json =
		json_pack("{s:s,s:s,s:i,s:i,s:I}", "ref", ref, "manifest", digest, "blobs_removed",
			  s.blobs, "rootfs_removed", s.rootfs, "bytes_freed", (json_int_t)s.bytes);
	json_decref(s.keep);
	json_decref(s.unused);
	return 0;
}
