// SPDX-License-Identifier: Apache-2.0
/* Unit tests: the control protocol's codec (include/ember/control.h) and the --paused/--control
 * options. */
#include <errno.h>
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
	return ctl_cmd_decode(buf, arg);
}

static void test_commands(void **state)
{
	const char *arg;

	(void)state;
	assert_int_equal(parse("resume", &arg), CTL_RESUME);
	assert_int_equal(parse("pause\r", &arg), CTL_PAUSE);
	assert_int_equal(parse("status", &arg), CTL_STATUS);
	assert_int_equal(parse("version", &arg), CTL_VERSION);
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

/* Every command encodes to the line its decoder reads back. */
static void test_cmd_roundtrip(void **state)
{
	char line[CTL_LINE_MAX];
	const char *arg;
	int n;

	(void)state;
	for (int c = CTL_VERSION; c < CTL_NCMDS; c++) {
		n = ctl_cmd_encode(line, sizeof(line), (enum ctl_cmd)c,
				   c == CTL_SNAPSHOT ? "/var/snap" : NULL);
		assert_true(n > 0);
		assert_int_equal(line[n - 1], '\n');
		line[n - 1] = 0;
		assert_int_equal(ctl_cmd_decode(line, &arg), c);
	}
	assert_string_equal(arg, "/var/snap");
	assert_int_equal(ctl_cmd_encode(line, sizeof(line), CTL_RESUME, NULL), 7);
	assert_string_equal(line, "resume\n");
	/* What the decoder could not read back is never sent. */
	assert_int_equal(ctl_cmd_encode(line, sizeof(line), CTL_BAD, NULL), -EINVAL);
	assert_int_equal(ctl_cmd_encode(line, sizeof(line), CTL_NCMDS, NULL), -EINVAL);
	assert_int_equal(ctl_cmd_encode(line, sizeof(line), CTL_SNAPSHOT, NULL), -EINVAL);
	assert_int_equal(ctl_cmd_encode(line, sizeof(line), CTL_SNAPSHOT, "a b"), -EINVAL);
	assert_int_equal(ctl_cmd_encode(line, sizeof(line), CTL_SNAPSHOT, "a\nresume"), -EINVAL);
	assert_int_equal(ctl_cmd_encode(line, 4, CTL_RESUME, NULL), -ENOSPC);
}

/* Encodes @r as a reply to @cmd and decodes it back into @out. */
static void reply_roundtrip(enum ctl_cmd cmd, const struct ctl_reply *r, struct ctl_reply *out)
{
	char line[CTL_LINE_MAX + 8];
	int n = ctl_reply_encode(line, sizeof(line), cmd, r);

	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	line[n - 1] = 0;
	assert_int_equal(ctl_reply_decode(line, cmd, out), 0);
	assert_int_equal(out->ok, r->ok);
}

static void test_reply_roundtrip(void **state)
{
	struct ctl_reply r = {.ok = 1, .version = CTL_PROTO_VERSION}, o;

	(void)state;
	reply_roundtrip(CTL_VERSION, &r, &o);
	assert_int_equal(o.version, CTL_PROTO_VERSION);
	r.paused = 1;
	reply_roundtrip(CTL_STATUS, &r, &o);
	assert_int_equal(o.paused, 1);
	reply_roundtrip(CTL_PAUSE, &r, &o);
	assert_int_equal(o.paused, 1);
	r.paused = 0;
	reply_roundtrip(CTL_STATUS, &r, &o);
	assert_int_equal(o.paused, 0);
	r.t_us = 12, r.wake_ns = 34, r.mono_ns = UINT64_MAX;
	reply_roundtrip(CTL_RESUME, &r, &o);
	assert_true(o.t_us == 12 && o.wake_ns == 34 && o.mono_ns == UINT64_MAX);
	strcpy(r.text, "/var/snap");
	reply_roundtrip(CTL_SNAPSHOT, &r, &o);
	assert_string_equal(o.text, "/var/snap");
	r.ok = 0;
	strcpy(r.text, "not paused");
	reply_roundtrip(CTL_RESUME, &r, &o);
	assert_string_equal(o.text, "not paused");
}

/* Today's VMM replies, byte for byte (docs/control.md; scripts read them). */
static void test_reply_lines(void **state)
{
	struct ctl_reply r;

	(void)state;
	assert_int_equal(ctl_reply_decode("ok resumed t_us=5 wake_ns=6 mono_ns=7", CTL_RESUME, &r),
			 0);
	assert_true(r.ok && r.t_us == 5 && r.wake_ns == 6 && r.mono_ns == 7);
	assert_int_equal(ctl_reply_decode("ok version 1", CTL_VERSION, &r), 0);
	assert_int_equal(r.version, 1);
	/* Another version is a well-formed reply: the caller decides (emberd stops the guest). */
	assert_int_equal(ctl_reply_decode("ok version 2", CTL_VERSION, &r), 0);
	assert_int_equal(r.version, 2);
	assert_int_equal(ctl_reply_decode("err vCPUs did not pause within 5000 ms", CTL_PAUSE, &r),
			 0);
	assert_false(r.ok);
	assert_string_equal(r.text, "vCPUs did not pause within 5000 ms");
	/* An old VMM that knows no "version" answers an error, not a version. */
	assert_int_equal(ctl_reply_decode("err unknown command", CTL_VERSION, &r), 0);
	assert_false(r.ok);
}

/* Malformed, truncated and misplaced replies are refused with a reason, never half read. */
static void test_reply_refused(void **state)
{
	static const struct {
		enum ctl_cmd cmd;
		const char *line;
	} bad[] = {
		{CTL_RESUME, ""},
		{CTL_RESUME, "ok"},
		{CTL_RESUME, "ok resum"},
		{CTL_RESUME, "ok resumed"},
		{CTL_RESUME, "ok resumed t_us=5 wake_ns=6"},
		{CTL_RESUME, "ok resumed t_us=5 wake_ns=6 mono_ns="},
		{CTL_RESUME, "ok resumed t_us=5 wake_ns=6 mono_ns=7x"},
		{CTL_RESUME, "ok resumed t_us=5 wake_ns=6 mono_ns=7 extra=1"},
		{CTL_RESUME, "ok resumed t_us=-5 wake_ns=6 mono_ns=7"},
		{CTL_RESUME, "ok resumed mono_ns=7 t_us=5 wake_ns=6"},
		{CTL_RESUME, "ok resumed t_us=5 wake_ns=6 mono_ns=99999999999999999999"},
		{CTL_RESUME, "ok paused"}, /* the reply to another command */
		{CTL_PAUSE, "ok running"},
		{CTL_PAUSE, "ok paused "},
		{CTL_STATUS, "ok stopped"},
		{CTL_STATUS, "OK paused"},
		{CTL_VERSION, "ok version"},
		{CTL_VERSION, "ok version x"},
		{CTL_VERSION, "ok version 4294967296"},
		{CTL_VERSION, "ok running"},
		{CTL_SNAPSHOT, "ok snapshot"},
		{CTL_SNAPSHOT, "ok snapshot a b"},
		{CTL_PAUSE, "err"},
		{CTL_PAUSE, "error: paused"},
		{CTL_BAD, "ok paused"},
	};
	struct ctl_reply r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctl_reply_decode(bad[i].line, bad[i].cmd, &r), -EPROTO);
		assert_false(r.ok);
		assert_non_null(strstr(r.text, "not a reply to"));
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
		cmocka_unit_test(test_commands),      cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cmd_roundtrip), cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_reply_lines),   cmocka_unit_test(test_reply_refused),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
