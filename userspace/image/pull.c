/* SPDX-License-Identifier: Apache-2.0 */
/* image_pull(): a registry's manifest, config and layers into the store, through an import's job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "import_priv.h"
#include "pull.h"
#include "ref.h"

/* The source of a pull: the registry and the repository its blobs are in. */
struct pull_src {
	struct imp_src src;
	struct registry *reg;
	const char *repo;
};

/* One layer on its way from the registry into a store writer. */
struct pull_sink {
	struct imp_job *j;
	const struct imp_blob *b;
	struct store_writer *w;
	struct img_err *e;
	uint64_t told; /* bytes last reported to the progress callback */
};

/* A small blob (the config) held in memory, at most its descriptor's size. */
struct pull_buf {
	char *p;
	size_t len, max;
	struct img_err *e;
};

int image_pull_check(const char *ref, const struct registry_opts *ro, char *host, struct img_err *e)
{
	struct img_ref r;
	int rc = ref_parse(ref, REF_DEFAULT_DOCKER_HUB, &r, e)
			 ?: registry_opts_check(r.registry, ro, e);

	if (!rc && host)
		snprintf(host, REF_NAME_MAX + 1, "%s", r.registry);
	return rc;
}

/* The name to store: (name), else (ref) with ":latest" when it has no tag or digest. */
static int pull_name(const char *ref, const char *name, char out[STORE_REF_MAX + 1],
		     struct img_err *e)
{
	const char *last = strrchr(ref, '/');
	int n;

	last = last ? last + 1 : ref;
	if (name)
		n = snprintf(out, STORE_REF_MAX + 1, "%s", name);
	else if (strchr(last, ':') || strchr(last, '@'))
		n = snprintf(out, STORE_REF_MAX + 1, "%s", ref);
	else
		n = snprintf(out, STORE_REF_MAX + 1, "%s:latest", ref);
	if (n > STORE_REF_MAX)
		return img_fail(e, -ENAMETOOLONG,
				"reference \"%.100s...\": longer than %d characters once named: "
				"give the image a shorter name",
				ref, STORE_REF_MAX);
	return 0;
}

/* ---- the manifest ---- */

/* What a registry document is: its Content-Type, else its own mediaType member. */
static enum oci_kind doc_kind(const struct registry_doc *d)
{
	enum oci_kind k = oci_media_kind(d->media_type);
	json_t *j;

	if (k != OCI_KIND_UNKNOWN)
		return k;
	j = json_loadb(d->data, d->len, 0, NULL);
	k = oci_media_kind(json_string_value(json_object_get(j, "mediaType")));
	json_decref(j);
	return k;
}

/*
 * Hashes the document (d) into (digest): it must be (want) when that is not
 * "" (a reference by digest, an index's descriptor of (want_size) bytes, or
 * -1), and what the registry's Docker-Content-Digest says when it says a
 * sha256 one.
 */
static int doc_check(const struct registry_doc *d, const char *what, const char *want,
		     int64_t want_size, char digest[DIGEST_BUF_LEN], struct img_err *e)
{
	int rc = digest_buf(d->data, d->len, digest, e);

	if (rc)
		return rc;
	if (want_size >= 0 && (int64_t)d->len != want_size)
		return img_fail(e, -EBADMSG, "manifest %s: %zu bytes, its index says %lld", what,
				d->len, (long long)want_size);
	if (want[0] && strcmp(want, digest))
		return img_fail(e, -EBADMSG, "manifest %s: its bytes hash to %s", what, digest);
	/* A header of another algorithm is not comparable; the bytes' own digest decides. */
	if (!strncmp(d->digest, DIGEST_PREFIX, strlen(DIGEST_PREFIX)) && strcmp(d->digest, digest))
		return img_fail(e, -EBADMSG,
				"manifest %s: the registry says Docker-Content-Digest %.100s, its "
				"bytes hash to %s",
				what, d->digest, digest);
	return 0;
}

/* The manifest of (r) for linux/amd64 into (doc), its digest into j->manifest. */
static int manifest_fetch(struct pull_src *ps, struct imp_job *j, const struct img_ref *r,
			  struct registry_doc *doc, struct img_err *e)
{
	char want[DIGEST_BUF_LEN], what[REF_FORMAT_SIZE];
	int64_t want_size = -1;
	struct oci_index ix;
	int rc, i;

