/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: image references (good and bad, in tables), an image's User against a fake etc/. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/ref.h"
#include "image/user.h"
#include "test_image_oci.h"

#define DIGEST "sha256:" X64("c")
#define HUB    REF_DEFAULT_DOCKER_HUB

/* --- references --- */

static const struct good_ref {
	const char *in;
	unsigned int flags;
	const char *registry, *repo, *tag, *digest;
	const char *canonical; /* NULL: the input */
} good_refs[] = {
	{"redis", 0, "", "redis", "latest", "", "redis:latest"},
	{"redis:7", 0, "", "redis", "7", "", NULL},
	{"redis", HUB, REF_DOCKER_HUB, "library/redis", "latest", "",
	 REF_DOCKER_HUB "/library/redis:latest"},
	{"bitnami/redis:7.2", HUB, REF_DOCKER_HUB, "bitnami/redis", "7.2", "",
	 REF_DOCKER_HUB "/bitnami/redis:7.2"},
	{"bitnami/redis:7.2", 0, "", "bitnami/redis", "7.2", "", NULL},
	{"docker.io/redis", 0, REF_DOCKER_HUB, "library/redis", "latest", "",
	 REF_DOCKER_HUB "/library/redis:latest"},
	{"index.docker.io/library/redis:7", 0, REF_DOCKER_HUB, "library/redis", "7", "",
	 REF_DOCKER_HUB "/library/redis:7"},
	{"ghcr.io/owner/app:v1.2.3", 0, "ghcr.io", "owner/app", "v1.2.3", "", NULL},
	{"ghcr.io/owner/app:v1.2.3", HUB, "ghcr.io", "owner/app", "v1.2.3", "", NULL},
	{"localhost:5000/app", 0, "localhost:5000", "app", "latest", "",
	 "localhost:5000/app:latest"},
	{"localhost/app:dev", 0, "localhost", "app", "dev", "", NULL},
	{"127.0.0.1:5000/a/b/c:T_1", 0, "127.0.0.1:5000", "a/b/c", "T_1", "", NULL},
	{"[::1]:5000/app:t", 0, "[::1]:5000", "app", "t", "", NULL},
	{"reg-1.example.com/a_b/c__d/e-f/g.h---i:_x.Y-z", 0, "reg-1.example.com",
	 "a_b/c__d/e-f/g.h---i", "_x.Y-z", "", NULL},
	{"app@" DIGEST, 0, "", "app", "", DIGEST, NULL},
	{"ghcr.io/a/b:v1@" DIGEST, 0, "ghcr.io", "a/b", "v1", DIGEST, NULL},
	/* docker's reading too: without a '/', "localhost" is a name and 5000 its tag. */
	{"localhost:5000", 0, "", "localhost", "5000", "", NULL},
};

static void test_ref_good(void **state)
{
	char out[REF_FORMAT_SIZE];
	struct img_ref r;
	struct img_err e;

	(void)state;
	for (size_t i = 0; i < N_OF(good_refs); i++) {
		const struct good_ref *g = &good_refs[i];

		expect(ref_parse(g->in, g->flags, &r, &e), 0, &e, NULL, g->in);
		assert_string_equal(r.registry, g->registry);
		assert_string_equal(r.repo, g->repo);
		assert_string_equal(r.tag, g->tag);
		assert_string_equal(r.digest, g->digest);
		assert_int_equal(ref_format(&r, out, sizeof(out)), 0);
		assert_string_equal(out, g->canonical ? g->canonical : g->in);
	}
	assert_int_equal(ref_format(&r, out, 5), -ENAMETOOLONG);
}

