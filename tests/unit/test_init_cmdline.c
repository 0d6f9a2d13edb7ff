// SPDX-License-Identifier: Apache-2.0
/* Unit tests of ember-init's kernel command line parser: every key, bad values, limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "init.h"

static struct init_cfg cfg;
static char err[256];

static int parse(const char *text)
{
	return cmdline_parse(text, &cfg, err, sizeof(err));
}

/* Expect @text to fail with @ret and an error message containing @needle. */
static void expect_fail(const char *text, int ret, const char *needle)
{
	err[0] = '\0';
	assert_int_equal(parse(text), ret);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' does not mention '%s'", text, err, needle);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("console=ttyS0 reboot=p noxsave retain_initrd\n"), 0);
	assert_false(cfg.has_ip || cfg.has_ip6 || cfg.has_gw || cfg.has_gw6 || cfg.has_gwmac);
	assert_int_equal(cfg.port, 80);
	assert_string_equal(cfg.exec, "/bin/ember-demo");
	assert_int_equal(cfg.nr_args, 0);
	assert_string_equal(cfg.root, "");
	assert_string_equal(cfg.hostname, "");
	assert_false(cfg.quiet);
	assert_int_equal(cfg.nr_unknown, 0);
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse("   \n"), 0);
}

static void test_every_key(void **state)
{
	struct in_addr a4;
	struct in6_addr a6;
	const uint8_t mac[6] = {0x02, 0xaB, 0xcd, 0x00, 0x10, 0xff};

	(void)state;
	assert_int_equal(parse("console=ttyS0 quiet ember.ip=192.0.2.2/24 ember.gw=192.0.2.1 "
			       "ember.ip6=fd00::2/64 ember.gw6=fd00::1 "
			       "ember.gwmac=02:aB:cd:00:10:ff ember.port=8080 ember.root=/dev/vda "
			       "ember.exec=/usr/bin/app ember.arg=--exit-after ember.arg=3 "
			       "ember.hostname=guest-1.example\n"),
			 0);
	assert_true(cfg.has_ip && cfg.has_gw && cfg.has_ip6 && cfg.has_gw6 && cfg.has_gwmac);
	inet_pton(AF_INET, "192.0.2.2", &a4);
	assert_memory_equal(&cfg.ip, &a4, 4);
	assert_int_equal(cfg.prefix, 24);
	inet_pton(AF_INET, "192.0.2.1", &a4);
	assert_memory_equal(&cfg.gw, &a4, 4);
	inet_pton(AF_INET6, "fd00::2", &a6);
	assert_memory_equal(&cfg.ip6, &a6, 16);
	assert_int_equal(cfg.prefix6, 64);
	inet_pton(AF_INET6, "fd00::1", &a6);
	assert_memory_equal(&cfg.gw6, &a6, 16);
	assert_memory_equal(cfg.gwmac, mac, 6);
	assert_int_equal(cfg.port, 8080);
	assert_string_equal(cfg.root, "/dev/vda");
	assert_string_equal(cfg.exec, "/usr/bin/app");
	assert_int_equal(cfg.nr_args, 2);
	assert_string_equal(cfg.args[0], "--exit-after");
	assert_string_equal(cfg.args[1], "3");
	assert_string_equal(cfg.hostname, "guest-1.example");
	assert_true(cfg.quiet);
	assert_int_equal(cfg.nr_unknown, 0);
}

static void test_prefix_limits(void **state)
{
	(void)state;
	assert_int_equal(parse("ember.ip=10.0.0.1/0"), 0);
	assert_int_equal(cfg.prefix, 0);
	assert_int_equal(parse("ember.ip=10.0.0.1/32"), 0);
	assert_int_equal(cfg.prefix, 32);
	assert_int_equal(parse("ember.ip6=::1/128"), 0);
	assert_int_equal(cfg.prefix6, 128);
	expect_fail("ember.ip=10.0.0.1/33", -EINVAL, "ember.ip=");
	expect_fail("ember.ip6=fd00::2/129", -EINVAL, "ember.ip6=");
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_fail("ember.ip=10.0.0.1", -EINVAL, "IPv4/PREFIX");
	expect_fail("ember.ip=10.0.0.256/24", -EINVAL, "ember.ip=");
	expect_fail("ember.ip=fd00::2/64", -EINVAL, "ember.ip=");
	expect_fail("ember.ip=10.0.0.1/", -EINVAL, "ember.ip=");
	expect_fail("ember.ip=10.0.0.1/+8", -EINVAL, "ember.ip=");
	expect_fail("ember.ip=/24", -EINVAL, "ember.ip=");
	expect_fail("ember.ip6=10.0.0.1/24", -EINVAL, "ember.ip6=");
	expect_fail("ember.ip=10.0.0.2/24 ember.gw=10.0.0", -EINVAL, "ember.gw=");
	expect_fail("ember.ip6=fd00::2/64 ember.gw6=fd00:::1", -EINVAL, "ember.gw6=");
	expect_fail("ember.port=0", -EINVAL, "ember.port=0");
	expect_fail("ember.port=65536", -EINVAL, "ember.port");
	expect_fail("ember.port=80x", -EINVAL, "ember.port");
	expect_fail("ember.port=-1", -EINVAL, "ember.port");
	expect_fail("ember.port=", -EINVAL, "ember.port");
	expect_fail("ember.port=99999999999999999999999", -EINVAL, "ember.port");
	expect_fail("ember.root=vda", -EINVAL, "ember.root");
	expect_fail("ember.exec=bin/app", -EINVAL, "ember.exec");
	expect_fail("ember.hostname=bad_name", -EINVAL, "ember.hostname");
	expect_fail("ember.hostname=-lead", -EINVAL, "ember.hostname");
	expect_fail("ember.hostname=", -EINVAL, "ember.hostname");
	expect_fail("ember.port", -EINVAL, "missing =VALUE");
}

