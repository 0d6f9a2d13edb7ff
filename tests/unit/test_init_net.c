// SPDX-License-Identifier: Apache-2.0
/* ember-init's net_setup() against the real kernel, in a private network namespace. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "init.h"

#define CMDLINE                                                                                    \
	"ember.ip=192.0.2.2/24 ember.gw=192.0.2.1 ember.ip6=fd00:e::2/64 ember.gw6=fd00:e::1 "     \
	"ember.gwmac=02:00:00:00:00:01"

/* Output of an `ip` command run in our namespace (the child inherits it). */
static void ip_out(const char *args, char *out, size_t cap)
{
	char cmd[256];
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ip %s 2>&1", args);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	pclose(f);
}

static void expect_ip(const char *args, const char *needle)
{
	char out[4096];

	ip_out(args, out, sizeof(out));
	if (!strstr(out, needle))
		fail_msg("'ip %s' lacks '%s':\n%s", args, needle, out);
}

static void test_full_setup(void **state)
{
	struct init_cfg cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(cmdline_parse(CMDLINE, &cfg, err, sizeof(err)), 0);
	if (net_setup(&cfg, err, sizeof(err)))
		fail_msg("net_setup: %s", err);
	expect_ip("-o link show lo", "UP");
	expect_ip("-o -4 addr show dev eth0", "inet 192.0.2.2/24");
	expect_ip("-o -6 addr show dev eth0", "inet6 fd00:e::2/64");
	expect_ip("-4 route show default", "default via 192.0.2.1 dev eth0");
	expect_ip("-6 route show default", "default via fd00:e::1 dev eth0");
	expect_ip("-4 neigh show dev eth0", "192.0.2.1 lladdr 02:00:00:00:00:01 PERMANENT");
	expect_ip("-6 neigh show dev eth0", "fd00:e::1 lladdr 02:00:00:00:00:01 PERMANENT");
	/* Everything is added with NLM_F_REPLACE: a second run is harmless. */
	if (net_setup(&cfg, err, sizeof(err)))
		fail_msg("second net_setup: %s", err);
}

static void test_unreachable_gateway(void **state)
{
	struct init_cfg cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(cmdline_parse("ember.ip=192.0.2.2/24 ember.gw=198.51.100.1", &cfg, err,
				       sizeof(err)),
			 0);
	assert_true(net_setup(&cfg, err, sizeof(err)) < 0);
	if (!strstr(err, "ember.gw"))
		fail_msg("error does not name ember.gw: %s", err);
}

static void test_no_eth0(void **state)
{
	struct init_cfg cfg;
	char err[256] = "", out[256];

	(void)state;
	ip_out("link del eth0", out, sizeof(out));
	assert_int_equal(cmdline_parse(CMDLINE, &cfg, err, sizeof(err)), 0);
	assert_int_equal(net_setup(&cfg, err, sizeof(err)), -ENODEV);
	if (!strstr(err, "eth0"))
		fail_msg("error does not name eth0: %s", err);
	/* Without ember.ip nothing but lo is touched: fine without eth0. */
	assert_int_equal(cmdline_parse("", &cfg, err, sizeof(err)), 0);
	assert_int_equal(net_setup(&cfg, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_setup),
		cmocka_unit_test(test_unreachable_gateway),
		cmocka_unit_test(test_no_eth0),
	};

	if (geteuid() != 0) {
		printf("SKIP: needs root (private network namespace)\n");
		return 77;
	}
	/* The namespace dies with this process: nothing to clean up. */
	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	if (system("ip link add eth0 type veth peer name peer0 && ip link set peer0 up") != 0) {
		printf("SKIP: cannot create a veth pair in the namespace\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
