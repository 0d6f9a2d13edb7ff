/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the image blob store and digests: verified writes, nothing left on refusal,
 * refs.json. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/digest.h"
#include "image/store.h"

/* SHA-256 of "abc" and of nothing (FIPS 180-2). */
#define D_ABC	"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HEX60	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
#define HEX64	HEX60 "cdef"

static char top[] = "/tmp/test_image_store.XXXXXX";
static char dir[PATH_MAX];
static struct store *st;
static struct img_err err;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/images", top);
	memset(&err, 0, sizeof(err));
	assert_int_equal(store_open(dir, &st, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(st);
	st = NULL;
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries in DIR/(sub), not counting . and .. */
static int count(const char *sub)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void put_file(const char *sub, const char *text)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void reopen(void)
{
	store_close(st);
	st = NULL;
	assert_int_equal(store_open(dir, &st, &err), 0);
}

/* Writes (text) in one-byte pieces (so hashing really streams) and commits. */
static int write_blob(const char *text, const char *expected, int64_t size, char *out)
{
	struct store_writer *w;
	int rc = store_writer_open(st, expected, size, &w, &err);

	for (size_t i = 0; !rc && i < strlen(text); i++)
		rc = store_writer_write(w, text + i, 1, &err);
	if (rc) {
		store_writer_abort(w);
		return rc;
	}
	return store_writer_commit(w, out, &err);
}

/* ---- digests ---- */

static void test_digest_buf_known(void **state)
{
	char d[DIGEST_BUF_LEN];

	(void)state;
	assert_int_equal(digest_buf("abc", 3, d, &err), 0);
	assert_string_equal(d, D_ABC);
	assert_int_equal(digest_buf("", 0, d, &err), 0);
	assert_string_equal(d, D_EMPTY);
	assert_string_equal(digest_hex(d), D_EMPTY + 7);
}

static void test_digest_streaming_matches_one_shot(void **state)
{
	char one[DIGEST_BUF_LEN], streamed[DIGEST_BUF_LEN];
	static char big[100000];
	struct digest_ctx h;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(digest_buf(big, sizeof(big), one, &err), 0);
	assert_int_equal(digest_init(&h, &err), 0);
	for (size_t off = 0; off < sizeof(big); off += 333) {
		size_t n = sizeof(big) - off < 333 ? sizeof(big) - off : 333;

		assert_int_equal(digest_update(&h, big + off, n, &err), 0);
	}
	assert_int_equal(digest_final(&h, streamed, &err), 0);
	assert_null(h.md);
	assert_string_equal(one, streamed);
}

static void test_digest_parse_good(void **state)
{
	char out[DIGEST_BUF_LEN];

	(void)state;
	assert_int_equal(digest_parse("sha256:" HEX64, out, &err), 0);
	assert_string_equal(out, "sha256:" HEX64);
	assert_int_equal(digest_parse(D_ABC, NULL, NULL), 0);
}

static const struct {
	const char *what, *in, *msg; /* (msg): a part of the message */
} bad_digests[] = {
	{"null", NULL, "empty digest"},
	{"empty", "", "empty digest"},
	{"prefix only", "sha256:", "too short"},
	{"63 digits", "sha256:" HEX60 "cde", "too short"},
	{"65 digits", "sha256:" HEX64 "0", "too long"},
	{"uppercase", "sha256:ABCD" HEX60, "hex character 1: uppercase"},
	{"sha512", "sha512:" HEX64, "algorithm 'sha512' is not supported"},
	{"md5", "md5:d41d8cd98f00b204e9800998ecf8427e", "algorithm 'md5'"},
	{"uppercase algorithm", "SHA256:" HEX64, "algorithm 'SHA256'"},
	{"no prefix", HEX64, "no 'sha256:' prefix"},
	{"path", "../../etc/passwd", "no 'sha256:' prefix"},
	{"slash", "sha256:012/" HEX60, "hex character 4: not a hex digit"},
	{"dot", "sha256:.abc" HEX60, "hex character 1: not a hex digit"},
	{"dotdot", "sha256:../x", "hex character 1"},
	{"trailing space", "sha256:" HEX64 " ", "too long"},
	{"newline", "sha256:0\nab" HEX60, "hex character 2"},
	{"g", "sha256:gabc" HEX60, "not a hex digit"},
	{"leading space", " sha256:" HEX64, "no 'sha256:' prefix"},
	{"control in algorithm", "\x01sha:" HEX64, "digest '?sha:0123"},
};

static void test_digest_parse_refuses(void **state)
{
	char out[DIGEST_BUF_LEN] = "untouched";

	(void)state;
	for (size_t i = 0; i < sizeof(bad_digests) / sizeof(bad_digests[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (digest_parse(bad_digests[i].in, out, &err) != -EINVAL)
			fail_msg("%s: accepted", bad_digests[i].what);
		if (!strstr(err.msg, bad_digests[i].msg))
			fail_msg("%s: message '%s' lacks '%s'", bad_digests[i].what, err.msg,
				 bad_digests[i].msg);
		assert_null(strchr(err.msg, '\n'));
	}
	assert_string_equal(out, "untouched");
}

/* ---- blobs ---- */

static void test_blob_written_and_read_back(void **state)
{
	char d[DIGEST_BUF_LEN], path[PATH_MAX], want[PATH_MAX + 96], buf[16] = {0};
	struct stat sb;
	uint64_t size;
	int fd;

	(void)state;
	assert_false(store_has(st, D_ABC));
	assert_int_equal(write_blob("abc", D_ABC, 3, d), 0);
	assert_string_equal(d, D_ABC);
	assert_true(store_has(st, D_ABC));
	fd = store_blob_open(st, D_ABC, &err);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(write(fd, "x", 1), -1); /* read-only */
	close(fd);
	assert_int_equal(store_blob_size(st, D_ABC, &size, &err), 0);
	assert_int_equal(size, 3);
	assert_int_equal(store_blob_path(st, D_ABC, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/blobs/sha256/%s", dir, digest_hex(D_ABC));
	assert_string_equal(path, want);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0444);
	assert_int_equal(count("tmp"), 0);
}

static void test_blob_without_expectations(void **state)
{
	char d[DIGEST_BUF_LEN];

	(void)state;
	assert_int_equal(write_blob("", NULL, -1, d), 0);
	assert_string_equal(d, D_EMPTY);
	assert_true(store_has(st, D_EMPTY));
}

static void test_digest_mismatch_leaves_nothing(void **state)
{
	char d[DIGEST_BUF_LEN] = "";

	(void)state;
	assert_int_equal(write_blob("abd", D_ABC, 3, d), -EBADMSG);
	assert_non_null(strstr(err.msg, D_ABC));
	assert_non_null(strstr(err.msg, "got sha256:"));
	assert_string_equal(d, "");
	assert_int_equal(count("tmp"), 0);
	assert_int_equal(count("blobs/sha256"), 0);
	assert_false(store_has(st, D_ABC));
}

static void test_short_blob_refused(void **state)
{
	(void)state;
	assert_int_equal(write_blob("ab", NULL, 3, NULL), -EBADMSG);
	assert_non_null(strstr(err.msg, "2 bytes arrived, expected 3"));
	assert_int_equal(count("tmp"), 0);
	assert_int_equal(count("blobs/sha256"), 0);
}

static void test_oversize_refused_early(void **state)
{
	char path[PATH_MAX + 32];
	struct store_writer *w;
	struct dirent *de;
	struct stat sb;
	DIR *d;

	(void)state;
	assert_int_equal(store_writer_open(st, NULL, 4, &w, &err), 0);
	assert_int_equal(store_writer_write(w, "abc", 3, &err), 0);
	assert_int_equal(store_writer_write(w, "de", 2, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "more than the expected 4 bytes"));
	/* Refused before writing: the temporary file holds only what was allowed. */
	snprintf(path, sizeof(path), "%s/tmp", dir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) && de->d_name[0] == '.')
		;
	assert_non_null(de);
	assert_int_equal(fstatat(dirfd(d), de->d_name, &sb, 0), 0);
	closedir(d);
	assert_int_equal(sb.st_size, 3);
	/* The writer stays refused, even for bytes that would fit. */
	assert_int_equal(store_writer_write(w, "d", 1, &err), -EFBIG);
	assert_int_equal(store_writer_commit(w, NULL, &err), -EFBIG);
	assert_int_equal(count("tmp"), 0);
	assert_int_equal(count("blobs/sha256"), 0);
}

static void test_same_blob_twice_is_noop(void **state)
{
	char d[DIGEST_BUF_LEN], path[PATH_MAX];
	struct stat before, after;

	(void)state;
	assert_int_equal(write_blob("abc", D_ABC, 3, d), 0);
	assert_int_equal(store_blob_path(st, D_ABC, path, sizeof(path)), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(write_blob("abc", NULL, -1, d), 0);
	assert_string_equal(d, D_ABC);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino); /* the first copy was kept */
	assert_int_equal(count("tmp"), 0);
	assert_int_equal(count("blobs/sha256"), 1);
}

static void test_abort_removes_temp(void **state)
{
	struct store_writer *w;

	(void)state;
	assert_int_equal(store_writer_open(st, D_ABC, 3, &w, &err), 0);
	assert_int_equal(store_writer_write(w, "ab", 2, &err), 0);
	assert_int_equal(count("tmp"), 1);
	store_writer_abort(w);
	store_writer_abort(NULL);
	assert_int_equal(count("tmp"), 0);
	assert_int_equal(count("blobs/sha256"), 0);
}

static void test_writer_bad_arguments(void **state)
{
	struct store_writer *w = (void *)1;

	(void)state;
	assert_int_equal(store_writer_open(st, "sha256:abc", 3, &w, &err), -EINVAL);
	assert_null(w);
	assert_int_equal(store_writer_open(st, NULL, -2, &w, &err), -EINVAL);
	assert_int_equal(count("tmp"), 0);
}

static void test_blob_lookups_refused(void **state)
{
	char path[PATH_MAX];
	uint64_t size;

	(void)state;
	assert_int_equal(store_blob_open(st, D_ABC, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not in the image store"));
	assert_int_equal(store_blob_open(st, "sha256:../../refs.json", &err), -EINVAL);
	assert_int_equal(store_blob_size(st, D_ABC, &size, &err), -ENOENT);
	assert_int_equal(store_blob_remove(st, D_ABC, &err), -ENOENT);
	assert_false(store_has(st, "sha256:.."));
	assert_int_equal(store_blob_path(st, "../x", path, sizeof(path)), -EINVAL);
	assert_int_equal(store_blob_path(st, D_ABC, path, 10), -ENAMETOOLONG);
}

static int collect(const char *digest, void *ctx)
{
	char *seen = ctx;

	strcat(seen, digest_hex(digest)[0] == 'b' ? "A" : "E");
	return 0;
}

static int stop_at_first(const char *digest, void *ctx)
{
	(void)digest;
	(*(int *)ctx)++;
	return 42;
}

static void test_blob_foreach_and_remove(void **state)
{
	char seen[8] = "";
	int calls = 0;

	(void)state;
	assert_int_equal(write_blob("abc", D_ABC, 3, NULL), 0);
	assert_int_equal(write_blob("", D_EMPTY, 0, NULL), 0);
	put_file("blobs/sha256/not-a-digest", "x"); /* skipped, not reported */
	assert_int_equal(store_blob_foreach(st, collect, seen, &err), 0);
	assert_int_equal(strlen(seen), 2);
	assert_non_null(strchr(seen, 'A'));
	assert_non_null(strchr(seen, 'E'));
	assert_int_equal(store_blob_foreach(st, stop_at_first, &calls, &err), 42);
	assert_int_equal(calls, 1);
	assert_int_equal(store_blob_remove(st, D_ABC, &err), 0);
	assert_false(store_has(st, D_ABC));
	assert_true(store_has(st, D_EMPTY));
}

static void test_stale_tmp_cleaned_at_open(void **state)
{
	char path[PATH_MAX + 16];

	(void)state;
	assert_int_equal(write_blob("abc", D_ABC, 3, NULL), 0);
	/* What an import killed mid-write leaves, and a refs.json write cut short. */
	put_file("tmp/blob-1-0", "partial");
	put_file("tmp/blob-1-1", "from an older run");
	put_file("refs.json.tmp", "{\"half");
	assert_int_equal(count("tmp"), 2);
	reopen();
	assert_int_equal(count("tmp"), 0);
	snprintf(path, sizeof(path), "%s/refs.json.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
	assert_true(store_has(st, D_ABC));
}

static void test_open_refuses_a_file(void **state)
{
	char file[PATH_MAX + 16];
	struct store *other = (void *)1;

	(void)state;
	snprintf(file, sizeof(file), "%s/refs.json", dir);
	put_file("refs.json", "{\"version\": 1, \"refs\": {}}");
	assert_true(store_open(file, &other, &err) < 0);
	assert_null(other);
	assert_non_null(strstr(err.msg, "refs.json"));
}

/* ---- references ---- */

static int list_refs(const char *name, const char *digest, void *ctx)
{
	char *out = ctx;

	sprintf(out + strlen(out), "%s=%c;", name, digest_hex(digest)[0]);
	return 0;
}

static void test_refs_persist(void **state)
{
	char d[DIGEST_BUF_LEN], seen[256] = "";

	(void)state;
	assert_int_equal(store_ref_get(st, "redis:7", d, &err), -ENOENT);
	assert_int_equal(store_ref_set(st, "redis:7", D_ABC, &err), 0);
	assert_int_equal(store_ref_set(st, "alpine:3.19", D_EMPTY, &err), 0);
	assert_int_equal(store_ref_set(st, "docker.io/library/nginx:latest", D_ABC, &err), 0);
	assert_int_equal(store_ref_set(st, "redis:7", D_EMPTY, &err), 0); /* retag */
	assert_int_equal(store_ref_set(st, "redis:7", D_EMPTY, &err), 0); /* no-op */
	assert_int_equal(store_ref_del(st, "alpine:3.19", &err), 0);
	assert_int_equal(store_ref_del(st, "alpine:3.19", &err), -ENOENT);
	reopen();
	assert_int_equal(store_ref_get(st, "redis:7", d, &err), 0);
	assert_string_equal(d, D_EMPTY);
	assert_int_equal(store_ref_get(st, "alpine:3.19", d, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "alpine:3.19"));
	assert_int_equal(store_ref_foreach(st, list_refs, seen), 0);
	assert_string_equal(seen, "docker.io/library/nginx:latest=b;redis:7=e;");
	assert_int_equal(count("."), 3); /* blobs, tmp, refs.json; no refs.json.tmp */
}

static void test_ref_names_and_digests_refused(void **state)
{
	const char *bad[] = {"", "a b", "tab\tname", "nl\n", "del\x7f", "caf\xc3\xa9", NULL};
	char longname[STORE_REF_MAX + 2], seen[8] = "";

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(store_ref_set(st, bad[i], D_ABC, &err), -EINVAL);
		assert_int_equal(store_ref_get(st, bad[i], (char[DIGEST_BUF_LEN]){0}, &err),
				 -EINVAL);
	}
	assert_int_equal(store_ref_set(st, NULL, D_ABC, &err), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(store_ref_set(st, longname, D_ABC, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "longer than 255"));
	longname[STORE_REF_MAX] = 0;
	assert_int_equal(store_ref_set(st, longname, D_ABC, &err), 0);
	assert_int_equal(store_ref_set(st, "redis:7", "sha256:ABC", &err), -EINVAL);
	assert_int_equal(store_ref_del(st, longname, &err), 0);
	assert_int_equal(store_ref_foreach(st, list_refs, seen), 0);
	assert_string_equal(seen, "");
}

static const char *const bad_refs_files[] = {
	"{not json",
	"",
	"[]",
	"{\"version\": 2, \"refs\": {}}",
	"{\"version\": 1, \"refs\": []}",
	"{\"version\": 1, \"refs\": {\"a b\": \"" D_ABC "\"}}",
	"{\"version\": 1, \"refs\": {\"redis\": \"sha256:ABC\"}}",
	"{\"version\": 1, \"refs\": {\"redis\": 7}}",
	"{\"version\": 1, \"refs\": {\"r\": \"" D_ABC "\", \"r\": \"" D_EMPTY "\"}}",
};

static void test_corrupt_refs_refused_at_open(void **state)
{
	char path[PATH_MAX + 16], buf[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/refs.json", dir);
	for (size_t i = 0; i < sizeof(bad_refs_files) / sizeof(bad_refs_files[0]); i++) {
		store_close(st);
		st = NULL;
		put_file("refs.json", bad_refs_files[i]);
		memset(&err, 0, sizeof(err));
		if (store_open(dir, &st, &err) != -EINVAL)
			fail_msg("refs.json '%s' accepted", bad_refs_files[i]);
		assert_non_null(strstr(err.msg, "refs.json"));
		/* Never emptied: the file is as it was, for someone to repair. */
		f = fopen(path, "r");
		assert_non_null(f);
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
		fclose(f);
		assert_string_equal(buf, bad_refs_files[i]);
	}
	put_file("refs.json", "{\"version\": 1, \"refs\": {}}");
	assert_int_equal(store_open(dir, &st, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_buf_known),
		cmocka_unit_test(test_digest_streaming_matches_one_shot),
		cmocka_unit_test(test_digest_parse_good),
		cmocka_unit_test(test_digest_parse_refuses),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_blob_written_and_read_back),
		T(test_blob_without_expectations),
		T(test_digest_mismatch_leaves_nothing),
		T(test_short_blob_refused),
		T(test_oversize_refused_early),
		T(test_same_blob_twice_is_noop),
		T(test_abort_removes_temp),
		T(test_writer_bad_arguments),
		T(test_blob_lookups_refused),
		T(test_blob_foreach_and_remove),
		T(test_stale_tmp_cleaned_at_open),
		T(test_open_refuses_a_file),
		T(test_refs_persist),
		T(test_ref_names_and_digests_refused),
		T(test_corrupt_refs_refused_at_open),
#undef T
	};
	int rc;

	if (!mkdtemp(top))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(top);
	return rc;
}
