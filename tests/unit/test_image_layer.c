/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of layer_apply() and rootfs_remove() on layers written here with libarchive (root). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/layer.h"

/* One tar entry; a table of them is a layer. Zero fields take the defaults of add_entry(). */
struct ent {
	const char *path; /* "@T" starts T's absolute path; "@LONG" is a name over PATH_MAX */
	unsigned int type;
	mode_t perm;
	const char *data;
	const char *link;     /* symlink target ("@T" expanded) */
	const char *hardlink; /* hard link target */
	int uid, gid;
	time_t mtime;
	long ns;
	unsigned int major, minor;
	const char *xattr; /* "name=value" */
	int64_t sparse; /* apparent size: 4 KiB of 'h' at 0 and of 't' at the end, a hole between */
	int64_t noise;	/* size of 2-bit noise: compresses, but not to nothing */
};

enum filt { F_NONE, F_GZIP, F_ZSTD };

#define MTIME 1600000000
#define MiB   (1024 * 1024)

static char T[] = "/tmp/test_image_layer.XXXXXX"; /* root/, canary, layers/ */
static char root[64], canary[64];
static int rootfd = -1, nlayers;

static const char *expand(const char *in, char *out)
{
	size_t i;

	if (!strncmp(in, "@LONG", 5)) {
		for (i = 0; i < PATH_MAX + 100; i++)
			out[i] = i % 2 ? '/' : 'a';
		out[i] = 0;
	} else if (!strncmp(in, "@T", 2)) {
		snprintf(out, 2 * PATH_MAX, "%s%s", T, in + 2);
	} else {
		snprintf(out, 2 * PATH_MAX, "%s", in);
	}
	return out;
}

/* The byte at (off) of the entry's contents. */
static char content_at(const struct ent *x, int64_t off)
{
	static uint32_t s;

	if (x->sparse)
		return off < 4096 ? 'h' : off >= x->sparse - 4096 ? 't' : 0;
	if (!off)
		s = 2463534242u;
	s ^= s << 13, s ^= s >> 17, s ^= s << 5;
	return "acgt"[s & 3];
}

static void write_body(struct archive *w, const struct ent *x, int64_t size)
{
	static char buf[MiB];
	int64_t off, n, i;

	if (x->data) {
		assert_int_equal(archive_write_data(w, x->data, size), size);
		return;
	}
	for (off = 0; off < size; off += n) {
		n = size - off < MiB ? size - off : MiB;
		for (i = 0; i < n; i++)
			buf[i] = content_at(x, off + i);
		assert_int_equal(archive_write_data(w, buf, n), n);
	}
}

static void add_entry(struct archive *w, const struct ent *x)
{
	struct archive_entry *e = archive_entry_new();
	int64_t size = x->data ? (int64_t)strlen(x->data) : x->sparse ? x->sparse : x->noise;
	char buf[2 * PATH_MAX + 8], *eq;

	archive_entry_set_pathname(e, expand(x->path, buf));
	archive_entry_set_filetype(e, x->type ? x->type : AE_IFREG);
	archive_entry_set_perm(e, x->perm ? x->perm : 0644);
	archive_entry_set_uid(e, x->uid);
	archive_entry_set_gid(e, x->gid);
	archive_entry_set_mtime(e, x->mtime ? x->mtime : MTIME, x->ns);
	if (x->link)
		archive_entry_set_symlink(e, expand(x->link, buf));
	if (x->hardlink)
		archive_entry_set_hardlink(e, x->hardlink);
	archive_entry_set_rdevmajor(e, x->major);
	archive_entry_set_rdevminor(e, x->minor);
	if (x->xattr) {
		snprintf(buf, sizeof(buf), "%s", x->xattr);
		eq = strchr(buf, '=');
		*eq = 0;
		archive_entry_xattr_add_entry(e, buf, eq + 1, strlen(eq + 1));
	}
	archive_entry_set_size(e, size); /* first: extents past the size are dropped */
	if (x->sparse) {
		archive_entry_sparse_add_entry(e, 0, 4096);
		archive_entry_sparse_add_entry(e, x->sparse - 4096, 4096);
	}
	assert_true(archive_write_header(w, e) >= ARCHIVE_WARN);
	write_body(w, x, size);
	archive_entry_free(e);
}