static const struct bad_ref {
	const char *in;
	const char *frag;
} bad_refs[] = {
	{"", "reference: empty"},
	{"Redis", "path components must be lowercase"},
	{"redis:", "the tag must match"},
	{":7", "path components"},
	{"redis:-x", "the tag must match"},
	{"redis:a/b", "the registry must be"},
	{"a/b//c", "path components"},
	{"a/", "path components"},
	{"ghcr.io/", "path components"},
	{"a..b", "path components"},
	{"a-", "path components"},
	{"-a", "path components"},
	{"a___b", "path components"},
	{"a b", "must not contain spaces or control characters"},
	{"a\nb", "must not contain spaces or control characters"},
	{"redis@sha256:abc", "the digest must be"},
	{"redis@sha256:" X64("C"), "the digest must be"},
	{"redis@sha512:" X64("00"), "only sha256 digests are supported"},
	{"redis@" DIGEST "@" DIGEST, "the digest must be"},
	{"ghcr.io:0/app", "the registry must be HOST[:PORT]"},
	{"ghcr.io:99999/app", "the registry must be"},
	{"ghcr.io:/app", "the registry must be"},
	{"-bad.io/app", "the registry must be"},
	{"bad..io/app", "the registry must be"},
	{"bad_host.io/app", "the registry must be"},
	{"[zz]:5000/app", "the registry must be"},
	{"[::1/app", "the registry must be"},
};

static void test_ref_bad(void **state)
{
	struct img_ref r;
	struct img_err e;

	(void)state;
	for (size_t i = 0; i < N_OF(bad_refs); i++)
		expect(ref_parse(bad_refs[i].in, 0, &r, &e), -EINVAL, &e, bad_refs[i].frag,
		       bad_refs[i].in);
}

/* Parses (name_len) 'a's, then ':' and (tag_len) 't's when tag_len > 0, then "@" DIGEST. */
static int ref_of(size_t name_len, size_t tag_len, bool digest, struct img_err *e)
{
	char s[4096] = "";
	struct img_ref r;

	assert_true(name_len + tag_len + sizeof(DIGEST) + 2 < sizeof(s));
	memset(s, 'a', name_len);
	if (tag_len) {
		s[name_len] = ':';
		memset(s + name_len + 1, 't', tag_len);
	}
	if (digest)
		strcat(s, "@" DIGEST);
	return ref_parse(s, 0, &r, e);
}

/* A 255-character name and a 128-character tag, not one more. */
static void test_ref_bounds(void **state)
{
	struct img_err e;

	(void)state;
	expect(ref_of(255, 128, true, &e), 0, &e, NULL, "255 + 128 + digest");
	expect(ref_of(255, 129, false, &e), -EINVAL, &e, "the tag must match", "tag 129");
	expect(ref_of(256, 0, false, &e), -EINVAL, &e, "longer than 255 characters", "name 256");
	expect(ref_of(255, 129, true, &e), -EINVAL, &e, "longer than a name, a tag and a digest",
	       "457 bytes");
	expect(ref_of(4000, 0, false, &e), -EINVAL, &e, "longer than a name, a tag and a digest",
	       "4000 bytes");
}

/* The longest reference grows most from Docker Hub's names and still formats. */
static void test_ref_format_size(void **state)
{
	char s[REF_FORMAT_SIZE], out[REF_FORMAT_SIZE];
	struct img_ref r;
	struct img_err e;

	(void)state;
	snprintf(s, sizeof(s), "docker.io/%0*d:%0*d@%s", 245, 0, 128, 0, DIGEST);
	expect(ref_parse(s, 0, &r, &e), 0, &e, NULL, "longest");
	assert_int_equal(strlen(r.repo), 253);
	assert_int_equal(ref_format(&r, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), strlen(REF_DOCKER_HUB) + 1 + 253 + 1 + 128 + 1 + 71);
}

/* --- users --- */

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			     "# a comment: with colons\n"
			     "\n"
			     "+nis\n"
			     "redis:x:999:998::/home/redis:/bin/false\n"
			     "nohome:x:1001:1001\n"
			     "bad:x:abc:1::/:/bin/sh\n"
			     "last:x:1002:1002::/home/last:/bin/sh"; /* no final newline */

static const char group[] = "root:x:0:\n"
			    "www-data:x:33:\n"
			    "staff:x:50:alice,bob\n"
			    "redis:x:998:\n";

/* A fake image root: a temporary directory with etc/, and its fd. */
struct root {
	char dir[64];
	int fd;
};

