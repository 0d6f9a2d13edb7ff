/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI side of imports: index.json to manifest, config and layers, and the layout directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "../../vmm/fileio.h"
#include "import_priv.h"

/* Nested indexes followed before giving up: a list of lists is already unusual. */
#define IMP_INDEX_DEPTH 4

static const char *where(const struct imp_job *j)
{
	return j->src->format == IMPORT_OCI_LAYOUT ? "layout" : "archive";
}

int imp_read_blob(struct imp_job *j, const char *who, const char *digest, int64_t size, size_t max,
		  char **buf, size_t *len, struct img_err *e)
{
	char path[IMP_PATH_MAX + 1], got[DIGEST_BUF_LEN];
	int rc;

	snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(digest));
	rc = j->src->ops->read(j->src, path, max, buf, len, e);
	if (rc == -ENOENT)
		return img_fail(e, rc, "%s names blob %s which is not in the %s", who, digest,
				where(j));
	if (rc)
		return rc;
	if ((int64_t)*len != size)
		rc = img_fail(e, -EBADMSG, "blob %s: %zu bytes, %s says %lld", digest, *len, who,
			      (long long)size);
	else if (!(rc = digest_buf(*buf, *len, got, e)) && strcmp(got, digest))
		rc = img_fail(e, -EBADMSG, "blob %s: its bytes hash to %s", digest, got);
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

/* Reads a small file of the layout itself (oci-layout, index.json). */
static int read_top(struct imp_job *j, const char *path, size_t max, char **buf, size_t *len,
		    struct img_err *e)
{
	int rc = j->src->ops->read(j->src, path, max, buf, len, e);

	if (rc == -ENOENT)
		return img_fail(e, rc, "%s: no %s: not an OCI image layout", j->src->path, path);
	return rc;
}

static int layout_check(struct imp_job *j, struct img_err *e)
{
	char *buf;
	size_t len;
	int rc = read_top(j, "oci-layout", OCI_LAYOUT_MAX, &buf, &len, e);

	if (!rc) {
		rc = oci_layout_check(buf, len, e);
		free(buf);
	}
	return rc;
}

static bool index_names(const struct oci_index *ix, const char *ref_name)
{
	for (size_t i = 0; i < ix->n; i++)
		if (!strcmp(ix->manifests[i].ref_name, ref_name))
			return true;
	return false;
}

/* The entry ref.name calls (want)'s tag, or (want), else the first linux/amd64 one. */
static int pick_named(const struct oci_index *ix, const char *want, struct img_err *e)
{
	struct img_ref r;

	if (want && !ref_parse(want, 0, &r, NULL) && r.tag[0] && index_names(ix, r.tag))
		return oci_index_pick(ix, "linux", "amd64", r.tag, e);
	if (want && index_names(ix, want))
		return oci_index_pick(ix, "linux", "amd64", want, e);
	return oci_index_pick(ix, "linux", "amd64", NULL, e);
}

/* Reads and parses index (digest) named by (who). */
static int index_load(struct imp_job *j, const struct oci_desc *d, struct oci_index *ix,
		      struct img_err *e)
{
	char *buf;
	size_t len;
	int rc = imp_read_blob(j, "index", d->digest, d->size, OCI_MANIFEST_MAX, &buf, &len, e);

	if (!rc) {
		rc = oci_index_parse(buf, len, ix, e);
		free(buf);
	}
	return rc;
}

/* index.json, then nested indexes, down to the manifest's descriptor (*out). */
static int manifest_find(struct imp_job *j, struct oci_desc *out, struct img_err *e)
{
	struct oci_index ix;
	char *buf;
	size_t len;
	int rc = read_top(j, "index.json", OCI_MANIFEST_MAX, &buf, &len, e), i, depth = 0;

	if (!rc) {
		rc = oci_index_parse(buf, len, &ix, e);
		free(buf);
	}
	for (; !rc; rc = index_load(j, out, &ix, e)) {
		i = depth ? oci_index_pick(&ix, "linux", "amd64", NULL, e)
			  : pick_named(&ix, j->want, e);
		if (i >= 0)
			*out = ix.manifests[i];
		oci_index_free(&ix);
		if (i < 0)
			return i;
		if (!depth && !j->name[0])
			snprintf(j->name, sizeof(j->name), "%s", out->ref_name);
		if (oci_media_kind(out->media_type) != OCI_KIND_INDEX)
			return 0;
		if (++depth > IMP_INDEX_DEPTH)
			return img_fail(e, -ELOOP, "index: nested more than %d deep",
					IMP_INDEX_DEPTH);
	}
	return rc;
}

/* Layer (i) of (m): a type ember unpacks, in the source at its size unless stored. */
static int layer_add(struct imp_job *j, const struct oci_desc *d, unsigned i, struct img_err *e)
{
	char path[IMP_PATH_MAX + 1], real[IMP_PATH_MAX + 1];
	enum oci_compression c;
	uint64_t size;
	int rc = oci_layer_compression(d->media_type, &c, e);

	snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(d->digest));
	if (rc || store_has(j->st, d->digest))
		return rc ?: imp_job_add(j, "layer", i + 1, d->digest, d->size, path, NULL, e);
	rc = j->src->ops->stat(j->src, path, real, &size, e);
	if (rc == -ENOENT)
		return img_fail(e, rc, "manifest names blob %s which is not in the %s", d->digest,
				where(j));
	if (!rc && size != (uint64_t)d->size)
		rc = img_fail(e, -EBADMSG,
			      "layer %u: blob %s is %llu bytes, the manifest says %lld", i + 1,
			      d->digest, (unsigned long long)size, (long long)d->size);
	return rc ?: imp_job_add(j, "layer", i + 1, d->digest, d->size, real, NULL, e);
}

