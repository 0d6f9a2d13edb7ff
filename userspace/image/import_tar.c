/* SPDX-License-Identifier: Apache-2.0 */
/* An image in a tar (oci-archive, docker-archive) as an import source: read twice, never extracted.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_priv.h"

/* Bounds on a hostile tar: its members, and what the first pass keeps in memory. */
#define TAR_MEMBERS_MAX 16384
#define TAR_SMALL_MAX	OCI_MANIFEST_MAX /* no manifest, index or config is larger */
#define TAR_CACHE_MAX	(32 << 20)

/* A regular file or a link of the tar; directories and the rest are never named. */
struct tar_member {
	char *name;
	char *link;   /* a symlink's target or a hard link's, or NULL */
	bool symlink; /* (link) is relative to the member's directory */
	uint64_t size;
	char *data; /* kept by the first pass, or NULL */
};

struct imp_tar {
	struct imp_src src;
	int fd;
	struct tar_member *m; /* sorted by name once scanned */
	size_t n, cap, cached;
	char last[IMP_PATH_MAX + 1]; /* the member read last, for messages */
};

/* ---- reading the tar ---- */

/* A member's name as manifests write it: "./index.json" is "index.json". */
static const char *clean_start(const char *p)
{
	while (p && p[0] == '.' && p[1] == '/')
		p += 2;
	return p ? p : "";
}

static int tar_begin(struct imp_tar *t, struct archive **out, struct img_err *e)
{
	struct archive *a;
	int rc;

	t->last[0] = 0;
	if (lseek(t->fd, 0, SEEK_SET) < 0)
		return img_fail(e, -errno, "%s: %s", t->src.path, strerror(errno));
	if (!(a = archive_read_new()))
		return img_fail(e, -ENOMEM, "%s: out of memory", t->src.path);
	/* Only tar, plain or gzip: every other format and filter is code a hostile file can reach.
	 */
	if (archive_read_support_format_tar(a) || archive_read_support_filter_gzip(a) ||
	    archive_read_support_filter_none(a) || archive_read_open_fd(a, t->fd, IMP_CHUNK)) {
		rc = img_fail(e, -EINVAL, "%s: %s", t->src.path, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

/* The next entry into (*ent): 1, 0 at the end, or -errno. */
static int tar_next(struct imp_tar *t, struct archive *a, struct archive_entry **ent,
		    struct img_err *e)
{
	int r = archive_read_next_header(a, ent);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
		snprintf(t->last, sizeof(t->last), "%s", clean_start(archive_entry_pathname(*ent)));
		return 1;
	}
	/* The error comes while skipping the data of the member before. */
	return img_fail(e, -EINVAL, "%s: not a readable tar%s%s%s: %s", t->src.path,
			t->last[0] ? " (at member " : "", t->last, t->last[0] ? ")" : "",
			archive_error_string(a));
}

static int ar_read(void *arg, void *buf, size_t n, size_t *got, struct img_err *e)
{
	la_ssize_t r = archive_read_data(arg, buf, n);

	if (r < 0)
		return img_fail(e, -EIO, "%s", archive_error_string(arg));
	*got = (size_t)r;
	return 0;
}

/* Prefixes (e) with the member's name: libarchive's line does not say which. */
static int member_fail(const char *name, int rc, struct img_err *e)
{
	char why[sizeof(e->msg)];

	if (!e)
		return rc;
	memcpy(why, e->msg, sizeof(why));
	return img_fail(e, rc, "member %s: %s", name, why);
}

/* The (size) bytes of the current entry (name) into a heap buffer. */
static int slurp(struct archive *a, const char *name, uint64_t size, char **out, struct img_err *e)
{
	char *buf = malloc(size + 1);
	size_t got = 0, off = 0;
	int rc = buf ? 0 : img_fail(e, -ENOMEM, "out of memory");

	while (!rc && off < size && !(rc = ar_read(a, buf + off, size - off, &got, e)) && got)
		off += got;
	if (!rc && off != size)
		rc = img_fail(e, -EIO, "%zu of %llu bytes", off, (unsigned long long)size);
	if (rc) {
		free(buf);
		return member_fail(name, rc, e);
	}
	*out = buf;
	return 0;
}

/* ---- the first pass: which members there are, the small ones kept ---- */

static struct tar_member *member_new(struct imp_tar *t, const char *name, struct img_err *e)
{
	struct tar_member *m;

	if (t->n == TAR_MEMBERS_MAX) {
		img_fail(e, -E2BIG, "%s: more than %d files", t->src.path, TAR_MEMBERS_MAX);
		return NULL;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		void *p = realloc(t->m, cap * sizeof(*t->m));

		if (!p)
			goto oom;
		t->m = p;
		t->cap = cap;
	}
	m = &t->m[t->n];
	memset(m, 0, sizeof(*m));
	if (!(m->name = strdup(name)))
		goto oom;
	t->n++;
	return m;
oom:
	img_fail(e, -ENOMEM, "%s: out of memory", t->src.path);
	return NULL;
}

static int scan_entry(struct imp_tar *t, struct archive *a, struct archive_entry *ent,
		      struct img_err *e)
{
	const char *name = clean_start(archive_entry_pathname(ent));
	const char *hard = archive_entry_hardlink(ent), *soft = archive_entry_symlink(ent);
	mode_t type = archive_entry_filetype(ent);
	struct tar_member *m;

	/* What no manifest can name is skipped, unread. */
	if (!name || !*name || strlen(name) > IMP_PATH_MAX ||
	    (!hard && type != AE_IFREG && type != AE_IFLNK))
		return 0;
	if (!(m = member_new(t, name, e)))
		return -E2BIG;
	m->symlink = !hard;
	if (hard || type == AE_IFLNK) {
		m->link = strdup(hard ? clean_start(hard) : soft ? soft : "");
		return m->link ? 0 : img_fail(e, -ENOMEM, "%s: out of memory", t->src.path);
	}
	m->size = (uint64_t)archive_entry_size(ent);
	if (m->size > TAR_SMALL_MAX || t->cached + m->size > TAR_CACHE_MAX)
		return 0;
	t->cached += m->size;
	return slurp(a, name, m->size, &m->data, e);
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tar_member *)a)->name, ((const struct tar_member *)b)->name);
}

