/* SPDX-License-Identifier: Apache-2.0 */
/* image_import(): one import's blobs checked, written into the store, referenced or removed again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import_priv.h"

const char *import_format_name(enum import_format f)
{
	switch (f) {
	case IMPORT_OCI_LAYOUT:
		return "oci-layout";
	case IMPORT_OCI_ARCHIVE:
		return "oci-archive";
	case IMPORT_DOCKER_ARCHIVE:
		return "docker-archive";
	case IMPORT_REGISTRY:
		return "registry";
	}
	return "unknown";
}

/* ---- the job's blobs ---- */

int imp_job_add(struct imp_job *j, const char *what, unsigned layer, const char *digest,
		uint64_t size, const char *path, const void *data, struct img_err *e)
{
	struct imp_blob *b;

	/* An image may repeat a layer (two empty ones): it is stored once. */
	for (size_t i = 0; i < j->n; i++)
		if (!strcmp(j->blobs[i].digest, digest))
			return 0;
	if (j->n == sizeof(j->blobs) / sizeof(j->blobs[0]))
		return img_fail(e, -E2BIG, "image: more than %d blobs", OCI_LAYERS_MAX + 2);
	b = &j->blobs[j->n++];
	memset(b, 0, sizeof(*b));
	snprintf(b->digest, sizeof(b->digest), "%s", digest);
	snprintf(b->path, sizeof(b->path), "%s", path ? path : "");
	b->size = size;
	b->data = data;
	b->what = what;
	b->layer = layer;
	b->present = store_has(j->st, digest);
	return 0;
}

bool imp_blob_pending(const struct imp_blob *b)
{
	return !b->present && !b->written && !b->data;
}

struct imp_blob *imp_job_pending(struct imp_job *j, const char *path)
{
	for (size_t i = 0; i < j->n; i++)
		if (imp_blob_pending(&j->blobs[i]) && !strcmp(j->blobs[i].path, path))
			return &j->blobs[i];
	return NULL;
}

size_t imp_job_npending(const struct imp_job *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++)
		n += imp_blob_pending(&j->blobs[i]);
	return n;
}

static void progress(struct imp_job *j, const struct imp_blob *b, uint64_t done)
{
	if (j->o->progress && b->layer)
		j->o->progress(j->o->progress_ctx, b->layer, j->nlayers, done, b->size);
}

/* Copies from (rd) into the open writer (w) until the end, reporting progress. */
static int blob_pump(struct imp_job *j, struct imp_blob *b, struct store_writer *w, imp_read_fn rd,
		     void *arg, struct img_err *e)
{
	uint64_t done = 0, told = 0;
	size_t got = 0;
	char *buf = malloc(IMP_CHUNK);
	int rc = buf ? 0 : img_fail(e, -ENOMEM, "%s %s: out of memory", b->what, b->digest);

	while (!rc && !(rc = rd(arg, buf, IMP_CHUNK, &got, e)) && got) {
		rc = store_writer_write(w, buf, got, e);
		done += got;
		if (!rc && done - told >= IMP_PROGRESS_STEP) {
			progress(j, b, done);
			told = done;
		}
	}
	free(buf);
	return rc;
}

/* Prefixes (e) with the blob's name: the store's line alone does not say which one. */
static int blob_fail(const struct imp_job *j, const struct imp_blob *b, int rc, struct img_err *e)
{
	bool docker = j->src->format == IMPORT_DOCKER_ARCHIVE;
	char why[sizeof(e->msg)];

	if (!e)
		return rc;
	memcpy(why, e->msg, sizeof(why));
	if (b->layer && docker) /* its only digest is the config's diff_id */
		return img_fail(e, rc, "layer %u (%s) against rootfs.diff_ids[%u]: %s", b->layer,
				b->path, b->layer - 1, why);
	if (b->layer)
		return img_fail(e, rc, "layer %u (%s): %s", b->layer, b->path, why);
	return img_fail(e, rc, "%s %s: %s", b->what, b->digest, why);
}

int imp_blob_copy(struct imp_job *j, struct imp_blob *b, imp_read_fn rd, void *arg,
		  struct img_err *e)
{
	struct store_writer *w;
	int rc;

	/* The expected size bounds the writer: job_limits() has checked it. */
	rc = store_writer_open(j->st, b->digest, (int64_t)b->size, &w, e);
	if (!rc && (rc = blob_pump(j, b, w, rd, arg, e)))
		store_writer_abort(w);
	else if (!rc)
		rc = store_writer_commit(w, NULL, e);
	if (rc)
		return blob_fail(j, b, rc, e);
	b->written = true;
	j->written += b->size;
	progress(j, b, b->size);
	return 0;
}

/* ---- checks before anything is written ---- */

int imp_config_check(const void *buf, size_t len, size_t nlayers, struct oci_config *c,
		     struct img_err *e)
{
	struct oci_manifest m = {.nlayers = nlayers};
	struct oci_config *cfg = c ? c : malloc(sizeof(*cfg)); /* 13 KiB: not on the stack */
	int rc;

	if (!cfg)
		return img_fail(e, -ENOMEM, "image config: out of memory");
	rc = oci_config_parse(buf, len, cfg, e);
	if (!rc)
		rc = oci_config_check_platform(cfg, "linux", "amd64", e)
			     ?: oci_config_check_layers(cfg, &m, e);
	if (rc || !c)
		oci_config_free(cfg);
	if (!c)
		free(cfg);
	return rc;
}

