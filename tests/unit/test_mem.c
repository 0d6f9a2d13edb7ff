// SPDX-License-Identifier: Apache-2.0
/* Unit tests of gpa_ptr(): every boundary of the guest-physical layout. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mem.h"

/*
 * The layout only needs a base pointer: gpa_ptr() never dereferences, so a
 * fake base lets us describe a 5 GiB guest without allocating it.
 */
#define FAKE_BASE ((uint8_t *)0x100000000000ull)

static struct guest_mem small(void)
{
	struct guest_mem m;

	mem_layout(&m, FAKE_BASE, 64 << 20);
	return m;
}

static struct guest_mem big(void)
{
	struct guest_mem m;

	mem_layout(&m, FAKE_BASE, MEM_LOW_MAX + (2ull << 30));
	return m;
}

static void test_layout(void **state)
{
	struct guest_mem s = small(), b = big();

	(void)state;
	assert_int_equal(s.nr_regions, 1);
	assert_int_equal(s.region[0].size, 64 << 20);
	assert_int_equal(b.nr_regions, 2);
	assert_int_equal(b.region[0].size, MEM_LOW_MAX);
	assert_int_equal(b.region[1].gpa, MEM_HIGH_BASE);
	assert_int_equal(b.region[1].size, 2ull << 30);
	assert_ptr_equal(b.region[1].host, FAKE_BASE + MEM_LOW_MAX);
}

static void test_low_region_edges(void **state)
{
	struct guest_mem m = small();
	uint64_t end = 64 << 20;

	(void)state;
	assert_ptr_equal(gpa_ptr(&m, 0, 1), FAKE_BASE);
	assert_ptr_equal(gpa_ptr(&m, end - 1, 1), FAKE_BASE + end - 1);
	assert_ptr_equal(gpa_ptr(&m, 0, end), FAKE_BASE);
	assert_null(gpa_ptr(&m, 0, end + 1));
	assert_null(gpa_ptr(&m, end, 1));
	assert_null(gpa_ptr(&m, end - 1, 2));
}

static void test_len_zero(void **state)
{
	struct guest_mem m = small();

	(void)state;
	assert_ptr_equal(gpa_ptr(&m, 4096, 0), FAKE_BASE + 4096);
	assert_ptr_equal(gpa_ptr(&m, (64 << 20) - 1, 0), FAKE_BASE + (64 << 20) - 1);
	assert_null(gpa_ptr(&m, 64 << 20, 0));
	assert_null(gpa_ptr(&m, UINT64_MAX, 0));
}

static void test_huge_and_wrapping(void **state)
{
	struct guest_mem m = big();

	(void)state;
	assert_null(gpa_ptr(&m, 0, UINT64_MAX));
	assert_null(gpa_ptr(&m, 16, UINT64_MAX - 8)); /* gpa + len wraps to 8 */
	assert_null(gpa_ptr(&m, MEM_HIGH_BASE, UINT64_MAX));
	assert_null(gpa_ptr(&m, UINT64_MAX, 1));
	assert_null(gpa_ptr(&m, UINT64_MAX - 4095, 4096));
	assert_null(gpa_ptr(&m, MEM_HIGH_BASE + 4096, (uint64_t)-4096)); /* wraps to high base */
}

static void test_gap_and_high(void **state)
{
	struct guest_mem m = big();
	uint64_t high_end = MEM_HIGH_BASE + (2ull << 30);

	(void)state;
	assert_ptr_equal(gpa_ptr(&m, MEM_LOW_MAX - 1, 1), FAKE_BASE + MEM_LOW_MAX - 1);
	assert_null(gpa_ptr(&m, MEM_LOW_MAX - 1, 2)); /* into the gap */
	assert_null(gpa_ptr(&m, MEM_LOW_MAX, 1));     /* the gap itself */
	assert_null(gpa_ptr(&m, 0xd0000000ull, 4));   /* virtio-mmio */
	assert_null(gpa_ptr(&m, MEM_HIGH_BASE - 1, 1));
	assert_null(gpa_ptr(&m, MEM_HIGH_BASE - 1, 2)); /* straddles into high */
	assert_null(gpa_ptr(&m, MEM_LOW_MAX - 8, MEM_HIGH_BASE - MEM_LOW_MAX + 16));
	assert_ptr_equal(gpa_ptr(&m, MEM_HIGH_BASE, 1), FAKE_BASE + MEM_LOW_MAX);
	assert_ptr_equal(gpa_ptr(&m, high_end - 1, 1), FAKE_BASE + MEM_LOW_MAX + (2ull << 30) - 1);
	assert_null(gpa_ptr(&m, high_end, 1));
	assert_null(gpa_ptr(&m, high_end - 1, 2));
}

static void test_empty(void **state)
{
	struct guest_mem m = {0};

	(void)state;
	assert_null(gpa_ptr(&m, 0, 0));
	assert_null(gpa_ptr(&m, 0, 1));
	mem_layout(&m, FAKE_BASE, 0);
	assert_null(gpa_ptr(&m, 0, 1));
	assert_null(gpa_ptr(&m, 0, 0));
}

static void test_read_write(void **state)
{
	uint8_t *buf = calloc(1, 8192), out[4] = {0};
	struct guest_mem m;

	(void)state;
	mem_layout(&m, buf, 8192);
	assert_int_equal(gpa_write(&m, 8188, "abcd", 4), 0);
	assert_memory_equal(buf + 8188, "abcd", 4);
	assert_int_equal(gpa_read(&m, 8188, out, 4), 0);
	assert_memory_equal(out, "abcd", 4);
	assert_int_equal(gpa_write(&m, 8189, "abcd", 4), -EFAULT);
	assert_int_equal(gpa_read(&m, 8192, out, 1), -EFAULT);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),	     cmocka_unit_test(test_low_region_edges),
		cmocka_unit_test(test_len_zero),     cmocka_unit_test(test_huge_and_wrapping),
		cmocka_unit_test(test_gap_and_high), cmocka_unit_test(test_empty),
		cmocka_unit_test(test_read_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
