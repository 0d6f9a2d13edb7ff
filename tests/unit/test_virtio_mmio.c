// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the virtio-mmio transport, driven like a guest through a fake vm. */
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
#include <linux/virtio_ids.h>

#include "virtio.h"
#include "virtio_drv.h"

#define RAM    (4u << 20)
#define MODERN ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX))

static unsigned created; /* slots used so far in this process */

/* Each test gets a fresh fake vm with an rng device in the next slot. */
static int setup_with(void **state, int irqfd_err, int ioeventfd_err)
{
	struct vm *vm = fake_vm_new(RAM, irqfd_err, ioeventfd_err);

	assert_int_equal(virtio_rng_create(vm), 0);
	created++;
	*state = vm;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, -ENOSYS, -ENOSYS);
}

static int setup_fds(void **state)
{
	return setup_with(state, 0, 0);
}

static int teardown(void **state)
{
	fake_vm_free(*state);
	return 0;
}

/* Count the lines the code under test logs while @fn runs. */
static unsigned log_lines_begin(FILE **f, int *saved)
{
	fflush(stderr);
	*saved = dup(2);
	*f = tmpfile();
	dup2(fileno(*f), 2);
	return 0;
}

static unsigned log_lines_end(FILE *f, int saved)
{
	unsigned n = 0;
	int ch;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void test_identity(void **state)
{
	struct vm *vm = *state;
	char want[64];

	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_VENDOR_ID), 0x52424d45);
	snprintf(want, sizeof(want), "virtio_mmio.device=4K@0x%llx:%u",
		 (unsigned long long)(VIRTIO_MMIO_BASE + (created - 1) * VIRTIO_MMIO_SIZE),
		 VIRTIO_MMIO_IRQ0 + created - 1);
	assert_string_equal(vm->cmdline, want);
	assert_int_equal(vm->mmio_base, VIRTIO_MMIO_BASE + (created - 1) * VIRTIO_MMIO_SIZE);
}

