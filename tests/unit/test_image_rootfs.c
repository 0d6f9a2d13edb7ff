/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of rootfs_build(): images made here into a store, built to erofs and ext4 (root). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/layer.h"
#include "image/oci.h"
#include "image/rootfs.h"
#include "image/store.h"

/* One tar entry; a table of them, ended by a NULL path, is a layer. */
struct ent {
	const char *path;
	unsigned int type; /* AE_IFREG when 0 */
	mode_t perm;	   /* 0644 when 0 */
	const char *data;
	const char *link; /* symlink target */
	int uid, gid;
};

struct layer_spec {
	const struct ent *ents;
	bool gzip;
	bool bad_diff_id; /* the config names another stream's digest */
};

struct blob {
	char *buf;
	size_t len;
};

#define MTIME	  1600000000
#define BLOB_CAP  (1 << 20)
#define JSON_CAP  8192
#define NLAYERS	  2
#define OUT_NAMES 512

static const struct ent layer1[] = {
	{.path = "etc", .type = AE_IFDIR, .perm = 0755},
	{.path = "etc/hello", .data = "hello\n", .uid = 1000, .gid = 1000},
	{.path = "usr/bin/su", .perm = 04755, .data = "#!su\n"},
	{.path = "usr/bin/gone", .data = "whited out by layer 2\n"},
	{.path = "home/u", .type = AE_IFDIR, .perm = 0700, .uid = 1000, .gid = 1000},
	{0},
};

static const struct ent layer2[] = {
	{.path = "usr/bin/.wh.gone", .data = ""},
	{.path = "bin", .type = AE_IFLNK, .perm = 0777, .link = "usr/bin"},
	{.path = "etc/motd", .perm = 0600, .data = "layer two\n"},
	{0},
};

static const struct ent escape[] = {
	{.path = "../x", .data = "out"},
	{0},
};

static char T[] = "/var/tmp/test_image_rootfs.XXXXXX"; /* store/, out-N/, x-N/ */
static struct store *st;
static int ndirs;

/* Writes (ents) as a pax tar into (tar), a heap buffer. */
static void tar_of(const struct ent *ents, struct blob *tar)
{
	struct archive *w;
	struct archive_entry *e;

	tar->buf = malloc(BLOB_CAP);
	assert_non_null(tar->buf);
	tar->len = 0;
	if (!ents) /* an empty blob, which layer_apply() takes as an empty layer */
		return;
	w = archive_write_new();
	assert_int_equal(archive_write_set_format_pax(w), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(w, tar->buf, BLOB_CAP, &tar->len), ARCHIVE_OK);
	for (; ents->path; ents++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, ents->path);
		archive_entry_set_filetype(e, ents->type ? ents->type : AE_IFREG);
		archive_entry_set_perm(e, ents->perm ? ents->perm : 0644);
		archive_entry_set_uid(e, ents->uid);
		archive_entry_set_gid(e, ents->gid);
		archive_entry_set_mtime(e, MTIME, 0);
		if (ents->link)
			archive_entry_set_symlink(e, ents->link);
		archive_entry_set_size(e, ents->data ? strlen(ents->data) : 0);
		assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
		if (ents->data)
			archive_write_data(w, ents->data, strlen(ents->data));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
}

/* Gzips (tar) into (gz): libarchive's raw format writes the one entry's bytes as they are. */
static void gzip_of(const struct blob *tar, struct blob *gz)
{
	struct archive *w = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	gz->buf = malloc(BLOB_CAP);
	assert_non_null(gz->buf);
	assert_int_equal(archive_write_set_format_raw(w), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_gzip(w), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(w, gz->buf, BLOB_CAP, &gz->len), ARCHIVE_OK);
	archive_entry_set_pathname(e, "layer.tar");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, tar->len);
	assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(w, tar->buf, tar->len), (la_ssize_t)tar->len);
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	archive_entry_free(e);
}

static void put(const void *buf, size_t len, char digest[DIGEST_BUF_LEN])
{
	struct store_writer *w;
	struct img_err e = {""};

	if (store_writer_open(st, NULL, -1, &w, &e) || store_writer_write(w, buf, len, &e) ||
	    store_writer_commit(w, digest, &e))
		fail_msg("store: %s", e.msg);
}