	snprintf(want, sizeof(want), "%s", r->digest);
	snprintf(what, sizeof(what), "%s%c%s", r->repo, r->digest[0] ? '@' : ':',
		 r->digest[0] ? r->digest : r->tag);
	for (int depth = 0;; depth++) {
		rc = registry_get_manifest(ps->reg, ps->repo, want[0] ? want : r->tag, doc, e)
			     ?: doc_check(doc, what, want, want_size, j->manifest, e);
		if (rc)
			return rc;
		switch (doc_kind(doc)) {
		case OCI_KIND_MANIFEST:
			return 0;
		case OCI_KIND_INDEX:
			break;
		default:
			return img_fail(e, -ENOTSUP,
					"%s: media type \"%.100s\" is neither an image manifest "
					"nor an index",
					what, doc->media_type);
		}
		if (depth == PULL_INDEX_DEPTH)
			return img_fail(e, -ELOOP, "%s: indexes nested more than %d deep", what,
					PULL_INDEX_DEPTH);
		rc = oci_index_parse(doc->data, doc->len, &ix, e);
		if (rc)
			return rc;
		i = oci_index_pick(&ix, "linux", "amd64", NULL, e);
		if (i >= 0) {
			snprintf(want, sizeof(want), "%s", ix.manifests[i].digest);
			want_size = ix.manifests[i].size;
		}
		oci_index_free(&ix);
		if (i < 0)
			return i;
		registry_doc_free(doc);
		snprintf(what, sizeof(what), "%s@%s", r->repo, want);
	}
}

/* ---- the config ---- */

static int buf_sink(void *ctx, const void *p, size_t n)
{
	struct pull_buf *b = ctx;

	/* The client stops past the descriptor's size; this is the backstop. */
	if (n > b->max - b->len)
		return img_fail(b->e, -EFBIG, "more than %zu bytes", b->max);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Reads stored blob (digest) of (size) bytes into (*out). */
static int config_stored(struct store *st, const char *digest, size_t size, char **out,
			 struct img_err *e)
{
	int fd = store_blob_open(st, digest, e), rc;
	ssize_t n = -1;

	if (fd < 0)
		return fd;
	*out = malloc(size + 1);
	if (*out)
		n = pread(fd, *out, size + 1, 0);
	if (n != (ssize_t)size)
		rc = img_fail(e, n < 0 ? -errno : -EBADMSG,
			      "config %s: the stored blob is not the %zu bytes the manifest says",
			      digest, size);
	else
		rc = 0;
	close(fd);
	return rc;
}

/* The config of (m) into j->config_buf (fetched, or read from the store), checked. */
static int config_fetch(struct pull_src *ps, struct imp_job *j, const struct oci_manifest *m,
			struct img_err *e)
{
	const struct oci_desc *c = &m->config;
	struct pull_buf b = {.max = (size_t)c->size, .e = e};
	char got[DIGEST_BUF_LEN];
	int rc;

	if (c->size > OCI_CONFIG_MAX)
		return img_fail(e, -E2BIG, "config %s: %lld bytes, more than %d", c->digest,
				(long long)c->size, OCI_CONFIG_MAX);
	if (store_has(j->st, c->digest)) {
		rc = config_stored(j->st, c->digest, b.max, &j->config_buf, e);
	} else if (!(b.p = j->config_buf = malloc(b.max + 1))) {
		rc = img_fail(e, -ENOMEM, "config %s: out of memory", c->digest);
	} else {
		rc = registry_get_blob(ps->reg, ps->repo, c->digest, c->size, buf_sink, &b, NULL, e)
			     ?: digest_buf(b.p, b.len, got, e);
		if (!rc && strcmp(got, c->digest))
			rc = img_fail(e, -EBADMSG, "config %s: its bytes hash to %s", c->digest,
				      got);
	}
	return rc ?: imp_config_check(j->config_buf, b.max, m->nlayers, NULL, e);
}

/* ---- the layers: the source's copy operation ---- */

static void sink_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct pull_sink *s = ctx;
	const struct import_opts *o = s->j->o;

	(void)total;
	if (o->progress && done - s->told >= IMP_PROGRESS_STEP) {
		o->progress(o->progress_ctx, s->b->layer, s->j->nlayers, done, s->b->size);
		s->told = done;
	}
}

static int sink_write(void *ctx, const void *p, size_t n)
{
	struct pull_sink *s = ctx;

	return store_writer_write(s->w, p, n, s->e);
}