static void test_features(void **state)
{
	struct vm *vm = *state;

	mmio_wr(vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_DEVICE_FEATURES), 1u << VIRTIO_RING_F_EVENT_IDX);
	mmio_wr(vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_DEVICE_FEATURES), 1u << (VIRTIO_F_VERSION_1 - 32));
	mmio_wr(vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_DEVICE_FEATURES), 0);

	/* Legacy driver (no VERSION_1): FEATURES_OK stays clear. */
	assert_false(drv_negotiate(vm, 1ull << VIRTIO_RING_F_EVENT_IDX) &
		     VIRTIO_CONFIG_S_FEATURES_OK);
	/* A bit we never offered: refused. */
	assert_false(drv_negotiate(vm, MODERN | (1ull << VIRTIO_RING_F_INDIRECT_DESC)) &
		     VIRTIO_CONFIG_S_FEATURES_OK);
	/* A subset with VERSION_1: accepted. */
	assert_true(drv_negotiate(vm, 1ull << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(drv_negotiate(vm, MODERN) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* Features are frozen after FEATURES_OK. */
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	mmio_wr(vm, VIRTIO_MMIO_STATUS,
		mmio_rd(vm, VIRTIO_MMIO_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

static void test_queue_setup_and_request(void **state)
{
	struct vm *vm = *state;
	struct drv_buf b = {DRV_DATA, 32, true};
	static const uint8_t zero[32];

	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	drv_start(vm, 0, 1);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_QUEUE_READY), 1);

	drv_add(vm, 0, 0, &b, 1);
	drv_kick(vm, 0);
	assert_int_equal(drv_used(vm, 0)->idx, 1);
	assert_int_equal(drv_used(vm, 0)->ring[0].id, 0);
	assert_int_equal(drv_used(vm, 0)->ring[0].len, 32);
	assert_memory_not_equal(vm->ram + DRV_DATA, zero, 32);
	/* Interrupt by line pulse (irqfd refused by this fake), reason "used buffer". */
	assert_int_equal(fake_vm_irqs(vm), 1);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	mmio_wr(vm, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* Queue registers are frozen while ready. */
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_NUM, 2);
	drv_add(vm, 0, 1, &b, 1);
	drv_kick(vm, 0);
	assert_int_equal(drv_used(vm, 0)->idx, 2);
	/* EVENT_IDX: the device asks for the kick of the next buffer (avail_event
	 * = avail idx), or Linux's second hwrng read is never kicked. */
	{
		uint16_t avail_event;

		memcpy(&avail_event, &drv_used(vm, 0)->ring[DRV_QSZ], sizeof(avail_event));
		assert_int_equal(avail_event, drv_avail(vm, 0)->idx);
	}
}

static void test_event_idx_suppresses_irq(void **state)
{
	struct vm *vm = *state;
	struct drv_buf b = {DRV_DATA, 8, true};

	drv_start(vm, 0, 1);
	drv_add(vm, 0, 0, &b, 1);
	drv_kick(vm, 0);
	assert_int_equal(fake_vm_irqs(vm), 1);
	drv_avail(vm, 0)->ring[DRV_QSZ] = 10; /* used_event: not before used idx 11 */
	drv_add(vm, 0, 1, &b, 1);
	drv_kick(vm, 0);
	assert_int_equal(drv_used(vm, 0)->idx, 2);
	assert_int_equal(fake_vm_irqs(vm), 1);
	drv_avail(vm, 0)->ring[DRV_QSZ] = 2;
	drv_add(vm, 0, 2, &b, 1);
	drv_kick(vm, 0);
	assert_int_equal(fake_vm_irqs(vm), 2);
}

static void test_reset(void **state)
{
	struct vm *vm = *state;

	drv_start(vm, 0, 1);
	assert_true(mmio_rd(vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK);
	mmio_wr(vm, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_STATUS), 0);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* And it comes back up. */
	drv_start(vm, 0, 1);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

static void test_bad_accesses(void **state)
{
	struct vm *vm = *state;
	uint64_t v8 = 0x1234;
	uint16_t v2 = 0xffff;
	uint8_t v1 = 0xff;
	uint32_t v4 = 0xdeadbeef;

	/* Narrow and wide register reads read as 0; narrow writes do nothing. */
	vm->mmio_fn(vm->mmio_opaque, VIRTIO_MMIO_MAGIC_VALUE, &v2, 2, false);
	assert_int_equal(v2, 0);
	vm->mmio_fn(vm->mmio_opaque, VIRTIO_MMIO_MAGIC_VALUE, &v8, 8, false);
	assert_int_equal(v8, 0);
	vm->mmio_fn(vm->mmio_opaque, VIRTIO_MMIO_STATUS, &v1, 1, true);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_STATUS), 0);
	/* Misaligned, unknown, past the window, odd lengths. */
	vm->mmio_fn(vm->mmio_opaque, VIRTIO_MMIO_STATUS + 1, &v4, 4, false);
	assert_int_equal(v4, 0);
	v4 = 0xdeadbeef;
	vm->mmio_fn(vm->mmio_opaque, 0x0c0, &v4, 4, false);
	assert_int_equal(v4, 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff); /* no SHM region */
	v4 = 0xdeadbeef;
	vm->mmio_fn(vm->mmio_opaque, 0xffc, &v4, 4, false); /* config, out of range */
	assert_int_equal(v4, 0);
	v4 = 7;
	vm->mmio_fn(vm->mmio_opaque, 0xfff, &v4, 3, true);
	vm->mmio_fn(vm->mmio_opaque, 0x10, &v4, 0, false);
	vm->mmio_fn(vm->mmio_opaque, UINT64_MAX - 1, &v4, 4, false);
	assert_int_equal(v4, 0);
	/* Writes to read-only registers are ignored. */
	mmio_wr(vm, VIRTIO_MMIO_MAGIC_VALUE, 0);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	/* A queue that does not exist. */
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, 1000);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_NUM, 8);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_QUEUE_READY), 0);
	drv_kick(vm, 1000);
	drv_kick(vm, 0); /* before DRIVER_OK: ignored */
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_STATUS), 0);
}