/* Appends to (json) the manifest's descriptor of layer (l) and to (ids) its diff_id. */
static void add_layer(const struct layer_spec *l, char *json, char *ids)
{
	char blob[DIGEST_BUF_LEN], diff_id[DIGEST_BUF_LEN];
	struct blob tar, gz;

	tar_of(l->ents, &tar);
	assert_int_equal(digest_buf(l->bad_diff_id ? "x" : tar.buf, l->bad_diff_id ? 1 : tar.len,
				    diff_id, NULL),
			 0);
	if (l->gzip)
		gzip_of(&tar, &gz);
	put(l->gzip ? gz.buf : tar.buf, l->gzip ? gz.len : tar.len, blob);
	sprintf(json + strlen(json), "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}",
		*ids ? "," : "", l->gzip ? OCI_MT_LAYER_GZ : OCI_MT_LAYER, blob,
		l->gzip ? gz.len : tar.len);
	sprintf(ids + strlen(ids), "%s\"%s\"", *ids ? "," : "", diff_id);
	if (l->gzip)
		free(gz.buf);
	free(tar.buf);
}

/* Stores an image of (n) layers for (arch) and its config; (digest) gets the manifest's. */
static void make_image(const struct layer_spec *layers, size_t n, const char *arch,
		       char digest[DIGEST_BUF_LEN])
{
	static char layers_json[JSON_CAP], ids[JSON_CAP], config[JSON_CAP], manifest[JSON_CAP];
	char config_digest[DIGEST_BUF_LEN];
	size_t i;

	layers_json[0] = ids[0] = 0;
	for (i = 0; i < n; i++)
		add_layer(&layers[i], layers_json, ids);
	snprintf(config, sizeof(config),
		 "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
		 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
		 arch, ids);
	put(config, strlen(config), config_digest);
	snprintf(manifest, sizeof(manifest),
		 "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
		 "\"digest\":\"%s\",\"size\":%zu},\"layers\":[%s]}",
		 OCI_MT_MANIFEST, OCI_MT_CONFIG, config_digest, strlen(config), layers_json);
	put(manifest, strlen(manifest), digest);
}

static void good_image(char digest[DIGEST_BUF_LEN])
{
	const struct layer_spec l[NLAYERS] = {{layer1, true, false}, {layer2, false, false}};

	make_image(l, NLAYERS, "amd64", digest);
}