/* Writes (ents) as a pax layer through (f) into T/layers/; returns its path. */
static const char *make_layer(enum filt f, const struct ent *ents)
{
	static char path[80];
	struct archive *w = archive_write_new();

	snprintf(path, sizeof(path), "%s/layers/%d.tar", T, nlayers++);
	assert_int_equal(archive_write_set_format_pax(w), ARCHIVE_OK);
	if (f == F_GZIP)
		assert_int_equal(archive_write_add_filter_gzip(w), ARCHIVE_OK);
	else if (f == F_ZSTD)
		assert_int_equal(archive_write_add_filter_zstd(w), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(w, path), ARCHIVE_OK);
	for (; ents->path; ents++)
		add_entry(w, ents);
	assert_int_equal(archive_write_close(w), ARCHIVE_OK);
	archive_write_free(w);
	return path;
}

static int apply(const char *layer, const struct layer_limits *lim, struct layer_stats *st,
		 struct img_err *e)
{
	int fd = open(layer, O_RDONLY | O_CLOEXEC), rc;

	assert_true(fd >= 0);
	rc = layer_apply(rootfd, fd, lim, st, e);
	close(fd);
	return rc;
}

static void apply_ok(const char *layer, struct layer_stats *st)
{
	struct img_err e = {""};

	if (apply(layer, NULL, st, &e))
		fail_msg("layer_apply: %s", e.msg);
}

static struct stat lstat_in(const char *path)
{
	struct stat st;

	if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW))
		fail_msg("%s: %s", path, strerror(errno));
	return st;
}

static bool exists(const char *path)
{
	struct stat st;

	return !fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW);
}