/* Makes a root with etc/passwd (pw) and etc/group (gr) (NULL: absent). */
static struct root root_make(const char *pw, const char *gr)
{
	struct root r = {.dir = "/tmp/ember-user-XXXXXX"};
	char path[128];
	FILE *f;

	assert_non_null(mkdtemp(r.dir));
	snprintf(path, sizeof(path), "%s/etc", r.dir);
	assert_int_equal(mkdir(path, 0755), 0);
	for (int i = 0; i < 2; i++) {
		const char *text = i ? gr : pw;

		if (!text)
			continue;
		snprintf(path, sizeof(path), "%s/etc/%s", r.dir, i ? "group" : "passwd");
		assert_non_null(f = fopen(path, "w"));
		assert_int_equal(fputs(text, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
	}
	r.fd = open(r.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(r.fd >= 0);
	return r;
}

/* Runs "rm -rf '(dir)/(rel)'". */
static void remove_tree(const char *dir, const char *rel)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", dir, rel);
	assert_int_equal(system(cmd), 0);
}

static void root_drop(struct root *r)
{
	close(r->fd);
	remove_tree(r->dir, "");
}

/* What the last resolve() gave. */
static struct {
	uid_t uid;
	gid_t gid;
	char home[64];
	struct img_err e;
} got;

static int resolve(const struct root *r, const char *user, size_t homelen)
{
	return user_resolve(r->fd, user, &got.uid, &got.gid, got.home, homelen, &got.e);
}

struct user_case {
	const char *user;
	int rc;
	uid_t uid;
	gid_t gid;
	const char *home_or_frag; /* home when rc == 0, else in the error */
};

static void check_users(const struct root *r, const struct user_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct user_case *c = &cases[i];

		expect(resolve(r, c->user, sizeof(got.home)), c->rc, &got.e, c->home_or_frag,
		       c->user);
		if (c->rc)
			continue;
		assert_int_equal(got.uid, c->uid);
		assert_int_equal(got.gid, c->gid);
		assert_string_equal(got.home, c->home_or_frag);
	}
}

static const struct user_case user_cases[] = {
	{"", 0, 0, 0, "/root"},
	{"root", 0, 0, 0, "/root"},
	{"redis", 0, 999, 998, "/home/redis"},
	{"999", 0, 999, 998, "/home/redis"},
	{"1234", 0, 1234, 0, "/"},
	{"redis:www-data", 0, 999, 33, "/home/redis"},
	{"redis:50", 0, 999, 50, "/home/redis"},
	{"1234:staff", 0, 1234, 50, "/"},
	{"0:0", 0, 0, 0, "/root"},
	{"nohome", 0, 1001, 1001, "/"},
	{"last", 0, 1002, 1002, "/home/last"},
	{"2147483647", 0, 2147483647, 0, "/"},
	{"nobody", -ENOENT, 0, 0, "config.User: no user \"nobody\" in etc/passwd"},
	{"+nis", -ENOENT, 0, 0, "no user \"+nis\""},
	{"redis:nogroup", -ENOENT, 0, 0, "config.User: no group \"nogroup\" in etc/group"},
	{"bad", -EINVAL, 0, 0, "etc/passwd: line 8: malformed entry for \"bad\""},
	{":0", -EINVAL, 0, 0, "must be USER or USER:GROUP"},
	{"redis:", -EINVAL, 0, 0, "must be USER or USER:GROUP"},
	{"a:b:c", -EINVAL, 0, 0, "must be USER or USER:GROUP"},
	{"2147483648", -EINVAL, 0, 0, "config.User: uid 2147483648 out of 0-2147483647"},
	{"0:99999999999", -EINVAL, 0, 0, "config.User: gid 99999999999 out of"},
	{"re\tdis", -EINVAL, 0, 0, "control characters"},
};

static void test_user_table(void **state)
{
	struct root r = root_make(passwd, group);

	(void)state;
	check_users(&r, user_cases, N_OF(user_cases));
	expect(resolve(&r, "redis", 8), -ENAMETOOLONG, &got.e,
	       "home \"/home/redis\" longer than 7 bytes", "home buffer");
	root_drop(&r);
}

/* Without etc/passwd and etc/group: numbers resolve, names cannot. */
static void test_user_no_files(void **state)
{
	static const struct user_case cases[] = {
		{"1000:1000", 0, 1000, 1000, "/"},
		{"", 0, 0, 0, "/"},
		{"app", -ENOENT, 0, 0,
		 "user \"app\" needs etc/passwd, which the image does not have"},
		{"0:wheel", -ENOENT, 0, 0, "group \"wheel\" needs etc/group"},
	};
	struct root r = root_make(NULL, NULL);

	(void)state;
	check_users(&r, cases, N_OF(cases));
	root_drop(&r);
}

static int link_host_etc(const char *path)
{
	return symlink("/etc", path);
}

static int link_host_passwd(const char *path)
{
	return symlink("/etc/passwd", path);
}

static int make_fifo(const char *path)
{
	return mkfifo(path, 0644);
}

/* An image's etc/ is hostile: nothing may lead the reader out of the root or stall it. */
static void test_user_hostile_files(void **state)
{
	static const struct {
		const char *rel; /* replaced by what (make) makes */
		int (*make)(const char *);
		int rc;
		const char *frag;
	} cases[] = {
		{"etc", link_host_etc, -ELOOP, "etc/passwd: a symlink"},
		{"etc/passwd", link_host_passwd, -ELOOP, "etc/passwd: a symlink"},
		{"etc/passwd", make_fifo, -EINVAL, "etc/passwd: not a regular file"},
	};
	char path[128];

	(void)state;
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct root r = root_make(passwd, group);

		remove_tree(r.dir, cases[i].rel);
		snprintf(path, sizeof(path), "%s/%s", r.dir, cases[i].rel);
		assert_int_equal(cases[i].make(path), 0);
		expect(resolve(&r, "root", sizeof(got.home)), cases[i].rc, &got.e, cases[i].frag,
		       cases[i].rel);
		root_drop(&r);
	}
}