/* A new empty directory under T: "out-N" for images, "x-N" for what is extracted. */
static const char *new_dir(const char *kind)
{
	static char path[8][96];
	char *p = path[ndirs % 8];

	snprintf(p, sizeof(path[0]), "%s/%s-%d", T, kind, ndirs++);
	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

/* The sorted names in (dir), one string, so a before and an after compare with strcmp. */
static const char *names(const char *dir, char *buf)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort), i;

	assert_true(n >= 0);
	buf[0] = 0;
	for (i = 0; i < n; i++) {
		snprintf(buf + strlen(buf), OUT_NAMES - strlen(buf), "%s ", list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return buf;
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		fail_msg("failed: %s", cmd);
}

static struct stat lstat_in(const char *dir, const char *path)
{
	char full[256];
	struct stat sb;

	snprintf(full, sizeof(full), "%s/%s", dir, path);
	if (lstat(full, &sb))
		fail_msg("%s: %s", full, strerror(errno));
	return sb;
}

static bool exists_in(const char *dir, const char *path)
{
	char full[256];
	struct stat sb;

	snprintf(full, sizeof(full), "%s/%s", dir, path);
	return !lstat(full, &sb);
}

static const char *read_in(const char *dir, const char *path)
{
	static char buf[256];
	char full[256];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "%s/%s", dir, path);
	fd = open(full, O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

/*
 * The tree extracted from an image: both layers, the whiteout honoured.
 * Extractors chown after chmod, which clears setuid: that bit is read from
 * the image itself (erofs_mode(), ext4_stat()).
 */
static void check_tree(const char *x)
{
	char link[256], target[64] = "";
	struct stat sb;

	assert_string_equal(read_in(x, "etc/hello"), "hello\n");
	sb = lstat_in(x, "etc/hello");
	assert_int_equal(sb.st_uid, 1000);
	assert_int_equal(sb.st_gid, 1000);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_string_equal(read_in(x, "etc/motd"), "layer two\n");
	assert_int_equal(lstat_in(x, "etc/motd").st_mode & 07777, 0600);
	sb = lstat_in(x, "home/u");
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(sb.st_uid, 1000);
	assert_string_equal(read_in(x, "usr/bin/su"), "#!su\n");
	assert_int_equal(lstat_in(x, "usr/bin/su").st_uid, 0);
	assert_true(S_ISLNK(lstat_in(x, "bin").st_mode));
	snprintf(link, sizeof(link), "%s/bin", x);
	assert_int_equal(readlink(link, target, sizeof(target) - 1), 7);
	assert_string_equal(target, "usr/bin");
	assert_false(exists_in(x, "usr/bin/gone"));
	assert_false(exists_in(x, "usr/bin/.wh.gone"));
}

/* The i_mode of (path) in erofs image (img), read from its inode: dump.erofs prints only 0777. */
static unsigned int erofs_mode(const char *img, const char *path)
{
	char cmd[512], line[256];
	unsigned long long nid = ~0ULL;
	uint32_t meta;
	uint16_t mode;
	FILE *p;
	int fd;

	snprintf(cmd, sizeof(cmd), "dump.erofs --path=%s %s", path, img);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		sscanf(line, "NID: %llu", &nid);
	assert_int_equal(pclose(p), 0);
	assert_true(nid != ~0ULL);
	fd = open(img, O_RDONLY);
	/* The superblock is at 1024, meta_blkaddr at 40 in it; i_mode at 4 in an inode. */
	assert_int_equal(pread(fd, &meta, 4, 1024 + 40), 4);
	assert_int_equal(pread(fd, &mode, 2, (off_t)meta * 4096 + nid * 32 + 4), 2);
	close(fd);
	return mode;
}

/* debugfs's "stat" of (path) in ext4 image (img): its mode and owner. */
static void ext4_stat(const char *img, const char *path, unsigned int *mode, unsigned int *uid)
{
	char cmd[512], line[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat %s' %s 2>/dev/null", path, img);
	p = popen(cmd, "r");
	assert_non_null(p);
	*mode = *uid = ~0u;
	while (fgets(line, sizeof(line), p)) {
		sscanf(line, "Inode: %*u Type: %*s Mode: %o", mode);
		sscanf(line, "User: %u", uid);
	}
	assert_int_equal(pclose(p), 0);
}

static struct rootfs_result build_ok(const char *digest, enum rootfs_fs fs, bool compress,
				     const char *out)
{
	struct rootfs_opts o = {.dir = out, .fs = fs, .compress = compress};
	struct rootfs_result res;
	struct img_err e = {""};

	if (rootfs_build(st, digest, &o, &res, &e))
		fail_msg("rootfs_build: %s", e.msg);
	return res;
}

/* What a good build reports, and that it left only the image in (out). */
static void check_result(const struct rootfs_result *r, const char *digest, const char *out,
			 const char *ext)
{
	char want[256], buf[OUT_NAMES];
	struct stat sb;

	snprintf(want, sizeof(want), "%s/%s.%s", out, digest_hex(digest), ext);
	assert_string_equal(r->path, want);
	assert_false(r->cached);
	assert_int_equal(r->entries, 8);
	assert_int_equal(r->bytes, strlen("hello\n#!su\nwhited out by layer 2\nlayer two\n"));
	assert_int_equal(stat(r->path, &sb), 0);
	assert_int_equal(r->image_bytes, sb.st_size);
	assert_int_equal(sb.st_mode & 07777, 0444);
	/* Beside it, the image's user files (it has no etc/passwd or etc/group). */
	snprintf(want, sizeof(want), ". .. %s.%s %s.users ", digest_hex(digest), ext,
		 digest_hex(digest));
	assert_string_equal(names(out, buf), want);
	snprintf(want, sizeof(want), "%s/%s.users/etc", out, digest_hex(digest));
	assert_string_equal(names(want, buf), ". .. ");
}

/* Extracts erofs image (img) into a new directory, returned. */
static const char *erofs_extract(const char *img)
{
	const char *x = new_dir("x");

	run("fsck.erofs --extract=%s --overwrite %s >/dev/null", x, img);
	return x;
}

/* The good image as erofs, (compress)ed with lz4hc or not: its tree and its modes. */
static void check_erofs(bool compress)
{
	char digest[DIGEST_BUF_LEN];
	const char *out = new_dir("out");
	struct rootfs_result r;

	good_image(digest);
	r = build_ok(digest, ROOTFS_EROFS, compress, out);
	check_result(&r, digest, out, "erofs");
	check_tree(erofs_extract(r.path));
	assert_int_equal(erofs_mode(r.path, "/usr/bin/su"), 0104755);
	assert_int_equal(erofs_mode(r.path, "/bin"), 0120777);
}

static void test_erofs(void **state)
{
	(void)state;
	check_erofs(false);
}

/* lz4hc: this erofs-utils lists it; a mkfs without it fails the build, saying so. */
static void test_erofs_lz4hc(void **state)
{
	(void)state;
	check_erofs(true);
}

static void test_ext4(void **state)
{
	char digest[DIGEST_BUF_LEN];
	const char *out = new_dir("out"), *x = new_dir("x");
	struct rootfs_result r;
	unsigned int mode, uid;

	(void)state;
	good_image(digest);
	r = build_ok(digest, ROOTFS_EXT4, false, out);
	check_result(&r, digest, out, "ext4");
	run("debugfs -R 'rdump / %s' %s >/dev/null 2>&1", x, r.path);
	check_tree(x);
	ext4_stat(r.path, "/usr/bin/su", &mode, &uid);
	assert_int_equal(mode, 04755);
	assert_int_equal(uid, 0);
	ext4_stat(r.path, "/etc/hello", &mode, &uid);
	assert_int_equal(mode, 0644);
	assert_int_equal(uid, 1000);
	run("fsck.ext4 -fn %s >/dev/null 2>&1", r.path);
}

/* The second build of an image finds the first's file and touches nothing. */
static void test_cached(void **state)
{
	char digest[DIGEST_BUF_LEN];
	const char *out = new_dir("out");
	struct rootfs_result r1, r2;
	struct stat s1, s2;

	(void)state;
	good_image(digest);
	r1 = build_ok(digest, ROOTFS_EXT4, false, out);
	assert_int_equal(stat(r1.path, &s1), 0);
	r2 = build_ok(digest, ROOTFS_EXT4, false, out);
	assert_true(r2.cached);
	assert_string_equal(r2.path, r1.path);
	assert_int_equal(r2.image_bytes, r1.image_bytes);
	assert_int_equal(r2.entries, 0);
	assert_true(r2.apply_seconds == 0 && r2.mkfs_seconds == 0);
	assert_int_equal(stat(r2.path, &s2), 0);
	assert_int_equal(s2.st_ino, s1.st_ino);
	assert_int_equal(s2.st_mtim.tv_nsec, s1.st_mtim.tv_nsec);
	/* Another filesystem of the same image is another file, built. */
	assert_false(build_ok(digest, ROOTFS_EROFS, false, out).cached);
}

/* A refused build returns (rc) with (word) in its message and leaves (out) as it was. */
static void build_refused(const char *digest, const struct layer_limits *lim, int rc,
			  const char *word)
{
	const char *out = new_dir("out");
	struct rootfs_opts o = {.dir = out, .fs = ROOTFS_EROFS};
	struct rootfs_result res;
	struct img_err e = {""};
	char before[OUT_NAMES], after[OUT_NAMES];

	if (lim)
		o.limits = *lim;
	assert_int_equal(mkdir(strcat(strcpy(after, out), "/keep"), 0755), 0);
	names(out, before);
	assert_int_equal(rootfs_build(st, digest, &o, &res, &e), rc);
	if (!strstr(e.msg, word))
		fail_msg("'%s' not in: %s", word, e.msg);
	assert_string_equal(names(out, after), before);
}

static void test_bad_diff_id(void **state)
{
	const struct layer_spec l[NLAYERS] = {{layer1, true, false}, {layer2, false, true}};
	char digest[DIGEST_BUF_LEN];

	(void)state;
	make_image(l, NLAYERS, "amd64", digest);
	build_refused(digest, NULL, -EBADMSG, "diff_id");
}

static void test_layer_escapes(void **state)
{
	const struct layer_spec l[NLAYERS] = {{layer1, true, false}, {escape, true, false}};
	char digest[DIGEST_BUF_LEN];

	(void)state;
	make_image(l, NLAYERS, "amd64", digest);
	build_refused(digest, NULL, -EXDEV, "'..'");
}

static void test_byte_limit(void **state)
{
	const struct layer_limits lim = {.max_bytes = 20};
	char digest[DIGEST_BUF_LEN];

	(void)state;
	good_image(digest);
	build_refused(digest, &lim, -EFBIG, "layer sha256:");
}

/* The limits bound the image: each layer fits alone (33 bytes and 5
 * entries, then 10 bytes and 3 entries), the two together do not. */
static void test_image_limits(void **state)
{
	const struct layer_limits bytes = {.max_bytes = 40}, entries = {.max_entries = 7};
	char digest[DIGEST_BUF_LEN];

	(void)state;
	good_image(digest);
	build_refused(digest, &bytes, -EFBIG,
		      "'etc/motd': the files exceed the limit of 40 bytes "
		      "(this one: 10, 33 before it)");
	build_refused(digest, &entries, -E2BIG, "'etc/motd': more entries than the limit of 7");
}

static void test_wrong_platform(void **state)
{
	const struct layer_spec l[1] = {{layer1, true, false}};
	char digest[DIGEST_BUF_LEN];

	(void)state;
	make_image(l, 1, "arm64", digest);
	build_refused(digest, NULL, -ENOEXEC, "arm64");
}

/* An empty blob is an empty layer whose diff_id is the digest of nothing. */
static void test_empty_layer(void **state)
{
	const struct layer_spec l[NLAYERS] = {{NULL, false, false}, {layer1, true, false}};
	char digest[DIGEST_BUF_LEN];
	struct rootfs_result r;

	(void)state;
	make_image(l, NLAYERS, "amd64", digest);
	r = build_ok(digest, ROOTFS_EROFS, false, new_dir("out"));
	assert_string_equal(read_in(erofs_extract(r.path), "usr/bin/gone"),
			    "whited out by layer 2\n");
}

/* A failing mkfs is named with its exit status and the end of what it printed. */
static void test_mkfs_fails(void **state)
{
	char img[128];
	struct img_err e = {""};

	(void)state;
	snprintf(img, sizeof(img), "%s/fs", new_dir("out"));
	assert_int_equal(rootfs_mkfs(ROOTFS_EROFS, false, "/nonexistent", img, &e), -EIO);
	if (!strstr(e.msg, "mkfs.erofs: exit status") || strlen(e.msg) < 40)
		fail_msg("%s", e.msg);
}

static void test_missing_manifest(void **state)
{
	char digest[DIGEST_BUF_LEN];

	(void)state;
	assert_int_equal(digest_buf("not stored", 10, digest, NULL), 0);
	build_refused(digest, NULL, -ENOENT, digest_hex(digest));
	build_refused("sha256:../../etc", NULL, -EINVAL, "sha256");
}

static int setup(void **state)
{
	char dir[96];
	struct img_err e = {""};

	(void)state;
	if (!mkdtemp(T))
		return -1;
	snprintf(dir, sizeof(dir), "%s/store", T);
	if (store_open(dir, &st, &e))
		return fprintf(stderr, "store_open: %s\n", e.msg), -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	return rootfs_remove(AT_FDCWD, T);
}

/* Where rootfs_build() looks for its tools. */
static bool have(const char *tool)
{
	const char *dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], tool);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erofs),
		cmocka_unit_test(test_erofs_lz4hc),
		cmocka_unit_test(test_ext4),
		cmocka_unit_test(test_cached),
		cmocka_unit_test(test_bad_diff_id),
		cmocka_unit_test(test_layer_escapes),
		cmocka_unit_test(test_byte_limit),
		cmocka_unit_test(test_image_limits), /* the limits span the layers */
		cmocka_unit_test(test_wrong_platform),
		cmocka_unit_test(test_missing_manifest),
		cmocka_unit_test(test_empty_layer),
		cmocka_unit_test(test_mkfs_fails),
	};
	const char *tools[] = {"mkfs.erofs", "fsck.erofs", "dump.erofs", "mke2fs", "debugfs"};
	size_t i;

	if (geteuid()) {
		printf("test_image_rootfs: skipped, needs root (owners, setuid modes)\n");
		return 77;
	}
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (!have(tools[i])) {
			printf("test_image_rootfs: skipped, %s is missing (erofs-utils, "
			       "e2fsprogs)\n",
			       tools[i]);
			return 77;
		}
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