/* One layer from the registry into the store, verified by the store's writer. */
static int layer_fetch(struct pull_src *ps, struct imp_job *j, struct imp_blob *b,
		       struct img_err *e)
{
	struct pull_sink s = {.j = j, .b = b, .e = e};
	char why[sizeof(e->msg)];
	int rc = store_writer_open(j->st, b->digest, (int64_t)b->size, &s.w, e);

	if (!rc && (rc = registry_get_blob(ps->reg, ps->repo, b->digest, (int64_t)b->size,
					   sink_write, &s, sink_progress, e)))
		store_writer_abort(s.w);
	else if (!rc)
		rc = store_writer_commit(s.w, NULL, e);
	if (rc) {
		snprintf(why, sizeof(why), "%s", e->msg);
		return img_fail(e, rc, "layer %u of %u: %s", b->layer, j->nlayers, why);
	}
	b->written = true;
	j->written += b->size;
	if (j->o->progress)
		j->o->progress(j->o->progress_ctx, b->layer, j->nlayers, b->size, b->size);
	return 0;
}

static int pull_copy(struct imp_src *s, struct imp_job *j, struct img_err *e)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < j->n; i++)
		if (imp_blob_pending(&j->blobs[i]))
			rc = layer_fetch((struct pull_src *)s, j, &j->blobs[i], e);
	return rc;
}

/* Only copy: a registry has no files for the importers to read, and the
 * pull closes nothing it did not open itself. */
static const struct imp_src_ops pull_ops = {.copy = pull_copy};

/* ---- the pull ---- */

/* The manifest, config and layers of (r) listed in (j); nothing is written yet. */
static int pull_list(struct pull_src *ps, struct imp_job *j, const struct img_ref *r,
		     struct img_err *e)
{
	struct registry_doc doc;
	struct oci_manifest m;
	enum oci_compression c;
	int rc = manifest_fetch(ps, j, r, &doc, e) ?: oci_manifest_parse(doc.data, doc.len, &m, e);

	if (rc) {
		registry_doc_free(&doc);
		return rc;
	}
	j->manifest_buf = doc.data; /* freed with the job */
	j->nlayers = (unsigned)m.nlayers;
	snprintf(j->config, sizeof(j->config), "%s", m.config.digest);
	for (size_t i = 0; !rc && i < m.nlayers; i++)
		rc = oci_layer_compression(m.layers[i].media_type, &c, e);
	rc = rc ?: config_fetch(ps, j, &m, e);
	for (unsigned i = 0; !rc && i < m.nlayers; i++)
		rc = imp_job_add(j, "layer", i + 1, m.layers[i].digest, (uint64_t)m.layers[i].size,
				 "", NULL, e);
	rc = rc ?: imp_job_add(j, "config", 0, m.config.digest, (uint64_t)m.config.size, NULL,
			       j->config_buf, e)
		?: imp_job_add(j, "manifest", 0, j->manifest, doc.len, NULL, j->manifest_buf, e);
	oci_manifest_free(&m);
	return rc;
}

static int pull_run(struct imp_job *j, struct pull_src *ps, const char *ref,
		    const struct registry_opts *ro, struct img_err *e)
{
	struct img_ref r;
	int rc = ref_parse(ref, REF_DEFAULT_DOCKER_HUB, &r, e);

	if (rc)
		return rc;
	ps->src = (struct imp_src){&pull_ops, IMPORT_REGISTRY, ref};
	ps->repo = r.repo;
	j->src = &ps->src;
	rc = store_ref_name_check(j->name, e) ?: registry_new(r.registry, ro, &ps->reg, e)
		?: pull_list(ps, j, &r, e) ?: imp_job_commit(j, e);
	registry_free(ps->reg);
	return rc;
}

int image_pull(struct store *st, const char *ref, const char *name, const struct registry_opts *ro,
	       const struct import_opts *o, struct import_result *res, struct img_err *e)
{
	static const struct import_opts none;
	struct imp_job *j = calloc(1, sizeof(*j));
	struct pull_src ps = {0};
	int rc;

	if (res)
		memset(res, 0, sizeof(*res));
	if (!j)
		return img_fail(e, -ENOMEM, "pull %.300s: out of memory", ref);
	j->st = st;
	j->o = o ? o : &none;
	j->want = name;
	rc = pull_name(ref, name, j->name, e) ?: pull_run(j, &ps, ref, ro, e);
	if (!rc && res)
		imp_result_fill(j, res);
	free(j->manifest_buf);
	free(j->config_buf);
	free(j);
	return rc;
}
