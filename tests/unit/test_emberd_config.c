// SPDX-License-Identifier: Apache-2.0
/* Unit tests: emberd's optional JSON configuration file (keys, types, ranges, errors). */
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

#include "emberd/emberd_config.h"

static char path[64];

/* Writes (text) to a temp file; its name is in (path). */
static void config(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/emberd-config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int load(const char *text, struct emberd_opts *o, char *err)
{
	int rc;

	config(text);
	rc = emberd_config_load(path, o, err, 256);
	unlink(path);
	return rc;
}

static void test_all_keys(void **state)
{
	struct emberd_opts o = {
		.state_dir = "/var/lib/ember", .scale_ms = 10, .min_avail_mib = 256};
	char err[256] = "";

	(void)state;
	assert_int_equal(load("{\"state_dir\": \"/srv/ember\", \"run_dir\": \"/run/e\", "
			      "\"ingress\": \"eth1\", \"pin_root\": \"/sys/fs/bpf/e\", "
			      "\"vmm\": \"/opt/ember-vmm\", \"scale_ms\": 5, \"min_avail_mib\": 0, "
			      "\"image_max_bytes\": 4194304, \"image_max_entries\": 0}",
			      &o, err),
			 0);
	assert_string_equal(o.state_dir, "/srv/ember");
	assert_string_equal(o.run_dir, "/run/e");
	assert_string_equal(o.ingress, "eth1");
	assert_string_equal(o.pin_root, "/sys/fs/bpf/e");
	assert_string_equal(o.vmm, "/opt/ember-vmm");
	assert_int_equal(o.scale_ms, 5);
	assert_int_equal(o.min_avail_mib, 0);
	assert_int_equal(o.image_max_bytes, 4194304);
	assert_int_equal(o.image_max_entries, 0);
}

/* Keys left out keep what the caller had (the built-in defaults). */
static void test_partial(void **state)
{
	struct emberd_opts o = {.state_dir = "/var/lib/ember",
				.scale_ms = 10,
				.min_avail_mib = 256,
				.image_max_bytes = 9};
	char err[256] = "";

	(void)state;
	assert_int_equal(load("{\"ingress\": \"veth0\"}", &o, err), 0);
	assert_string_equal(o.ingress, "veth0");
	assert_string_equal(o.state_dir, "/var/lib/ember");
	assert_int_equal(o.scale_ms, 10);
	assert_int_equal(o.min_avail_mib, 256);
	assert_int_equal(o.image_max_bytes, 9);
	assert_int_equal(load("{}", &o, err), 0);
	assert_int_equal(load("{\"registry_stall_timeout_s\": 3}", &o, err), 0);
	assert_int_equal(o.pull_stall_s, 3);
}

static void expect_error(const char *text, const char *msg)
{
	struct emberd_opts o = {.scale_ms = 10};
	char err[256] = "";

	assert_int_equal(load(text, &o, err), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("'%s': error '%s' does not say '%s'", text, err, msg);
	assert_int_equal(o.scale_ms, 10);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{\"scale-ms\": 5}", "unknown key \"scale-ms\"");
	expect_error("{\"scale_ms\": 0}", "\"scale_ms\": must be an integer 1-1000");
	expect_error("{\"scale_ms\": 1001}", "\"scale_ms\": must be an integer 1-1000");
	expect_error("{\"scale_ms\": \"5\"}", "\"scale_ms\": must be an integer");
	expect_error("{\"min_avail_mib\": -1}", "\"min_avail_mib\": must be an integer 0-");
	expect_error("{\"image_max_bytes\": -1}", "\"image_max_bytes\": must be an integer 0-");
	expect_error("{\"image_max_bytes\": 1125899906842625}",
		     "\"image_max_bytes\": must be an integer 0-1125899906842624");
	expect_error("{\"image_max_entries\": 4294967297}",
		     "\"image_max_entries\": must be an integer 0-4294967296");
	expect_error("{\"image_max_entries\": 1.5}", "\"image_max_entries\": must be an integer");
	expect_error("{\"registry_stall_timeout_s\": 0}",
		     "\"registry_stall_timeout_s\": must be an integer 1-3600");
	expect_error("{\"ingress\": 7}", "\"ingress\": must be a non-empty string");
	expect_error("{\"vmm\": \"\"}", "\"vmm\": must be a non-empty string");
	expect_error("[1, 2]", "must be a JSON object");
	expect_error("{\"ingress\": \"a\", \"ingress\": \"b\"}", "duplicate");
	expect_error("{\"ingress\": ", "line 1");
	{
		struct emberd_opts o = {0};
		char err[256];

		assert_int_equal(
			emberd_config_load("/nonexistent/emberd.json", &o, err, sizeof(err)),
			-EINVAL);
		assert_non_null(strstr(err, "/nonexistent/emberd.json"));
	}
}

/* The guest files and the host images an app names by {"host": NAME}. */
static void test_guest_and_host_images(void **state)
{
	struct emberd_opts o = {0};
	char err[256] = "";

	(void)state;
	assert_int_equal(load("{\"guest_kernel\": \"/g/vmlinux\", \"guest_initramfs\": "
			      "\"/g/i.cpio\", \"host_images\": {\"demo\": {\"kernel\": \"/k\", "
			      "\"initrd\": \"/i\"}, \"disk\": {\"kernel\": \"/k\", \"rootfs\": "
			      "\"/r.img\", \"exec\": \"/srv/app\"}}}",
			      &o, err),
			 0);
	assert_string_equal(o.guest_kernel, "/g/vmlinux");
	assert_string_equal(o.guest_initramfs, "/g/i.cpio");
	assert_int_equal(o.nhost_images, 2);
	assert_string_equal(o.host_images[0].name, "demo");
	assert_string_equal(o.host_images[0].boot.initrd, "/i");
	assert_string_equal(o.host_images[1].boot.rootfs, "/r.img");
	assert_string_equal(o.host_images[1].boot.exec, "/srv/app");
	free(o.host_images);
	expect_error("{\"host_images\": []}", "must be an object");
	expect_error("{\"host_images\": {\"Demo\": {\"kernel\": \"/k\"}}}", "host_images.Demo");
	expect_error("{\"host_images\": {\"d\": {\"initrd\": \"/i\"}}}", "\"kernel\" is required");
	expect_error("{\"host_images\": {\"d\": {\"kernel\": \"k\"}}}", "absolute path");
	expect_error("{\"host_images\": {\"d\": {\"kernel\": \"/a/../k\"}}}", "'..'");
	expect_error("{\"host_images\": {\"d\": {\"kernel\": \"/k\", \"rootfs\": \"/r,cow\"}}}",
		     "','");
	expect_error("{\"host_images\": {\"d\": {\"kernel\": \"/k\", \"exec\": \"/a b\"}}}",
		     "spaces");
	expect_error("{\"host_images\": {\"d\": {\"kernel\": \"/k\", \"disk\": \"/x\"}}}",
		     "unknown key \"disk\"");
	expect_error("{\"guest_kernel\": \"\"}", "\"guest_kernel\": must be a non-empty string");
	/* What root filesystems are built as. */
	assert_int_equal(load("{\"image_fs\": \"ext4\"}", &o, err), 0);
	assert_true(o.image_ext4);
	assert_int_equal(load("{\"image_fs\": \"erofs\"}", &o, err), 0);
	assert_false(o.image_ext4);
	expect_error("{\"image_fs\": \"xfs\"}", "\"image_fs\": must be \"erofs\" or \"ext4\"");
	expect_error("{\"image_fs\": 1}", "\"image_fs\": must be");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_guest_and_host_images),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