/* The manifest (held in j), its config checked, and every blob listed. */
static int manifest_load(struct imp_job *j, const struct oci_desc *d, struct img_err *e)
{
	struct oci_manifest m;
	size_t len, clen;
	int rc = imp_read_blob(j, "index", d->digest, d->size, OCI_MANIFEST_MAX, &j->manifest_buf,
			       &len, e)
			 ?: oci_manifest_parse(j->manifest_buf, len, &m, e);

	if (rc)
		return rc;
	rc = imp_read_blob(j, "manifest", m.config.digest, m.config.size, OCI_CONFIG_MAX,
			   &j->config_buf, &clen, e)
		     ?: imp_config_check(j->config_buf, clen, m.nlayers, NULL, e);
	j->nlayers = (unsigned)m.nlayers;
	for (unsigned i = 0; !rc && i < m.nlayers; i++)
		rc = layer_add(j, &m.layers[i], i, e);
	rc = rc ?: imp_job_add(j, "config", 0, m.config.digest, clen, NULL, j->config_buf, e)
		?: imp_job_add(j, "manifest", 0, d->digest, len, NULL, j->manifest_buf, e);
	snprintf(j->manifest, sizeof(j->manifest), "%s", d->digest);
	snprintf(j->config, sizeof(j->config), "%s", m.config.digest);
	oci_manifest_free(&m);
	return rc;
}

int imp_oci(struct imp_job *j, struct img_err *e)
{
	struct oci_desc d;

	return layout_check(j, e) ?: manifest_find(j, &d, e) ?: manifest_load(j, &d, e);
}

/* ---- the layout directory ---- */

struct imp_dir {
	struct imp_src src;
	int fd;
};

/*
 * A layout is hostile too: blobs/sha256/<hex> as a symlink to /etc/shadow
 * would copy the host's file into the store. Nothing is opened through a
 * symlink or outside the directory; a FIFO would block, so O_NONBLOCK.
 */
static int dir_file(struct imp_dir *d, const char *path, int *fd, uint64_t *size, struct img_err *e)
{
	struct stat sb;

	*fd = open_beneath(d->fd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (*fd == -ENOENT)
		return -ENOENT; /* the caller says who named it */
	if (*fd == -ELOOP)
		return img_fail(e, -ELOOP, "%s/%s: a symlink, which a layout must not have",
				d->src.path, path);
	if (*fd < 0)
		return img_fail(e, *fd, "%s/%s: %s", d->src.path, path, strerror(-*fd));
	if (fstat(*fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
		*size = (uint64_t)sb.st_size;
		return 0;
	}
	close(*fd);
	return img_fail(e, -EINVAL, "%s/%s: not a regular file", d->src.path, path);
}

static int dir_read(struct imp_src *s, const char *path, size_t max, char **buf, size_t *len,
		    struct img_err *e)
{
	struct imp_dir *d = (struct imp_dir *)s;
	uint64_t size;
	int fd, rc = dir_file(d, path, &fd, &size, e);

	*buf = NULL;
	if (rc)
		return rc;
	if (size > max)
		rc = img_fail(e, -E2BIG, "%s/%s: larger than %zu bytes", s->path, path, max);
	else if (!(*buf = malloc(size + 1)))
		rc = img_fail(e, -ENOMEM, "%s/%s: out of memory", s->path, path);
	else if ((rc = file_rw_all(fd, false, *buf, size, 0)))
		rc = img_fail(e, rc, "%s/%s: %s", s->path, path, strerror(-rc));
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	*len = size;
	close(fd);
	return rc;
}

static int dir_stat(struct imp_src *s, const char *path, char *real, uint64_t *size,
		    struct img_err *e)
{
	int fd, rc = dir_file((struct imp_dir *)s, path, &fd, size, e);

	if (!rc)
		close(fd);
	snprintf(real, IMP_PATH_MAX + 1, "%s", path);
	return rc;
}

static int fd_read(void *arg, void *buf, size_t n, size_t *got, struct img_err *e)
{
	ssize_t r;

	do
		r = read(*(int *)arg, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return img_fail(e, -errno, "read: %s", strerror(errno));
	*got = (size_t)r;
	return 0;
}

static int dir_copy(struct imp_src *s, struct imp_job *j, struct img_err *e)
{
	uint64_t size;
	int rc = 0, fd;

	for (size_t i = 0; !rc && i < j->n; i++) {
		if (!imp_blob_pending(&j->blobs[i]))
			continue;
		if (!(rc = dir_file((struct imp_dir *)s, j->blobs[i].path, &fd, &size, e))) {
			rc = imp_blob_copy(j, &j->blobs[i], fd_read, &fd, e);
			close(fd);
		} else if (rc == -ENOENT) {
			rc = img_fail(e, rc, "%s/%s: gone", s->path, j->blobs[i].path);
		}
	}
	return rc;
}

static void dir_close(struct imp_src *s)
{
	struct imp_dir *d = (struct imp_dir *)s;

	close(d->fd);
	free(d);
}

static const struct imp_src_ops dir_ops = {
	.read = dir_read,
	.stat = dir_stat,
	.copy = dir_copy,
	.close = dir_close,
};

int imp_dir_open(const char *path, struct imp_src **out, struct img_err *e)
{
	struct imp_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return img_fail(e, -ENOMEM, "%s: out of memory", path);
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		free(d);
		return img_fail(e, -errno, "%s: %s", path, strerror(errno));
	}
	d->src = (struct imp_src){&dir_ops, IMPORT_OCI_LAYOUT, path};
	*out = &d->src;
	return 0;
}
