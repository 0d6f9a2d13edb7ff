// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the snapshot and restore command-line forms of ember-vmm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

static enum cli_result parse(struct cli_opts *o, char *err, ...)
{
	char *argv[32] = {"ember-vmm"};
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, err);
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	err[0] = '\0';
	return cli_parse(argc, argv, o, err, 256);
}

static void test_snapshot_on_ready(void **state)
{
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "k", "--snapshot-dir", "/s",
			       "--snapshot-on-ready", NULL),
			 CLI_RUN);
	assert_string_equal(o.snapshot_dir, "/s");
	assert_true(o.snapshot_on_ready);
	assert_false(o.snapshot_continue);
	assert_false(o.restore);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--snapshot-dir", "/s",
			       "--snapshot-on-ready", "--snapshot-continue", NULL),
			 CLI_RUN);
	assert_true(o.snapshot_continue);
	/* Each without the other is a usage error. */
	assert_int_equal(parse(&o, err, "--kernel", "k", "--snapshot-dir", "/s", NULL), CLI_USAGE);
	assert_non_null(strstr(err, "go together"));
	assert_int_equal(parse(&o, err, "--kernel", "k", "--snapshot-on-ready", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--snapshot-continue", NULL), CLI_USAGE);
}

static void test_restore(void **state)
{
	struct cli_opts o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "restore", "--snapshot-dir", "/s", "--net", "tap=t0",
			       "--console", "none", "--events", "/e", NULL),
			 CLI_RUN);
	assert_true(o.restore);
	assert_null(o.kernel);
	assert_string_equal(o.snapshot_dir, "/s");
	assert_int_equal(o.nr_net, 1);
	assert_string_equal(o.net[0].tap_name, "t0");
	assert_false(o.cpu_template_set);
	assert_int_equal(
		parse(&o, err, "restore", "--snapshot-dir", "/s", "--cpu-template", "host", NULL),
		CLI_RUN);
	assert_true(o.cpu_template_set);
	assert_string_equal(o.cpu_template, "host");
	/* Without a directory, or with what the snapshot fixes. */
	assert_int_equal(parse(&o, err, "restore", NULL), CLI_USAGE);
	assert_non_null(strstr(err, "--snapshot-dir is required"));
	assert_int_equal(parse(&o, err, "restore", "--snapshot-dir", "/s", "--kernel", "k", NULL),
			 CLI_USAGE);
	assert_int_equal(parse(&o, err, "restore", "--snapshot-dir", "/s", "--mem", "256M", NULL),
			 CLI_USAGE);
	assert_int_equal(parse(&o, err, "restore", "--snapshot-dir", "/s", "--vcpus", "1", NULL),
			 CLI_USAGE);
	assert_int_equal(parse(&o, err, "restore", "--snapshot-dir", "/s", "--rng", NULL),
			 CLI_USAGE);
	assert_int_equal(
		parse(&o, err, "restore", "--snapshot-dir", "/s", "--snapshot-on-ready", NULL),
		CLI_USAGE);
	/* "restore" is only a subcommand in first position. */
	assert_int_equal(parse(&o, err, "--kernel", "k", "restore", NULL), CLI_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_on_ready),
		cmocka_unit_test(test_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
