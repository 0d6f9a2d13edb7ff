// SPDX-License-Identifier: Apache-2.0
/* Unit tests: the control protocol's parser and the --paused/--control options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "control.h"

static enum ctl_cmd parse(const char *s, const char **arg)
{
	static char buf[CTL_LINE_MAX];

	strncpy(buf, s, sizeof(buf) - 1);
	return ctl_parse(buf, arg);
}

static void test_commands(void **state)
{
	const char *arg;

	(void)state;
	assert_int_equal(parse("resume", &arg), CTL_RESUME);
	assert_int_equal(parse("pause\r", &arg), CTL_PAUSE);
	assert_int_equal(parse("status", &arg), CTL_STATUS);
	assert_int_equal(parse("snapshot /tmp/s", &arg), CTL_SNAPSHOT);
	assert_string_equal(arg, "/tmp/s");
}

static void test_refused(void **state)
{
	const char *bad[] = {"",	  "resume ",	  "Resume", "resume now", "snapshot",
			     "snapshot ", "snapshot a b", "pausex", "\r",	  "status\r\r"};
	const char *arg;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &arg), CTL_BAD);
		assert_non_null(arg); /* the reason the reply carries */
	}
}

static enum cli_result cli(struct cli_opts *o, int argc, char **argv)
{
	char err[256];

	return cli_parse(argc, argv, o, err, sizeof(err));
}

static void test_cli(void **state)
{
	char *ok[] = {"ember-vmm", "restore", "--snapshot-dir", "d", "--paused",
		      "--control", "/s",      "--control-fd",	"5"};
	char *no_ctl[] = {"ember-vmm", "restore", "--snapshot-dir", "d", "--paused"};
	char *bad_fd[] = {"ember-vmm", "restore", "--snapshot-dir", "d", "--control-fd", "x"};
	char *boot[] = {"ember-vmm", "--kernel", "k", "--paused", "--control", "/s"};
	struct cli_opts o;

	(void)state;
	assert_int_equal(cli(&o, 9, ok), CLI_RUN);
	assert_true(o.paused);
	assert_string_equal(o.control_path, "/s");
	assert_int_equal(o.control_fd, 5);
	assert_int_equal(cli(&o, 5, no_ctl), CLI_USAGE);
	assert_int_equal(cli(&o, 6, bad_fd), CLI_USAGE);
	assert_int_equal(cli(&o, 6, boot), CLI_RUN);
	assert_true(o.paused);
	assert_int_equal(o.control_fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
