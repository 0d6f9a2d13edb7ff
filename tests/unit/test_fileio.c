// SPDX-License-Identifier: Apache-2.0
/* Unit tests of vmm/fileio.c's file_replace(): all or nothing, no temp file left behind. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"

static char dir[] = "/tmp/test_fileio.XXXXXX";
static char path[PATH_MAX], tmp[PATH_MAX + 8];

static void put(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The file's whole contents, or "" when it does not exist. */
static const char *get(const char *p)
{
	static char buf[256];
	ssize_t n;
	int fd = open(p, O_RDONLY);

	if (fd < 0)
		return "";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(path);
	unlink(tmp);
	return 0;
}

static void test_creates(void **state)
{
	(void)state;
	assert_int_equal(file_replace_buf(path, 0600, true, "new", 3), 0);
	assert_string_equal(get(path), "new");
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_replaces(void **state)
{
	(void)state;
	put("old contents, longer than the new");
	assert_int_equal(file_replace_buf(path, 0600, true, "new", 3), 0);
	assert_string_equal(get(path), "new");
	assert_int_equal(access(tmp, F_OK), -1);
}

/* Writes half its data, then fails as a full disk would. */
static int fill_then_fail(int fd, void *arg)
{
	(void)arg;
	assert_int_equal(write(fd, "half", 4), 4);
	return -ENOSPC;
}

static void test_failed_fill_keeps_old(void **state)
{
	(void)state;
	put("old");
	assert_int_equal(file_replace(path, 0600, true, fill_then_fail, NULL), -ENOSPC);
	assert_string_equal(get(path), "old");
	assert_int_equal(access(tmp, F_OK), -1);
}

/* A stale temp file from a crash is not trusted: it is overwritten. */
static void test_stale_tmp(void **state)
{
	FILE *f = fopen(tmp, "w");

	(void)state;
	assert_non_null(f);
	fputs("stale half-written data", f);
	fclose(f);
	assert_int_equal(file_replace_buf(path, 0600, true, "new", 3), 0);
	assert_string_equal(get(path), "new");
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_missing_dir(void **state)
{
	char p[PATH_MAX + 32];

	(void)state;
	snprintf(p, sizeof(p), "%s/no-such-dir/state", dir);
	assert_int_equal(file_replace_buf(p, 0600, true, "new", 3), -ENOENT);
}

static void test_name_too_long(void **state)
{
	static char p[PATH_MAX + 1];

	(void)state;
	memset(p, 'a', PATH_MAX);
	assert_int_equal(file_replace_buf(p, 0600, true, "new", 3), -ENAMETOOLONG);
}

/* The temporary file is in @path's directory, so the rename cannot cross file systems. */
static int fill_check_tmp(int fd, void *arg)
{
	(void)arg;
	assert_int_equal(access(tmp, F_OK), 0);
	return file_rw_all(fd, true, "x", 1, 0);
}

static void test_tmp_beside(void **state)
{
	(void)state;
	assert_int_equal(file_replace(path, 0600, false, fill_check_tmp, NULL), 0);
	assert_string_equal(get(path), "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_creates, setup),
		cmocka_unit_test_setup(test_replaces, setup),
		cmocka_unit_test_setup(test_failed_fill_keeps_old, setup),
		cmocka_unit_test_setup(test_stale_tmp, setup),
		cmocka_unit_test_setup(test_missing_dir, setup),
		cmocka_unit_test_setup(test_name_too_long, setup),
		cmocka_unit_test_setup(test_tmp_beside, setup),
	};
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	rmdir(dir);
	return rc;
}