/* Resolves "root" in a root whose etc/passwd is (pw). */
static void expect_passwd(const char *pw, int rc, const char *frag)
{
	struct root r = root_make(pw, NULL);

	expect(resolve(&r, "root", sizeof(got.home)), rc, &got.e, frag,
	       frag ? frag : "within bounds");
	root_drop(&r);
}

static void test_user_bounds(void **state)
{
	char *big = malloc(USER_FILE_MAX + 2);

	(void)state;
	assert_non_null(big);
	/* A line of USER_LINE_MAX bytes before root's. */
	memset(big, 'x', USER_LINE_MAX);
	snprintf(big + USER_LINE_MAX, 64, "\nroot:x:0:0::/root:/bin/sh\n");
	expect_passwd(big, -EINVAL, "etc/passwd: line 1 longer than 4095 bytes");
	/* One byte shorter, it is read. */
	snprintf(big + USER_LINE_MAX - 1, 64, "\nroot:x:0:0::/root:/bin/sh\n");
	expect_passwd(big, 0, NULL);
	/* Short lines, one byte over the file bound. */
	for (size_t i = 0; i <= USER_FILE_MAX; i++)
		big[i] = i % 64 == 63 ? '\n' : 'x';
	big[USER_FILE_MAX + 1] = '\0';
	expect_passwd(big, -EINVAL, "etc/passwd: not a regular file of at most 1048576 bytes");
	free(big);
}

int test_image_ref_user(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_good),	   cmocka_unit_test(test_ref_bad),
		cmocka_unit_test(test_ref_bounds),	   cmocka_unit_test(test_ref_format_size),
		cmocka_unit_test(test_user_table),	   cmocka_unit_test(test_user_no_files),
		cmocka_unit_test(test_user_hostile_files), cmocka_unit_test(test_user_bounds),
	};

	return cmocka_run_group_tests_name("ref_user", tests, NULL, NULL);
}