/* Two members of one name: which one a manifest means would be a guess, so neither. */
static int scan_sort(struct imp_tar *t, struct img_err *e)
{
	qsort(t->m, t->n, sizeof(*t->m), member_cmp);
	for (size_t i = 1; i < t->n; i++)
		if (!strcmp(t->m[i - 1].name, t->m[i].name))
			return img_fail(e, -EINVAL, "%s: member %s appears twice", t->src.path,
					t->m[i].name);
	return 0;
}

static int tar_scan(struct imp_tar *t, struct img_err *e)
{
	struct archive_entry *ent;
	struct archive *a;
	int rc = tar_begin(t, &a, e);

	while (!rc && (rc = tar_next(t, a, &ent, e)) == 1)
		rc = scan_entry(t, a, ent, e);
	archive_read_free(a);
	return rc ?: scan_sort(t, e);
}

/* ---- members by name ---- */

static struct tar_member *member_find(struct imp_tar *t, const char *name)
{
	struct tar_member key = {.name = (char *)name};

	return t->n ? bsearch(&key, t->m, t->n, sizeof(*t->m), member_cmp) : NULL;
}

/* (dir)/(rel) without "." and ".." into (out); -EXDEV when it leaves the archive. */
static int path_join(const char *name, const char *rel, char *out, size_t size)
{
	const char *slash = strrchr(name, '/'), *c, *end;
	size_t n = slash ? (size_t)(slash - name) : 0;

	if (rel[0] == '/' || n >= size)
		return -EXDEV;
	memcpy(out, name, n);
	for (c = rel; *c; c = *end ? end + 1 : end) {
		end = strchrnul(c, '/');
		if (end - c == 2 && c[0] == '.' && c[1] == '.') {
			if (!n)
				return -EXDEV;
			while (n && out[n - 1] != '/')
				n--;
			n -= !!n;
		} else if (end > c && !(end - c == 1 && c[0] == '.')) {
			if (n + 1 + (size_t)(end - c) >= size)
				return -ENAMETOOLONG;
			n += (size_t)snprintf(out + n, size - n, "%s%.*s", n ? "/" : "",
					      (int)(end - c), c);
		}
	}
	out[n] = 0;
	return 0;
}

/*
 * The regular member (path) names, through one link at most: docker save
 * writes a layer it has already written as a symlink to the first copy.
 */
static int member_resolve(struct imp_tar *t, const char *path, struct tar_member **out,
			  struct img_err *e)
{
	struct tar_member *m = member_find(t, path);
	char real[IMP_PATH_MAX + 1];

	if (!m)
		return -ENOENT;
	if (m->link && (m->symlink ? path_join(path, m->link, real, sizeof(real))
				   : snprintf(real, sizeof(real), "%s", m->link) < 0))
		return img_fail(e, -EXDEV, "member %s: a link that leaves the archive", path);
	if (m->link && (!(m = member_find(t, real)) || m->link))
		return img_fail(e, -EINVAL, "member %s: a link to %s, not a file of the archive",
				path, real);
	*out = m;
	return 0;
}

