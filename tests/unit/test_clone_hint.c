// SPDX-License-Identifier: Apache-2.0
/* The restore hint end to end without a guest: VMM formatter/queueing -> ember-init parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <linux/virtio_net.h>

#include "clone.h"
#include "init.h"
#include "virtio/virtio.h"

/* ---- stubs for what clone.c needs from the rest of ember-vmm ---- */
int vmm_verbose;
static char queued[1024];
static size_t queued_len, fifo_room = sizeof(queued);
static struct virtio_dev dev = {.lock = PTHREAD_MUTEX_INITIALIZER};

size_t serial_input(const void *buf, size_t len)
{
	size_t n = len < fifo_room ? len : fifo_room;

	memcpy(queued, buf, n);
	queued_len = n;
	return n;
}

struct virtio_dev *virtio_mmio_dev(unsigned slot)
{
	return slot == 0 ? &dev : NULL;
}

/* Parse the queued line (without its newline). */
static int parse_queued(struct init_hint *h)
{
	char line[1024], err[160];

	assert_true(queued_len > 0);
	assert_int_equal(queued[queued_len - 1], '\n');
	memcpy(line, queued, queued_len - 1);
	line[queued_len - 1] = '\0';
	return hint_parse(line, h, err, sizeof(err));
}

static void test_round_trip(void **state)
{
	struct clone_hint in = {.gen = 0x0123456789abcdefull, .clock_step_ns = -1500000001};
	struct init_hint out;
	char line[EMBER_HINT_MAX + 1], err[160];
	int n;

	(void)state;
	for (unsigned i = 0; i < sizeof(in.seed); i++)
		in.seed[i] = (uint8_t)(i * 37 + 1);
	n = clone_hint_format(line, sizeof(line), &in);
	assert_true(n > 0 && line[n - 1] == '\n');
	line[n - 1] = '\0';
	assert_int_equal(hint_parse(line, &out, err, sizeof(err)), 1);
	assert_true(out.gen == in.gen);
	assert_true(out.clock_step_ns == in.clock_step_ns);
	assert_memory_equal(out.seed, in.seed, sizeof(in.seed));
	assert_false(out.has_mac);

	in.has_mac = true;
	memcpy(in.mac, "\x02\xeb\x00\x00\x00\x33", 6);
	in.clock_step_ns = INT64_MAX;
	n = clone_hint_format(line, sizeof(line), &in);
	assert_true(n > 0 && n <= EMBER_HINT_MAX);
	line[n - 1] = '\0';
	assert_int_equal(hint_parse(line, &out, err, sizeof(err)), 1);
	assert_true(out.has_mac);
	assert_memory_equal(out.mac, in.mac, 6);
	assert_true(out.clock_step_ns == INT64_MAX);
	/* A buffer too small is refused, not truncated into a wrong hint. */
	assert_int_equal(clone_hint_format(line, 40, &in), -ENOSPC);
}

static void test_refresh_queues_fresh_hints(void **state)
{
	struct init_hint a, b;
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x42};
	uint32_t gen0 = dev.config_gen;

	(void)state;
	fifo_room = sizeof(queued);
	assert_int_equal(clone_refresh(2500000000ll, -1, NULL, queued, 0), 0);
	assert_int_equal(parse_queued(&a), 1);
	assert_true(a.clock_step_ns == 2500000000ll);
	assert_false(a.has_mac);
	assert_int_equal(dev.config_gen, gen0);
	assert_int_equal(clone_refresh(0, 0, mac, queued, 0), 0);
	assert_int_equal(parse_queued(&b), 1);
	/* Every clone: its own seed and generation. */
	assert_memory_not_equal(a.seed, b.seed, sizeof(a.seed));
	assert_true(a.gen != b.gen);
	assert_true(b.has_mac);
	assert_memory_equal(b.mac, mac, 6);
	/* The device's config space announces the new MAC too. */
	assert_memory_equal(dev.config + offsetof(struct virtio_net_config, mac), mac, 6);
	assert_int_equal(dev.config_gen, gen0 + 1);
}

static void test_refresh_full_fifo(void **state)
{
	char err[160] = "";

	(void)state;
	fifo_room = 10;
	assert_int_equal(clone_refresh(0, -1, NULL, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "does not fit"));
	fifo_room = sizeof(queued);
}

static void test_parse_refusals(void **state)
{
	static const char seed[] = "seed=000102030405060708090a0b0c0d0e0f"
				   "101112131415161718191a1b1c1d1e1f";
	struct {
		const char *line;
		const char *why;
	} bad[] = {
		{"ember.restore gen=0000000000000001 clock_step_ns=0", "required"},
		{"ember.restore gen=0000000000000001 gen=0000000000000001 clock_step_ns=0", "duplicate"},
		{"ember.restore gen=000000000000001 clock_step_ns=0", "gen"},
		{"ember.restore gen=000000000000000G clock_step_ns=0", "gen"},
		{"ember.restore gen=00000000000000AB clock_step_ns=0", "gen"},
		{"ember.restore gen=0000000000000001 clock_step_ns=12x", "clock_step_ns"},
		{"ember.restore gen=0000000000000001 clock_step_ns=99999999999999999999",
		 "clock_step_ns"},
		{"ember.restore gen=0000000000000001 clock_step_ns=", "clock_step_ns"},
		{"ember.restore gen=0000000000000001 clock_step_ns=0 colour=blue", "unknown key"},
		{"ember.restore gen=0000000000000001 clock_step_ns=0 oops", "key=value"},
		{"ember.restore gen=0000000000000001 clock_step_ns=0 mac=03:00:00:00:00:01", "mac"},
		{"ember.restore gen=0000000000000001 clock_step_ns=0 mac=00:00:00:00:00:00", "mac"},
		{"ember.restore gen=0000000000000001 clock_step_ns=0 mac=02-00-00-00-00-01", "mac"},
		{"ember.restore gen=0000000000000001 clock_step_ns=0 seed=0001", "seed"},
	};
	struct init_hint h;
	char err[160], line[400];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* A valid seed is appended unless the case is about the seed or
		 * about missing keys, so each line fails for its own reason. */
		bool add_seed = !strstr(bad[i].line, "seed=") && strcmp(bad[i].why, "required");

		snprintf(line, sizeof(line), "%s%s%s", bad[i].line, add_seed ? " " : "",
			 add_seed ? seed : "");
		err[0] = '\0';
		assert_int_equal(hint_parse(line, &h, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': error '%s' does not say '%s'", line, err, bad[i].why);
	}
	/* Not a hint at all: other console input is left alone. */
	assert_int_equal(hint_parse("", &h, err, sizeof(err)), 0);
	assert_int_equal(hint_parse("hello world", &h, err, sizeof(err)), 0);
	assert_int_equal(hint_parse("ember.restorex gen=1", &h, err, sizeof(err)), 0);
	/* Extra blanks between pairs are fine. */
	snprintf(line, sizeof(line), "ember.restore  gen=0000000000000001   clock_step_ns=-5 %s",
		 seed);
	assert_int_equal(hint_parse(line, &h, err, sizeof(err)), 1);
	assert_true(h.clock_step_ns == -5 && h.gen == 1 && h.seed[31] == 0x1f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refresh_queues_fresh_hints),
		cmocka_unit_test(test_refresh_full_fifo),
		cmocka_unit_test(test_parse_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