/* Every blob within the limits, counted before a byte of them is written. */
static int job_limits(struct imp_job *j, struct img_err *e)
{
	uint64_t blob_max = j->o->max_blob ? j->o->max_blob : OCI_BLOB_MAX, total = 0;

	for (size_t i = 0; i < j->n; i++) {
		const struct imp_blob *b = &j->blobs[i];

		if (b->size > blob_max)
			return img_fail(e, -EFBIG, "%s %s: %llu bytes, more than the limit of %llu",
					b->what, b->digest, (unsigned long long)b->size,
					(unsigned long long)blob_max);
		if (!b->present)
			total += b->size;
	}
	if (j->o->max_total && total > j->o->max_total)
		return img_fail(e, -EFBIG,
				"image: %llu bytes to write, more than the limit of %llu",
				(unsigned long long)total, (unsigned long long)j->o->max_total);
	return 0;
}

/* ---- writing ---- */

struct mem_reader {
	const char *p;
	size_t left;
};

static int mem_read(void *arg, void *buf, size_t n, size_t *got, struct img_err *e)
{
	struct mem_reader *m = arg;

	(void)e;
	*got = n < m->left ? n : m->left;
	memcpy(buf, m->p, *got);
	m->p += *got;
	m->left -= *got;
	return 0;
}

/* Layers from the source, then the config and manifest held in memory. */
static int job_write(struct imp_job *j, struct img_err *e)
{
	int rc = job_limits(j, e) ?: j->src->ops->copy(j->src, j, e);

	for (size_t i = 0; !rc && i < j->n; i++) {
		struct imp_blob *b = &j->blobs[i];
		struct mem_reader m = {b->data, b->size};

		if (b->present) {
			j->skipped += b->size;
			progress(j, b, b->size);
		} else if (b->data && !b->written) {
			rc = imp_blob_copy(j, b, mem_read, &m, e);
		} else if (!b->written) {
			rc = img_fail(e, -EIO, "%s %s: %s was not read from %s", b->what, b->digest,
				      b->path, j->src->path);
		}
	}
	return rc;
}

/* The caller's last word on the stored image, before its name points at it. */
static int job_check(struct imp_job *j, struct img_err *e)
{
	return j->o->check ? j->o->check(j->o->check_ctx, j->st, j->manifest, e) : 0;
}

/* On failure: only what this import added goes; what was there stays. */
static void job_rollback(struct imp_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->blobs[i].written && store_blob_remove(j->st, j->blobs[i].digest, NULL) == 0)
			j->blobs[i].written = false;
}

/* ---- the import ---- */

static int src_open(const char *path, struct imp_src **src, struct img_err *e)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return img_fail(e, -errno, "%s: %s", path, strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return imp_dir_open(path, src, e);
	if (S_ISREG(sb.st_mode))
		return imp_tar_open(path, src, e);
	return img_fail(e, -EINVAL, "%s: neither a directory (an OCI layout) nor a tar file", path);
}

void imp_result_fill(const struct imp_job *j, struct import_result *res)
{
	res->format = j->src->format;
	snprintf(res->ref, sizeof(res->ref), "%s", j->name);
	memcpy(res->manifest, j->manifest, sizeof(res->manifest));
	memcpy(res->config, j->config, sizeof(res->config));
	res->layers = j->nlayers;
	res->bytes_written = j->written;
	res->bytes_skipped = j->skipped;
}

int imp_job_commit(struct imp_job *j, struct img_err *e)
{
	int rc = store_ref_name_check(j->name, e) ?: job_write(j, e) ?: job_check(j, e)
		?: store_ref_set(j->st, j->name, j->manifest, e);

	if (rc)
		job_rollback(j);
	return rc;
}

static int job_run(struct imp_job *j, const char *path, struct img_err *e)
{
	int rc = src_open(path, &j->src, e);

	if (rc)
		return rc;
	rc = j->src->format == IMPORT_DOCKER_ARCHIVE ? imp_docker(j, e) : imp_oci(j, e);
	if (!rc && !j->name[0])
		rc = img_fail(e, -EINVAL, "%s names no image: give the image a name", path);
	return rc ?: imp_job_commit(j, e);
}

int image_import(struct store *st, const char *path, const char *name, const struct import_opts *o,
		 struct import_result *res, struct img_err *e)
{
	static const struct import_opts none;
	struct imp_job *j = calloc(1, sizeof(*j));
	int rc;

	if (res)
		memset(res, 0, sizeof(*res));
	if (!j)
		return img_fail(e, -ENOMEM, "import %s: out of memory", path);
	j->st = st;
	j->o = o ? o : &none;
	j->want = name;
	snprintf(j->name, sizeof(j->name), "%s", name ? name : "");
	rc = name ? store_ref_name_check(name, e) : 0;
	if (!rc)
		rc = job_run(j, path, e);
	if (!rc && res)
		imp_result_fill(j, res);
	if (j->src)
		j->src->ops->close(j->src);
	free(j->manifest_buf);
	free(j->config_buf);
	free(j);
	return rc;
}