/* A second pass for a small member the first could not keep. */
static int tar_fetch(struct imp_tar *t, const struct tar_member *m, char **buf, struct img_err *e)
{
	struct archive_entry *ent;
	struct archive *a;
	int rc = tar_begin(t, &a, e);

	while (!rc && (rc = tar_next(t, a, &ent, e)) == 1)
		if (!strcmp(clean_start(archive_entry_pathname(ent)), m->name))
			rc = slurp(a, m->name, m->size, buf, e) ?: 2;
	archive_read_free(a);
	if (!rc)
		rc = img_fail(e, -EIO, "%s: member %s has gone", t->src.path, m->name);
	return rc == 2 ? 0 : rc;
}

static int tar_read(struct imp_src *s, const char *path, size_t max, char **buf, size_t *len,
		    struct img_err *e)
{
	struct imp_tar *t = (struct imp_tar *)s;
	struct tar_member *m;
	int rc = member_resolve(t, path, &m, e);

	*buf = NULL;
	if (rc)
		return rc;
	if (m->size > max)
		return img_fail(e, -E2BIG, "%s: member %s: larger than %zu bytes", s->path, path,
				max);
	*len = m->size;
	if (!m->data)
		return tar_fetch(t, m, buf, e);
	if (!(*buf = malloc(m->size + 1)))
		return img_fail(e, -ENOMEM, "%s: out of memory", s->path);
	memcpy(*buf, m->data, m->size);
	return 0;
}

static int tar_stat(struct imp_src *s, const char *path, char *real, uint64_t *size,
		    struct img_err *e)
{
	struct tar_member *m;
	int rc = member_resolve((struct imp_tar *)s, path, &m, e);

	if (!rc) {
		snprintf(real, IMP_PATH_MAX + 1, "%s", m->name);
		*size = m->size;
	}
	return rc;
}

/* ---- the second pass: the blobs streamed into the store ---- */

static int tar_copy(struct imp_src *s, struct imp_job *j, struct img_err *e)
{
	struct imp_tar *t = (struct imp_tar *)s;
	struct archive_entry *ent;
	struct imp_blob *b;
	struct archive *a;
	int rc = imp_job_npending(j) ? tar_begin(t, &a, e) : 1;

	if (rc)
		return rc < 0 ? rc : 0;
	while (imp_job_npending(j) && (rc = tar_next(t, a, &ent, e)) == 1) {
		b = imp_job_pending(j, clean_start(archive_entry_pathname(ent)));
		rc = b ? imp_blob_copy(j, b, ar_read, a, e) : 0;
		if (rc)
			break;
	}
	archive_read_free(a);
	return rc < 0 ? rc : 0;
}

static void tar_close(struct imp_src *s)
{
	struct imp_tar *t = (struct imp_tar *)s;

	for (size_t i = 0; i < t->n; i++) {
		free(t->m[i].name);
		free(t->m[i].link);
		free(t->m[i].data);
	}
	free(t->m);
	close(t->fd);
	free(t);
}

static const struct imp_src_ops tar_ops = {
	.read = tar_read,
	.stat = tar_stat,
	.copy = tar_copy,
	.close = tar_close,
};

/* An OCI index wins: a newer `docker save` writes both, and the index says more. */
static int tar_format(struct imp_tar *t, struct img_err *e)
{
	if (member_find(t, "oci-layout") && member_find(t, "index.json"))
		t->src.format = IMPORT_OCI_ARCHIVE;
	else if (member_find(t, "manifest.json"))
		t->src.format = IMPORT_DOCKER_ARCHIVE;
	else
		return img_fail(e, -EINVAL,
				"%s: a tar with neither oci-layout and index.json (an "
				"oci-archive) nor manifest.json (a docker-archive)",
				t->src.path);
	return 0;
}

int imp_tar_open(const char *path, struct imp_src **out, struct img_err *e)
{
	struct imp_tar *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return img_fail(e, -ENOMEM, "%s: out of memory", path);
	t->src = (struct imp_src){&tar_ops, 0, path};
	if ((t->fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
		free(t);
		return img_fail(e, -errno, "%s: %s", path, strerror(errno));
	}
	rc = tar_scan(t, e) ?: tar_format(t, e);
	if (rc) {
		tar_close(&t->src);
		return rc;
	}
	*out = &t->src;
	return 0;
}