static void test_bad_mac(void **state)
{
	static const char *const bad[] = {
		"02:00:00:00:00",
		"02:00:00:00:00:00:00",
		"02:00:00:00:00:0g",
		"02-00-00-00-00-00",
		"2:00:00:00:00:00",
		"02:00:00:00:00:000",
		"",
	};
	char text[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "ember.ip=10.0.0.2/24 ember.gw=10.0.0.1 ember.gwmac=%s", bad[i]);
		expect_fail(text, -EINVAL, "ember.gwmac");
	}
}

static void test_combinations(void **state)
{
	(void)state;
	expect_fail("ember.gw=10.0.0.1", -EINVAL, "ember.gw needs ember.ip");
	expect_fail("ember.gw6=fd00::1", -EINVAL, "ember.gw6 needs ember.ip6");
	expect_fail("ember.ip=10.0.0.2/24 ember.gwmac=02:00:00:00:00:01", -EINVAL,
		    "ember.gwmac needs");
	/* An IPv6-only guest is fine. */
	assert_int_equal(parse("ember.ip6=fd00::2/64 ember.gw6=fd00::1 "
			       "ember.gwmac=02:00:00:00:00:01"),
			 0);
	assert_false(cfg.has_ip);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_int_equal(parse("ember.foo=1 ember.bar ember.ip6x=1 ember.=2 notember.port=1 "
			       "ember.port=81"),
			 0);
	assert_int_equal(cfg.nr_unknown, 4);
	assert_string_equal(cfg.unknown, "ember.foo ember.bar ember.ip6x ember.");
	assert_int_equal(cfg.port, 81);
}

static void test_unknown_overflow(void **state)
{
	char text[2048] = "";
	int i;

	(void)state;
	for (i = 0; i < 60; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "ember.key%02d=x ", i);
	assert_int_equal(parse(text), 0);
	/* All counted, as many listed as fit. */
	assert_int_equal(cfg.nr_unknown, 60);
	assert_true(strlen(cfg.unknown) < INIT_MAX_UNKNOWN);
	assert_memory_equal(cfg.unknown, "ember.key00 ember.key01", 23);
}

static void test_quotes_and_repeats(void **state)
{
	(void)state;
	assert_int_equal(parse("ember.arg=\"hello world\" \"ember.arg=a b\" ember.arg= "
			       "ember.port=81 ember.port=82"),
			 0);
	assert_int_equal(cfg.nr_args, 3);
	assert_string_equal(cfg.args[0], "hello world");
	assert_string_equal(cfg.args[1], "a b");
	assert_string_equal(cfg.args[2], "");
	/* As for the kernel's own parameters, the last one wins. */
	assert_int_equal(cfg.port, 82);
}

static void test_double_dash(void **state)
{
	(void)state;
	/* What follows "--" is init's argv, not ours. */
	assert_int_equal(parse("ember.port=81 -- ember.port=bad ember.zzz=1"), 0);
	assert_int_equal(cfg.port, 81);
	assert_int_equal(cfg.nr_unknown, 0);
}

static void test_too_many_args(void **state)
{
	char text[1024] = "";
	int i;

	(void)state;
	for (i = 0; i < INIT_MAX_ARGS; i++)
		strcat(text, "ember.arg=x ");
	assert_int_equal(parse(text), 0);
	assert_int_equal(cfg.nr_args, INIT_MAX_ARGS);
	strcat(text, "ember.arg=y");
	expect_fail(text, -E2BIG, "ember.arg");
}

static void test_overlong(void **state)
{
	char *text = malloc(INIT_CMDLINE_MAX + 16);
	char val[INIT_MAX_ARG + 16];

	(void)state;
	assert_non_null(text);
	memset(text, 'a', INIT_CMDLINE_MAX + 15);
	text[INIT_CMDLINE_MAX + 15] = '\0';
	expect_fail(text, -E2BIG, "command line longer");
	free(text);

	/* Longest value that fits, then one byte more. */
	memset(val, 'b', sizeof(val));
	memcpy(val, "ember.exec=/", 12);
	val[11 + INIT_MAX_ARG - 1] = '\0';
	assert_int_equal(parse(val), 0);
	assert_int_equal(strlen(cfg.exec), INIT_MAX_ARG - 1);
	val[11 + INIT_MAX_ARG - 1] = 'b';
	val[11 + INIT_MAX_ARG] = '\0';
	expect_fail(val, -E2BIG, "ember.exec: value too long");

	expect_fail(
		"ember.hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		-E2BIG, "ember.hostname");
	expect_fail(
		"ember.root=/dev/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		-E2BIG, "ember.root");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_prefix_limits),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_mac),
		cmocka_unit_test(test_combinations),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_unknown_overflow),
		cmocka_unit_test(test_quotes_and_repeats),
		cmocka_unit_test(test_double_dash),
		cmocka_unit_test(test_too_many_args),
		cmocka_unit_test(test_overlong),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