static void expect_failed(struct vm *vm)
{
	assert_true(mmio_rd(vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(mmio_rd(vm, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

static void test_hostile_chain_fails_once(void **state)
{
	struct vm *vm = *state;
	struct drv_buf b[2] = {{DRV_DATA, 8, true}, {DRV_DATA, 8, true}};
	FILE *f;
	int saved;

	drv_start(vm, 0, 1);
	drv_add(vm, 0, 0, b, 2);
	drv_desc(vm, 0)[1].flags |= VRING_DESC_F_NEXT;
	drv_desc(vm, 0)[1].next = 0; /* 0 -> 1 -> 0 ... */
	log_lines_begin(&f, &saved);
	drv_kick(vm, 0);
	drv_kick(vm, 0);
	assert_int_equal(log_lines_end(f, saved), 1);
	expect_failed(vm);
	assert_int_equal(drv_used(vm, 0)->idx, 0);
	/* Reset recovers. */
	drv_start(vm, 0, 1);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

/* A guest failing the device in a loop gets at most 8 log lines in total. */
static void test_failure_log_is_bounded(void **state)
{
	struct vm *vm = *state;
	struct drv_buf b = {DRV_DATA, 8, false};
	FILE *f;
	int saved;

	log_lines_begin(&f, &saved);
	for (int i = 0; i < 20; i++) {
		drv_start(vm, 0, 1);
		drv_add(vm, 0, 0, &b, 1);
		drv_kick(vm, 0);
		expect_failed(vm);
	}
	assert_int_equal(log_lines_end(f, saved), 8);
}

static void test_rng_readable_buffer_fails(void **state)
{
	struct vm *vm = *state;
	struct drv_buf b = {DRV_DATA, 8, false};
	FILE *f;
	int saved;

	drv_start(vm, 0, 1);
	drv_add(vm, 0, 0, &b, 1);
	log_lines_begin(&f, &saved);
	drv_kick(vm, 0);
	assert_int_equal(log_lines_end(f, saved), 1);
	expect_failed(vm);
}

static void test_bad_queue_setup(void **state)
{
	struct vm *vm = *state;
	uint32_t st = drv_negotiate(vm, MODERN);
	FILE *f;
	int saved;

	assert_true(st & VIRTIO_CONFIG_S_FEATURES_OK);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_NUM, 128); /* above max 64 */
	log_lines_begin(&f, &saved);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(log_lines_end(f, saved), 1);
	expect_failed(vm);
	assert_int_equal(mmio_rd(vm, VIRTIO_MMIO_QUEUE_READY), 0);

	/* Rings outside RAM. */
	drv_negotiate(vm, MODERN);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_NUM, 8);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_READY, 1);
	expect_failed(vm);
}

static void test_driver_ok_without_features_ok(void **state)
{
	struct vm *vm = *state;

	mmio_wr(vm, VIRTIO_MMIO_STATUS,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	expect_failed(vm);
}

static void test_ioeventfd_and_irqfd(void **state)
{
	struct vm *vm = *state;
	struct drv_buf b = {DRV_DATA, 16, true};
	uint64_t one = 1;

	assert_int_equal(vm->nr_kick, 1);
	assert_true(vm->irqfd >= 0);
	drv_start(vm, 0, 1);
	drv_add(vm, 0, 0, &b, 1);
	/* KVM completes the kick in-kernel: the eventfd fires, the I/O thread runs. */
	assert_int_equal(write(vm->kick_fd[0], &one, sizeof(one)), sizeof(one));
	assert_int_equal(fake_vm_poll(vm), 1);
	assert_int_equal(drv_used(vm, 0)->idx, 1);
	assert_int_equal(fake_vm_irqs(vm), 1); /* through the irqfd */
	assert_int_equal(fake_vm_poll(vm), 0); /* eventfd drained */
}

static void test_slots_run_out(void **state)
{
	struct vm *vm = *state;
	int err = 0;

	while (created < VIRTIO_MMIO_SLOTS) {
		assert_int_equal(virtio_rng_create(vm), 0);
		created++;
	}
	err = virtio_rng_create(vm);
	assert_int_equal(err, -ENOSPC);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_features),
		T(test_queue_setup_and_request),
		T(test_event_idx_suppresses_irq),
		T(test_reset),
		T(test_bad_accesses),
		T(test_hostile_chain_fails_once),
		T(test_rng_readable_buffer_fails),
		T(test_failure_log_is_bounded),
		T(test_bad_queue_setup),
		T(test_driver_ok_without_features_ok),
		cmocka_unit_test_setup_teardown(test_ioeventfd_and_irqfd, setup_fds, teardown),
		T(test_slots_run_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
