/* SPDX-License-Identifier: Apache-2.0 */
/* The importer tests' image: two layers written with libarchive, its config, manifest and index. */
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/oci.h"
#include "image/store.h"
#include "import_fixture.h"

#define FX_TAR_CAP (256 << 10)
#define MTIME	   1600000000

void fx_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void entry_add(struct archive *a, const char *path, const void *data, size_t len,
		      unsigned type, mode_t perm)
{
	struct archive_entry *ent = archive_entry_new();

	archive_entry_set_pathname(ent, path);
	archive_entry_set_filetype(ent, type);
	archive_entry_set_perm(ent, perm);
	archive_entry_set_size(ent, type == AE_IFREG ? (la_int64_t)len : 0);
	if (type == AE_IFLNK) { /* (data) is the target */
		archive_entry_set_symlink(ent, data);
		len = 0;
	}
	archive_entry_set_mtime(ent, MTIME, 0);
	assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(ent);
}

static void blob_set(struct fx_blob *b, char *data, size_t len)
{
	b->data = data;
	b->len = len;
	assert_int_equal(digest_buf(data, len, b->digest, NULL), 0);
}

/* A layer tar in memory: (path) holding (text), under its directory; with (big),
 * a file "data" of that many bytes beside it. */
static void layer_tar(struct fx_blob *b, const char *dir, const char *path, const char *text,
		      size_t big)
{
	struct archive *a = archive_write_new();
	char *buf = malloc(FX_TAR_CAP + big), *data = calloc(1, big + 1), name[64];
	size_t used = 0;

	assert_non_null(buf);
	assert_non_null(data);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, FX_TAR_CAP + big, &used), ARCHIVE_OK);
	entry_add(a, dir, NULL, 0, AE_IFDIR, 0755);
	entry_add(a, path, text, strlen(text), AE_IFREG, 0755);
	snprintf(name, sizeof(name), "%s/data", dir);
	if (big)
		entry_add(a, name, data, big, AE_IFREG, 0644);
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
	free(data);
	blob_set(b, buf, used);
}

/* (in) gzipped: libarchive's raw format writes the bytes of its one entry through the filter. */
static void gzip_blob(struct fx_blob *out, const struct fx_blob *in)
{
	struct archive *a = archive_write_new();
	char *buf = malloc(FX_TAR_CAP);
	size_t used = 0;

	assert_non_null(buf);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, FX_TAR_CAP, &used), ARCHIVE_OK);
	entry_add(a, "layer", in->data, in->len, AE_IFREG, 0644);
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
	blob_set(out, buf, used);
}

static void json_blob(struct fx_blob *b, json_t *doc)
{
	char *s = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);

	assert_non_null(s);
	json_decref(doc);
	blob_set(b, s, strlen(s));
}

static json_t *env_make(size_t big)
{
	json_t *env = json_pack("[s, s]", "PATH=/usr/bin:/bin", "GREETING=hello");
	char *s;

	if (big) {
		s = malloc(big + 1);
		assert_non_null(s);
		memset(s, 'x', big);
		memcpy(s, "BIG=", 4);
		s[big] = 0;
		json_array_append_new(env, json_string(s));
		free(s);
	}
	return env;
}

static void config_make(struct fx_image *im)
{
	int a = im->o.swap_diff_ids;
	json_t *doc = json_pack("{s:s, s:s, s:{s:o, s:[s, s], s:s, s:s}, s:{s:s, s:[s, s]}}",
				"architecture", im->o.arch, "os", "linux", "config", "Env",
				env_make(im->o.env_big), "Cmd", "/app/run.sh", "--serve",
				"WorkingDir", "/app", "User", "1000:1000", "rootfs", "type",
				"layers", "diff_ids", im->tar[a].digest, im->tar[!a].digest);

	assert_non_null(doc);
	json_blob(&im->config, doc);
}

static json_t *desc(const char *mt, const struct fx_blob *b)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", b->digest, "size",
			 (json_int_t)b->len);
}

static void manifest_make(struct fx_image *im)
{
	json_t *doc =
		json_pack("{s:i, s:s, s:o, s:[o, o]}", "schemaVersion", 2, "mediaType",
			  OCI_MT_MANIFEST, "config", desc(OCI_MT_CONFIG, &im->config), "layers",
			  desc(OCI_MT_LAYER_GZ, &im->layer[0]), desc(OCI_MT_LAYER, &im->layer[1]));
	json_t *entry;

	json_blob(&im->manifest, doc);
	entry = desc(OCI_MT_MANIFEST, &im->manifest);
	if (!im->o.no_names)
		json_object_set_new(entry, "annotations",
				    json_pack("{s:s}", OCI_ANNOTATION_REF_NAME, FX_REF_NAME));
	if (im->o.index_platform)
		json_object_set_new(
			entry, "platform",
			json_pack("{s:s, s:s}", "os", "linux", "architecture", im->o.arch));
	json_blob(&im->index, json_pack("{s:i, s:[o]}", "schemaVersion", 2, "manifests", entry));
}