static const char *read_in(const char *path)
{
	static char buf[256];
	int fd = openat(rootfd, path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static int setup(void **state)
{
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	char path[80];
	int fd;

	(void)state;
	strcpy(T, "/tmp/test_image_layer.XXXXXX");
	assert_non_null(mkdtemp(T));
	snprintf(root, sizeof(root), "%s/root", T);
	snprintf(canary, sizeof(canary), "%s/canary", T);
	snprintf(path, sizeof(path), "%s/layers", T);
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	fd = open(canary, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_int_equal(write(fd, "canary", 6), 6);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	nlayers = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(rootfd);
	assert_int_equal(rootfs_remove(AT_FDCWD, T), 0);
	assert_int_equal(access(T, F_OK), -1);
	return 0;
}

/* Every kind of entry, with owners, modes, times and xattrs; applied through each filter. */
static const struct ent all_kinds[] = {
	{.path = "./", .type = AE_IFDIR, .perm = 0755},
	{.path = "etc/", .type = AE_IFDIR, .perm = 0750, .gid = 42, .mtime = 1500000000},
	{.path = "etc/passwd",
	 .data = "root:x:0:0::/root:/bin/sh\n",
	 .mtime = 1500000001,
	 .ns = 123456789},
	{.path = "etc/abs", .type = AE_IFLNK, .link = "/etc/passwd", .uid = 1000, .gid = 1000},
	{.path = "bin/su", .data = "ELF", .perm = 04755},
	{.path = "bin/sg", .data = "ELF", .perm = 02711, .uid = 1000, .gid = 1001},
	{.path = "bin/su2", .hardlink = "bin/su"},
	{.path = "bin/sh", .type = AE_IFLNK, .link = "busybox"},
	{.path = "tmp/", .type = AE_IFDIR, .perm = 01777},
	{.path = "home/user/notes",
	 .data = "hi",
	 .perm = 0600,
	 .uid = 1000,
	 .gid = 1001,
	 .xattr = "user.ember=hello"},
	{.path = "home/user/hidden", .data = "", .xattr = "trusted.ember=host"},
	{.path = "dev/null", .type = AE_IFCHR, .perm = 0666, .major = 1, .minor = 3},
	{.path = "dev/initctl", .type = AE_IFIFO, .perm = 0600},
	{0},
};

static void test_all_kinds(void **state)
{
	struct layer_stats st = {0};
	struct stat s;
	char buf[128] = "", val[16];

	apply_ok(make_layer(*(enum filt *)*state, all_kinds), &st);
	assert_int_equal(st.entries, 13);
	assert_int_equal(st.bytes, strlen(all_kinds[2].data) + 3 + 3 + 2);
	assert_int_equal(st.xattrs_skipped, 1);
	assert_int_equal(lstat_in(".").st_mtim.tv_sec, MTIME); /* "./" is the root's own entry */
	assert_string_equal(read_in("etc/passwd"), all_kinds[2].data);
	s = lstat_in("etc/passwd");
	assert_int_equal(s.st_mtim.tv_sec, 1500000001);
	assert_int_equal(s.st_mtim.tv_nsec, 123456789);
	/* The directory's mtime survives the files written into it afterwards. */
	s = lstat_in("etc");
	assert_int_equal(s.st_mtim.tv_sec, 1500000000);
	assert_int_equal(s.st_mode, S_IFDIR | 0750);
	assert_int_equal(s.st_gid, 42);
	assert_int_equal(lstat_in("bin/su").st_mode, S_IFREG | 04755);
	s = lstat_in("bin/sg");
	assert_int_equal(s.st_mode, S_IFREG | 02711);
	assert_int_equal(s.st_uid, 1000);
	assert_int_equal(s.st_gid, 1001);
	assert_int_equal(lstat_in("bin/su2").st_ino, lstat_in("bin/su").st_ino);
	assert_int_equal(lstat_in("tmp").st_mode, S_IFDIR | 01777);
	assert_int_equal(lstat_in("bin").st_mode, S_IFDIR | 0755); /* made for bin/su */
	/* Symlinks stored as is, owned without following (the host's /etc/passwd keeps root). */
	assert_int_equal(readlinkat(rootfd, "etc/abs", buf, sizeof(buf)), 11);
	assert_string_equal(buf, "/etc/passwd");
	assert_int_equal(lstat_in("etc/abs").st_uid, 1000);
	assert_int_equal(readlinkat(rootfd, "bin/sh", buf, sizeof(buf)), 7);
	s = lstat_in("home/user/notes");
	assert_int_equal(s.st_mode, S_IFREG | 0600);
	assert_int_equal(s.st_uid, 1000);
	snprintf(buf, sizeof(buf), "%s/home/user/notes", root);
	assert_int_equal(getxattr(buf, "user.ember", val, sizeof(val)), 5);
	assert_memory_equal(val, "hello", 5);
	snprintf(buf, sizeof(buf), "%s/home/user/hidden", root);
	assert_int_equal(getxattr(buf, "trusted.ember", val, sizeof(val)), -1);
	s = lstat_in("dev/null");
	assert_int_equal(s.st_mode, S_IFCHR | 0666);
	assert_int_equal(s.st_rdev, makedev(1, 3));
	assert_int_equal(lstat_in("dev/initctl").st_mode, S_IFIFO | 0600);
}

/* A 64 MiB file of two 4 KiB extents stays a 64 MiB file of two extents. */
static void test_sparse(void **state)
{
	const struct ent ents[] = {{.path = "disk.img", .sparse = 64 * MiB}, {0}};
	struct layer_stats st = {0};
	struct stat s;
	char buf[4096];
	int fd;

	(void)state;
	apply_ok(make_layer(F_ZSTD, ents), &st);
	assert_int_equal(st.bytes, 64 * MiB);
	s = lstat_in("disk.img");
	assert_int_equal(s.st_size, 64 * MiB);
	assert_true(s.st_blocks * 512 <= 64 * 1024);
	fd = openat(rootfd, "disk.img", O_RDONLY);
	assert_int_equal(pread(fd, buf, 4096, 0), 4096);
	assert_true(buf[0] == 'h' && buf[4095] == 'h');
	assert_int_equal(pread(fd, buf, 4096, 32 * MiB), 4096);
	assert_true(buf[0] == 0 && buf[4095] == 0);
	assert_int_equal(pread(fd, buf, 4096, 64 * MiB - 4096), 4096);
	assert_true(buf[0] == 't' && buf[4095] == 't');
	close(fd);
}

static const struct ent lower[] = {
	{.path = "a/keep", .data = "k"},	{.path = "a/gone", .data = "g"},
	{.path = "b/x/y", .data = "y"},		{.path = "c", .type = AE_IFLNK, .link = "@T"},
	{.path = "d/mine", .data = "lower"},	{.path = "opq1/old", .data = "o"},
	{.path = "opq1/olddir/z", .data = "z"}, {.path = "opq1/sub/lower", .data = "l"},
	{.path = "opq2/old", .data = "o"},	{0},
};

static const struct ent upper[] = {
	{.path = "a/.wh.gone"},
	{.path = "a/.wh.never-there"},
	{.path = ".wh.b"},
	{.path = ".wh.c"},
	{.path = "d/mine", .data = "upper"},
	{.path = "d/.wh.mine"}, /* whiteouts hide the lower layers only */
	{.path = "opq1/new", .data = "n"},
	{.path = "opq1/sub/upper", .data = "u"},
	{.path = "opq1/.wh..wh..opq"}, /* listed after its siblings */
	{.path = "opq2/.wh..wh..opq"}, /* and before */
	{.path = "opq2/new", .data = "n"},
	{0},
};

static void test_whiteouts(void **state)
{
	struct layer_stats st = {0};

	(void)state;
	apply_ok(make_layer(F_GZIP, lower), NULL);
	apply_ok(make_layer(F_GZIP, upper), &st);
	assert_int_equal(st.whiteouts, 7);
	assert_true(exists("a/keep"));
	assert_false(exists("a/gone"));
	assert_false(exists("b"));
	assert_false(exists("c"));
	assert_string_equal(read_in("d/mine"), "upper");
	assert_true(exists("opq1/new") && exists("opq1/sub/upper"));
	assert_false(exists("opq1/old") || exists("opq1/olddir") || exists("opq1/sub/lower"));
	assert_true(exists("opq2/new"));
	assert_false(exists("opq2/old"));
	assert_false(exists("a/.wh.gone") || exists(".wh.b") || exists("opq1/.wh..wh..opq"));
	assert_int_equal(access(canary, F_OK), 0); /* c pointed at T: removed, not followed */
}

/* An entry of another type replaces what is there; a directory stays a directory. */
static void test_replace(void **state)
{
	const struct ent before[] = {
		{.path = "x/inner/f", .data = "f"},
		{.path = "y", .data = "y"},
		{.path = "z", .type = AE_IFLNK, .link = "@T"},
		{.path = "w/", .type = AE_IFDIR, .perm = 0700},
		{.path = "w/f", .data = "f", .perm = 0444},
		{0},
	};
	const struct ent after[] = {
		{.path = "x", .data = "now a file"},
		{.path = "y/", .type = AE_IFDIR},
		{.path = "z/", .type = AE_IFDIR},
		{.path = "z/canary", .data = "inside"},
		{.path = "w/", .type = AE_IFDIR, .perm = 0751, .uid = 7},
		{0},
	};

	(void)state;
	apply_ok(make_layer(F_NONE, before), NULL);
	apply_ok(make_layer(F_NONE, after), NULL);
	assert_string_equal(read_in("x"), "now a file");
	assert_true(S_ISDIR(lstat_in("y").st_mode));
	assert_true(S_ISDIR(lstat_in("z").st_mode));
	assert_string_equal(read_in("z/canary"), "inside");
	assert_int_equal(lstat_in("w").st_mode, S_IFDIR | 0751);
	assert_int_equal(lstat_in("w").st_uid, 7);
	assert_string_equal(read_in("w/f"), "f");
}

/* A refused layer: the message, and nothing outside the root touched. */
struct hostile {
	const char *name;
	struct ent ents[3];
	enum filt filt;
	int damage; /* 1: cut at 60 %; 2: 4 KiB of 0xff in the middle */
	struct layer_limits lim;
	const char *msg;
};

static const struct hostile hostile[] = {
	{"hostile_dotdot",
	 {{.path = "../x", .data = "x"}},
	 .msg = "entry '../x': a '..' component leaves the root"},
	{"hostile_absolute", {{.path = "@T/escaped", .data = "x"}}, .msg = ": absolute path"},
	{"hostile_symlink_parent",
	 {{.path = "evil", .type = AE_IFLNK, .link = ".."},
	  {.path = "evil/canary", .data = "pwned"}},
	 .msg = "entry 'evil/canary': its parent path goes through a symlink"},
	{"hostile_abs_symlink_parent",
	 {{.path = "evil", .type = AE_IFLNK, .link = "@T"},
	  {.path = "evil/canary", .data = "pwned"}},
	 .msg = "entry 'evil/canary': its parent path goes through a symlink"},
	{"hostile_whiteout_dotdot",
	 {{.path = "../.wh.canary"}},
	 .msg = "entry '../.wh.canary': a '..' component"},
	{"hostile_whiteout_dot",
	 {{.path = ".wh.."}},
	 .msg = "entry '.wh..': whiteout of '.' leaves its directory"},
	{"hostile_whiteout_symlink_parent",
	 {{.path = "evil", .type = AE_IFLNK, .link = ".."}, {.path = "evil/.wh.canary"}},
	 .msg = "entry 'evil/.wh.canary': its directory goes through a symlink"},
	{"hostile_hardlink_dotdot",
	 {{.path = "lnk", .hardlink = "../canary"}},
	 .msg = "entry 'lnk': hard link target '../canary' leaves the root"},
	{"hostile_hardlink_symlink",
	 {{.path = "evil", .type = AE_IFLNK, .link = ".."},
	  {.path = "lnk", .hardlink = "evil/canary"}},
	 .msg = "entry 'lnk': hard link target 'evil/canary' goes through a symlink"},
	{"hostile_hardlink_dir",
	 {{.path = "d/", .type = AE_IFDIR}, {.path = "lnk", .hardlink = "d"}},
	 .msg = "entry 'lnk': hard link target 'd' is not a regular file"},
	{"hostile_whiteout_children",
	 {{.path = "x/.wh.y/z", .data = "z"}},
	 .msg = "entry 'x/.wh.y/z': a whiteout cannot have"},
	{"hostile_path_max", {{.path = "@LONG", .data = "x"}}, .msg = "path longer than PATH_MAX"},
	{"hostile_truncated_gzip",
	 {{.path = "big", .noise = 2 * MiB}},
	 F_GZIP,
	 1,
	 .msg = "entry 'big': layer is truncated or corrupt: "},
	{"hostile_corrupt_zstd",
	 {{.path = "big", .noise = 2 * MiB}},
	 F_ZSTD,
	 2,
	 .msg = "entry 'big': layer is truncated or corrupt: "},
	{"hostile_sparse_over_max_bytes",
	 {{.path = "huge", .sparse = 256 * MiB}},
	 F_GZIP,
	 .lim = {.max_bytes = MiB},
	 .msg = "entry 'huge': the files exceed the limit of 1048576 bytes (this one: 268435456, 0 "
		"before it)"},
	{"hostile_bytes_with_layers_below",
	 {{.path = "a", .data = "0123456789"}},
	 .lim = {.max_bytes = 100, .bytes_below = 95},
	 .msg = "entry 'a': the files exceed the limit of 100 bytes (this one: 10, 95 before it)"},
	{"hostile_too_many_entries",
	 {{.path = "a", .data = "a"}, {.path = "b", .data = "b"}},
	 .lim = {.max_entries = 1},
	 .msg = "entry 'b': more entries than the limit of 1"},
	{"hostile_entries_with_layers_below",
	 {{.path = "a", .data = "a"}, {.path = "b", .data = "b"}},
	 .lim = {.max_entries = 3, .entries_below = 2},
	 .msg = "entry 'b': more entries than the limit of 3"},
};

static void damage(const char *layer, int how)
{
	struct stat st;
	char junk[4096];

	assert_int_equal(stat(layer, &st), 0);
	if (how == 1)
		assert_int_equal(truncate(layer, st.st_size * 6 / 10), 0);
	if (how == 2) {
		int fd = open(layer, O_WRONLY);

		memset(junk, 0xff, sizeof(junk));
		assert_int_equal(pwrite(fd, junk, sizeof(junk), st.st_size / 2), sizeof(junk));
		close(fd);
	}
}

/* T holds root/, canary and layers/ only; the canary has its content and mtime. */
static void assert_outside_untouched(void)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(T);
	int n = 0;

	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 3);
	assert_int_equal(stat(canary, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_size, 6);
}

static void test_hostile(void **state)
{
	const struct hostile *h = *state;
	const char *layer = make_layer(h->filt, h->ents);
	struct layer_stats st;
	struct img_err e = {""};

	damage(layer, h->damage);
	assert_true(apply(layer, &h->lim, &st, &e) < 0);
	if (!strstr(e.msg, h->msg))
		fail_msg("got \"%s\", want \"%s\"", e.msg, h->msg);
	assert_null(strchr(e.msg, '\n'));
	assert_outside_untouched();
}

/* Read-only directories, a symlink out of the tree, a tree deeper than the descriptors. */
static void test_rootfs_remove(void **state)
{
	struct rlimit saved, few;
	int fd, next, i;

	(void)state;
	assert_int_equal(mkdirat(rootfd, "ro", 0755), 0);
	assert_int_equal(symlinkat(T, rootfd, "ro/out"), 0);
	assert_int_equal(symlinkat(canary, rootfd, "ro/canary"), 0);
	assert_int_equal(mkdirat(rootfd, "ro/locked", 0755), 0);
	fd = openat(rootfd, "ro/locked/f", O_WRONLY | O_CREAT, 0);
	close(fd);
	assert_int_equal(fchmodat(rootfd, "ro/locked", 0, 0), 0);
	assert_int_equal(fchmodat(rootfd, "ro", 0555, 0), 0);
	fd = openat(rootfd, ".", O_RDONLY);
	for (i = 0; i < 200; i++, fd = next) {
		assert_int_equal(mkdirat(fd, "d", 0500), 0);
		next = openat(fd, "d", O_RDONLY);
		close(fd);
	}
	close(fd);
	getrlimit(RLIMIT_NOFILE, &saved);
	few = (struct rlimit){16, saved.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &few), 0);
	assert_int_equal(rootfs_remove(rootfd, "d"), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_int_equal(rootfs_remove(rootfd, "ro"), 0);
	assert_false(exists("ro") || exists("d"));
	assert_int_equal(rootfs_remove(rootfd, "never-there"), 0);
	assert_outside_untouched();
}

/* The same, as an unprivileged owner: read-only modes need the chmod. */
static void test_rootfs_remove_unprivileged(void **state)
{
	int status, fd;
	pid_t pid;

	(void)state;
	/* The child works through rootfd: T's own 0700 does not stop it. */
	assert_int_equal(chown(root, 65534, 65534), 0);
	pid = fork();
	if (!pid) {
		if (setgid(65534) || setuid(65534) || mkdirat(rootfd, "t", 0755) ||
		    mkdirat(rootfd, "t/locked", 0755))
			_exit(2);
		fd = openat(rootfd, "t/locked/f", O_WRONLY | O_CREAT, 0);
		close(fd);
		if (fchmodat(rootfd, "t/locked", 0, 0) || fchmodat(rootfd, "t", 0500, 0))
			_exit(3);
		_exit(rootfs_remove(rootfd, "t") || exists("t") ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
}

int main(void)
{
	static enum filt filts[] = {F_GZIP, F_ZSTD, F_NONE};
	struct CMUnitTest tests[64];
	size_t n = 0, i;

	/* Owners, device nodes and the unprivileged child need root. */
	if (geteuid()) {
		fprintf(stderr, "test_image_layer: needs root, skipped\n");
		return 77;
	}
	for (i = 0; i < 3; i++)
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(
			test_all_kinds, setup, teardown, &filts[i]);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test_setup_teardown(test_sparse, setup, teardown);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown);
	tests[n++] =
		(struct CMUnitTest)cmocka_unit_test_setup_teardown(test_replace, setup, teardown);
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate_setup_teardown(
			test_hostile, setup, teardown, (void *)&hostile[i]);
		tests[n++].name = hostile[i].name;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_rootfs_remove, setup,
									teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
		test_rootfs_remove_unprivileged, setup, teardown);
	return _cmocka_run_group_tests("test_image_layer", tests, n, NULL, NULL);
}
