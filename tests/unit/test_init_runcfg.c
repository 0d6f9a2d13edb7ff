// SPDX-License-Identifier: Apache-2.0
/* Unit tests of ember-init's /ember/run parser: good files, defaults, and every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "runcfg.h"

/* Big enough for the largest test file (over RUN_MAX_FILE on purpose). */
#define BUF_CAP (RUN_MAX_FILE + 4096)

static char *buf;
static size_t len;
static struct run_cfg rc;
static char err[256];

/* Append one record with a value of @vlen bytes. */
static void rec_n(const char *key, const char *val, size_t vlen)
{
	len += (size_t)snprintf(buf + len, BUF_CAP - len, "%s %zu\n", key, vlen);
	memcpy(buf + len, val, vlen);
	len += vlen;
	buf[len++] = '\n';
}

static void rec(const char *key, const char *val)
{
	rec_n(key, val, strlen(val));
}

/* Append raw bytes (broken records). */
static void raw(const char *bytes, size_t n)
{
	memcpy(buf + len, bytes, n);
	len += n;
}

/* Append the required records. */
static void required(void)
{
	rec("arg", "/bin/app");
	rec("root", "/dev/vda");
	rec("fstype", "erofs");
	rec("uid", "0");
	rec("gid", "0");
}

/* A file of the required records, no more. */
static void minimal(void)
{
	len = 0;
	required();
}

static int parse(void)
{
	return runcfg_parse(buf, len, &rc, err, sizeof(err));
}

/* Expect the file to be refused with @ret and a message containing @needle. */
static void expect_fail(int ret, const char *needle)
{
	err[0] = '\0';
	assert_int_equal(parse(), ret);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
}

static int setup(void **state)
{
	(void)state;
	buf = malloc(BUF_CAP);
	return buf ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(buf);
	return 0;
}

static void test_every_key(void **state)
{
	(void)state;
	len = 0;
	rec("arg", "redis-server");
	rec("arg", "--save \"\"");
	rec("arg", "");
	rec("env", "PATH=/usr/local/bin:/usr/bin");
	rec("env", "REDIS_VERSION=7.2.4");
	rec("env", "EMPTY=");
	rec("env", "PATH=/second");
	rec("workdir", "/data");
	rec("uid", "999");
	rec("gid", "4294967294");
	rec("groups", "999,0,27");
	rec("hostname", "redis-1.example");
	rec("root", "/dev/vdb");
	rec("fstype", "ext4");
	rec("port", "53/udp");
	rec("port", "6379/tcp");
	rec("port", "8080/tcp");
	rec("port", "9/sctp");
	rec("dns", "192.0.2.53");
	rec("dns", "2001:db8::53");
	assert_int_equal(parse(), 0);
	assert_int_equal(rc.nr_args, 3);
	assert_string_equal(rc.args[0], "redis-server");
	assert_string_equal(rc.args[1], "--save \"\"");
	assert_string_equal(rc.args[2], "");
	assert_null(rc.args[3]);
	/* The image's PATH: nothing added; the first PATH= is the one searched. */
	assert_int_equal(rc.nr_env, 4);
	assert_string_equal(rc.env[2], "EMPTY=");
	assert_null(rc.env[4]);
	assert_string_equal(rc.path, "/usr/local/bin:/usr/bin");
	assert_string_equal(rc.workdir, "/data");
	assert_int_equal(rc.uid, 999);
	assert_int_equal(rc.gid, 4294967294u);
	assert_int_equal(rc.nr_groups, 3);
	assert_int_equal(rc.groups[0], 999);
	assert_int_equal(rc.groups[1], 0);
	assert_int_equal(rc.groups[2], 27);
	assert_string_equal(rc.hostname, "redis-1.example");
	assert_string_equal(rc.root, "/dev/vdb");
	assert_string_equal(rc.fstype, "ext4");
	assert_int_equal(rc.nr_ports, 4);
	assert_int_equal(rc.ports[0].port, 53);
	assert_int_equal(rc.ports[0].proto, RUN_UDP);
	assert_int_equal(rc.ports[3].proto, RUN_SCTP);
	/* Readiness: the first TCP port, not the first port. */
	assert_int_equal(rc.ready_port, 6379);
	assert_false(rc.ready_udp);
	assert_int_equal(rc.nr_dns, 2);
	assert_string_equal(rc.dns[1], "2001:db8::53");
}