void fx_make(struct fx_image *im, const struct fx_opts *o)
{
	memset(im, 0, sizeof(*im));
	if (o)
		im->o = *o;
	if (!im->o.arch)
		im->o.arch = "amd64";
	layer_tar(&im->tar[0], "etc", "etc/hello", "hello from the first layer\n", 0);
	layer_tar(&im->tar[1], "app", "app/run.sh", "#!/bin/sh\necho hi\n", im->o.big);
	gzip_blob(&im->layer[0], &im->tar[0]);
	im->layer[1] = im->tar[1];
	im->layer[1].data = malloc(im->tar[1].len);
	assert_non_null(im->layer[1].data);
	memcpy(im->layer[1].data, im->tar[1].data, im->tar[1].len);
	config_make(im);
	manifest_make(im);
}

void fx_free(struct fx_image *im)
{
	struct fx_blob *all[] = {&im->tar[0], &im->tar[1],   &im->layer[0], &im->layer[1],
				 &im->config, &im->manifest, &im->index};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->data);
	memset(im, 0, sizeof(*im));
}

/* ---- the three forms ---- */

static const char layout_file[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static void blob_name(char *out, size_t size, const struct fx_blob *b)
{
	snprintf(out, size, "blobs/sha256/%s", digest_hex(b->digest));
}

void fx_layout(const struct fx_image *im, const char *dir)
{
	const struct fx_blob *blobs[] = {&im->layer[0], &im->layer[1], &im->config, &im->manifest};
	char p[512], name[128];

	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/blobs", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/blobs/sha256", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/oci-layout", dir);
	fx_write_file(p, layout_file, strlen(layout_file));
	snprintf(p, sizeof(p), "%s/index.json", dir);
	fx_write_file(p, im->index.data, im->index.len);
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		blob_name(name, sizeof(name), blobs[i]);
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		fx_write_file(p, blobs[i]->data, blobs[i]->len);
	}
}

static struct archive *tar_open(const char *file, bool gzip)
{
	struct archive *a = archive_write_new();

	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (gzip)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
	return a;
}

static void tar_add(struct archive *a, const char *name, const void *data, size_t len)
{
	entry_add(a, name, data, len, AE_IFREG, 0644);
}

void fx_oci_archive(const struct fx_image *im, const char *file, bool gzip)
{
	const struct fx_blob *blobs[] = {&im->config, &im->manifest, &im->layer[0], &im->layer[1]};
	struct archive *a = tar_open(file, gzip);
	char name[128];

	tar_add(a, "oci-layout", layout_file, strlen(layout_file));
	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		blob_name(name, sizeof(name), blobs[i]);
		tar_add(a, name, blobs[i]->data, blobs[i]->len);
	}
	if (im->o.docker_too) {
		snprintf(name, sizeof(name), "[{\"Config\":\"blobs/sha256/%s\",\"Layers\":[]}]",
			 digest_hex(im->config.digest));
		tar_add(a, "manifest.json", name, strlen(name));
	}
	/* Last, as skopeo writes it: the first pass must not need it first. */
	tar_add(a, "index.json", im->index.data, im->index.len);
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

/* docker save's classic form: <id>/{VERSION,json,layer.tar}, <hex>.json, manifest.json,
 * repositories. */
void fx_docker_archive(const struct fx_image *im, const char *file)
{
	struct archive *a = tar_open(file, false);
	char layers[2][128], name[128];
	json_t *mf;
	char *s;

	for (int i = 0; i < 2; i++) {
		const char *id = digest_hex(im->tar[i].digest);

		snprintf(layers[i], sizeof(layers[i]), "%s/layer.tar", id);
		snprintf(name, sizeof(name), "%s/VERSION", id);
		tar_add(a, name, "1.0", 3);
		snprintf(name, sizeof(name), "%s/json", id);
		tar_add(a, name, "{}", 2);
		if (i && im->o.docker_link) {
			tar_add(a, "real/layer.tar", im->tar[i].data, im->tar[i].len);
			entry_add(a, layers[i], im->o.docker_link, 0, AE_IFLNK, 0777);
		} else {
			tar_add(a, layers[i], im->tar[i].data, im->tar[i].len);
		}
	}
	snprintf(name, sizeof(name), "%s.json", digest_hex(im->config.digest));
	if (im->o.docker_config)
		snprintf(name, sizeof(name), "%s", im->o.docker_config);
	tar_add(a, name, im->config.data, im->config.len);
	mf = json_pack("[{s:s, s:[], s:[s, s]}]", "Config", name, "RepoTags", "Layers",
		       im->o.docker_layer ? im->o.docker_layer : layers[0], layers[1]);
	if (!im->o.no_names)
		json_array_append_new(json_object_get(json_array_get(mf, 0), "RepoTags"),
				      json_string(FX_REPO_TAG));
	s = json_dumps(mf, JSON_COMPACT);
	tar_add(a, "manifest.json", s, strlen(s));
	free(s);
	json_decref(mf);
	s = "{\"fx/app\":{\"v1\":\"0\"}}";
	tar_add(a, "repositories", s, strlen(s));
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

/* ---- the store, as the tests look at it ---- */

static int count_one(const char *digest, void *ctx)
{
	(void)digest;
	++*(int *)ctx;
	return 0;
}

int fx_store_blobs(struct store *st)
{
	int n = 0;

	assert_int_equal(store_blob_foreach(st, count_one, &n, NULL), 0);
	return n;
}

char *fx_store_read(struct store *st, const char *digest)
{
	uint64_t size;
	char *buf;
	int fd = store_blob_open(st, digest, NULL);

	assert_true(fd >= 0);
	assert_int_equal(store_blob_size(st, digest, &size, NULL), 0);
	buf = calloc(1, size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, size), (ssize_t)size);
	close(fd);
	return buf;
}