static void test_defaults(void **state)
{
	(void)state;
	minimal();
	assert_int_equal(parse(), 0);
	assert_int_equal(rc.nr_args, 1);
	/* No PATH from the image: the runtime default, in the env too. */
	assert_int_equal(rc.nr_env, 1);
	assert_string_equal(rc.env[0], RUN_DEFAULT_PATH);
	assert_null(rc.env[1]);
	assert_string_equal(rc.path,
			    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_string_equal(rc.workdir, "/");
	assert_null(rc.hostname);
	assert_int_equal(rc.nr_groups, 0);
	assert_int_equal(rc.nr_ports, 0);
	assert_int_equal(rc.ready_port, 0);
	assert_int_equal(rc.nr_dns, 0);
	/* A UDP-only app: ready once a socket is bound to its first UDP port. */
	minimal();
	rec("port", "5353/udp");
	rec("port", "53/udp");
	assert_int_equal(parse(), 0);
	assert_int_equal(rc.ready_port, 5353);
	assert_true(rc.ready_udp);
	/* An empty groups value is no group; values may hold any byte but NUL.
	 * (The parse changed the buffer: the file is written again.) */
	minimal();
	rec("groups", "");
	rec("env", "X=a\nb\x01\xff");
	assert_int_equal(parse(), 0);
	assert_int_equal(rc.nr_groups, 0);
	assert_string_equal(rc.env[0], "X=a\nb\x01\xff");
}

static void test_bounds_accepted(void **state)
{
	static char big[RUN_MAX_VALUE];
	int i;

	(void)state;
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	minimal();
	rec_n("arg", big, RUN_MAX_ARGENV);
	big[1] = '=';
	rec_n("env", big, RUN_MAX_ARGENV);
	rec_n("workdir", big, RUN_MAX_VALUE);
	assert_int_equal(parse(), 0);
	assert_int_equal(strlen(rc.args[1]), RUN_MAX_ARGENV);
	assert_int_equal(strlen(rc.workdir), RUN_MAX_VALUE);
	minimal();
	for (i = 1; i < RUN_MAX_ARGS; i++)
		rec("arg", "x");
	for (i = 0; i < RUN_MAX_ENV; i++)
		rec("env", "A=1");
	for (i = 0; i < RUN_MAX_PORTS; i++)
		rec("port", "1/udp");
	for (i = 0; i < RUN_MAX_DNS; i++)
		rec("dns", "::1");
	assert_int_equal(parse(), 0);
	assert_int_equal(rc.nr_args, RUN_MAX_ARGS);
	assert_null(rc.args[RUN_MAX_ARGS]);
	/* The default PATH still fits after the last of the image's entries. */
	assert_int_equal(rc.nr_env, RUN_MAX_ENV + 1);
	assert_null(rc.env[RUN_MAX_ENV + 1]);
}

static void test_framing(void **state)
{
	(void)state;
	minimal();
	raw("arg 5\nab", 8);
	expect_fail(-EINVAL, "record 6 (arg): 5-byte value runs past the end");
	minimal();
	raw("arg 2\nab", 8);
	expect_fail(-EINVAL, "record 6 (arg): 2-byte value runs past the end");
	minimal();
	raw("arg 1\nabc\n", 10);
	expect_fail(-EINVAL, "record 6 (arg): value not followed by a newline");
	minimal();
	raw("arg 4", 5);
	expect_fail(-EINVAL, "record 6: truncated header");
	minimal();
	raw("arg 99999999999999999999999\nx\n", 30);
	expect_fail(-EINVAL, "header longer than");
	minimal();
	raw("arg 99999999\nx\n", 15);
	expect_fail(-EINVAL, "record 6 (arg): bad length '99999999'");
	minimal();
	raw("arg 1048577\nx\n", 14);
	expect_fail(-EINVAL, "bad length");
	minimal();
	raw("arg 32769\nx\n", 12);
	expect_fail(-E2BIG, "record 6 (arg): value of 32769 bytes, at most 32768");
	minimal();
	raw("arg -1\nx\n", 9);
	expect_fail(-EINVAL, "bad length '-1'");
	minimal();
	raw("arg 01\nx\n", 9);
	expect_fail(-EINVAL, "bad length '01'");
	minimal();
	raw("arg\n", 4);
	expect_fail(-EINVAL, "expected 'KEY LENGTH'");
	minimal();
	raw(" 1\nx\n", 5);
	expect_fail(-EINVAL, "expected 'KEY LENGTH'");
	minimal();
	raw("\n", 1);
	expect_fail(-EINVAL, "expected 'KEY LENGTH'");
}

static void test_keys(void **state)
{
	(void)state;
	minimal();
	rec("entrypoint", "x");
	expect_fail(-EINVAL, "record 6: unknown key 'entrypoint'");
	minimal();
	rec("ARG", "x");
	expect_fail(-EINVAL, "unknown key 'ARG'");
	minimal();
	raw("ar\0g 1\nx\n", 9);
	expect_fail(-EINVAL, "record 6: NUL byte in the header");
	minimal();
	raw("arg 1\0\nx\n", 9);
	expect_fail(-EINVAL, "NUL byte in the header");
	minimal();
	rec_n("arg", "a\0b", 3);
	expect_fail(-EINVAL, "record 6 (arg): NUL byte in the value");
	minimal();
	rec_n("env", "A=\0", 3);
	expect_fail(-EINVAL, "(env): NUL byte in the value");
	minimal();
	rec("uid", "0");
	expect_fail(-EINVAL, "record 6 (uid): given twice");
}

static void test_missing(void **state)
{
	static const char *const keys[] = {"arg", "root", "fstype", "uid", "gid"};
	static const char *const vals[] = {"/bin/app", "/dev/vda", "erofs", "0", "0"};
	char needle[32];
	size_t skip, i;

	(void)state;
	for (skip = 0; skip < 5; skip++) {
		len = 0;
		rec("env", "A=1");
		for (i = 0; i < 5; i++)
			if (i != skip)
				rec(keys[i], vals[i]);
		snprintf(needle, sizeof(needle), "no '%s' record", keys[skip]);
		expect_fail(-EINVAL, needle);
	}
	len = 0;
	expect_fail(-EINVAL, "no 'arg' record");
}

static void test_counts(void **state)
{
	int i;

	(void)state;
	minimal();
	for (i = 0; i < RUN_MAX_ARGS; i++)
		rec("arg", "x");
	expect_fail(-E2BIG, "(arg): more than 256 arguments");
	minimal();
	for (i = 0; i <= RUN_MAX_ENV; i++)
		rec("env", "A=1");
	expect_fail(-E2BIG, "(env): more than 1024 entries");
	minimal();
	for (i = 0; i <= RUN_MAX_PORTS; i++)
		rec("port", "80/tcp");
	expect_fail(-E2BIG, "more than 32 ports");
	minimal();
	for (i = 0; i <= RUN_MAX_DNS; i++)
		rec("dns", "192.0.2.1");
	expect_fail(-E2BIG, "more than 3 name servers");
	minimal();
	rec("groups", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
		      "29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,"
		      "54,55,56,57,58,59,60,61,62,63,64,65");
	expect_fail(-E2BIG, "more than 64 groups");
}

static void test_value_bounds(void **state)
{
	static char big[RUN_MAX_VALUE + 2];

	(void)state;
	memset(big, 'a', sizeof(big));
	minimal();
	big[1] = '=';
	rec_n("env", big, RUN_MAX_ARGENV + 1);
	expect_fail(-E2BIG, "(env): value of 32769 bytes, at most 32768");
	minimal();
	big[0] = '/';
	rec_n("workdir", big, RUN_MAX_VALUE + 1);
	expect_fail(-E2BIG, "(workdir): value of 65537 bytes, at most 65536");
	minimal();
	rec_n("hostname", big + 2, RUN_MAX_HOST + 1);
	expect_fail(-EINVAL, "(hostname): expected 1-63 bytes");
	/* The whole file. */
	memset(buf, 'x', RUN_MAX_FILE + 1);
	len = RUN_MAX_FILE + 1;
	expect_fail(-E2BIG, "1048577 bytes, at most 1048576");
}

static void test_values(void **state)
{
	static const struct {
		const char *key, *val, *needle;
	} bad[] = {
		{"arg", "", "the first argument (the program) is empty"},
		{"env", "NOEQUALS", "'NOEQUALS' is not NAME=VALUE"},
		{"env", "=x", "'=x' is not NAME=VALUE"},
		{"workdir", "data", "'data' is not an absolute path"},
		{"workdir", "", "is not an absolute path"},
		{"root", "vda", "'vda' is not an absolute path"},
		{"fstype", "btrfs", "'btrfs' is neither erofs nor ext4"},
		{"uid", "-1", "not an id"},
		{"uid", "4294967295", "not an id"},
		{"uid", "1000 ", "not an id"},
		{"uid", "", "not an id"},
		{"gid", "0x10", "not an id"},
		{"groups", "1,,2", "not an id"},
		{"groups", "1,", "ends with a comma"},
		{"groups", ",1", "not an id"},
		{"hostname", "-x", "expected letters"},
		{"hostname", "a b", "expected letters"},
		{"hostname", "a\nb", "expected letters"},
		{"hostname", "", "expected 1-63 bytes"},
		{"port", "6379", "expected PORT/tcp"},
		{"port", "0/tcp", "expected PORT/tcp"},
		{"port", "65536/tcp", "expected PORT/tcp"},
		{"port", "80/TCP", "expected PORT/tcp"},
		{"port", "/tcp", "expected PORT/tcp"},
		{"dns", "dns.example", "is not an IP address"},
		{"dns", "192.0.2.1\nnameserver 6.6.6.6", "is not an IP address"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* First, so that it is not refused as a duplicate of a required one. */
		len = 0;
		rec(bad[i].key, bad[i].val);
		required();
		expect_fail(-EINVAL, bad[i].needle);
		assert_memory_equal(err, "/ember/run: record 1 (", 22);
	}
}

/* runcfg_read(): no file means "not an image guest"; a big file is refused unread. */
static void test_read(void **state)
{
	char path[] = "/tmp/test_init_runcfg.XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(runcfg_read("/nonexistent/ember/run", &rc, err, sizeof(err)), -ENOENT);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	minimal();
	rec("hostname", "h");
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fflush(f);
	assert_int_equal(runcfg_read(path, &rc, err, sizeof(err)), 0);
	assert_string_equal(rc.hostname, "h");
	assert_non_null(rc.buf);
	runcfg_free(&rc);
	assert_int_equal(ftruncate(fd, RUN_MAX_FILE + 1), 0);
	assert_int_equal(runcfg_read(path, &rc, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "at most 1048576 bytes"));
	assert_int_equal(runcfg_read("/tmp", &rc, err, sizeof(err)), -EINVAL);
	fclose(f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bounds_accepted),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_value_bounds),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
