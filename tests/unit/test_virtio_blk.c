// SPDX-License-Identifier: Apache-2.0
/* Unit tests of virtio-blk: requests against a temporary raw image via a fake vm. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_blk.h>

#include "virtio.h"
#include "virtio_drv.h"

#define RAM	(4u << 20)
#define SECTORS 128
#define HDR	DRV_DATA
#define BUF	(DRV_DATA + 0x1000)
#define STATUS	(DRV_DATA + 0x3000)

static uint16_t slot; /* next free descriptor */

struct fx {
	struct vm *vm;
	char path[64];
};

static int make(void **state, bool ro)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_blk_opts o = {.read_only = ro};
	uint8_t sec[512];
	int fd;

	strcpy(f->path, "/tmp/ember-blk-test-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (int s = 0; s < SECTORS; s++) {
		memset(sec, s, sizeof(sec));
		assert_int_equal(write(fd, sec, sizeof(sec)), sizeof(sec));
	}
	assert_int_equal(write(fd, "tail", 4), 4); /* a partial sector is not exposed */
	close(fd);
	slot = 0;
	f->vm = fake_vm_new(RAM, -ENOSYS, -ENOSYS);
	o.path = f->path;
	assert_int_equal(virtio_blk_create(f->vm, &o), 0);
	drv_start(f->vm, 0, 1);
	*state = f;
	return 0;
}

static int setup_rw(void **state)
{
	return make(state, false);
}

static int setup_ro(void **state)
{
	return make(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	fake_vm_free(f->vm);
	free(f);
	return 0;
}

/* Submit one request (header, @len data bytes at BUF, status); return status. */
static uint8_t req(struct vm *vm, uint32_t type, uint64_t sector, uint32_t len, uint32_t *used_len)
{
	struct virtio_blk_outhdr h = {.type = type, .sector = sector};
	bool in = type != VIRTIO_BLK_T_OUT;
	struct drv_buf b[3] = {{HDR, sizeof(h), false}, {BUF, len, in}, {STATUS, 1, true}};
	uint16_t idx = drv_used(vm, 0)->idx;

	memcpy(vm->ram + HDR, &h, sizeof(h));
	vm->ram[STATUS] = 0xee;
	if (len)
		drv_add(vm, 0, slot, b, 3);
	else
		drv_add(vm, 0, slot, (struct drv_buf[]){b[0], b[2]}, 2);
	slot = (slot + 3) % DRV_QSZ;
	drv_kick(vm, 0);
	assert_int_equal(drv_used(vm, 0)->idx, (uint16_t)(idx + 1));
	if (used_len)
		*used_len = drv_used(vm, 0)->ring[idx % DRV_QSZ].len;
	return vm->ram[STATUS];
}

static void test_config(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mmio_rd(f->vm, VIRTIO_MMIO_CONFIG + 0), SECTORS);
	assert_int_equal(mmio_rd(f->vm, VIRTIO_MMIO_CONFIG + 4), 0);
	assert_int_equal(mmio_rd(f->vm, VIRTIO_MMIO_CONFIG + 8), 1u << 20); /* size_max */
	assert_int_equal(mmio_rd(f->vm, VIRTIO_MMIO_CONFIG + 12), 126);	    /* seg_max */
	mmio_wr(f->vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_false(mmio_rd(f->vm, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
}

static void test_read(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, 2, 1024, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1025);
	assert_int_equal(f->vm->ram[BUF], 2);
	assert_int_equal(f->vm->ram[BUF + 511], 2);
	assert_int_equal(f->vm->ram[BUF + 512], 3);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, SECTORS - 1, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f->vm->ram[BUF], SECTORS - 1);
}

static void test_write_is_private(void **state)
{
	struct fx *f = *state;
	uint8_t first;
	uint32_t len;
	int fd;

	memset(f->vm->ram + BUF, 'X', 512);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_OUT, 0, 512, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1);
	memset(f->vm->ram + BUF, 0, 512);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, 0, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f->vm->ram[BUF + 100], 'X');
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_FLUSH, 0, 0, &len), VIRTIO_BLK_S_OK);
	/* The file never sees it. */
	fd = open(f->path, O_RDONLY);
	assert_int_equal(pread(fd, &first, 1, 100), 1);
	close(fd);
	assert_int_equal(first, 0);
}

static void test_out_of_range(void **state)
{
	struct fx *f = *state;

	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, SECTORS, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, UINT64_MAX, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, 1ull << 55, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_OUT, UINT64_MAX / 512, 512, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, 0, 100, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_get_id_and_unsupported(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	assert_int_equal(req(f->vm, VIRTIO_BLK_T_GET_ID, 0, 20, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 21);
	assert_memory_equal(f->vm->ram + BUF, "ember", 5);
	assert_int_equal(req(f->vm, 99, 0, 512, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_false(mmio_rd(f->vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_read_only(void **state)
{
	struct fx *f = *state;

	mmio_wr(f->vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_true(mmio_rd(f->vm, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_OUT, 0, 512, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, 5, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f->vm->ram[BUF], 5);
}

static void test_header_writable_fails(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[2] = {{HDR, 16, true}, {STATUS, 1, true}};

	drv_add(f->vm, 0, 0, b, 2);
	drv_kick(f->vm, 0);
	assert_true(mmio_rd(f->vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(drv_used(f->vm, 0)->idx, 0);
}

static void test_no_status_fails(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[2] = {{HDR, 16, false}, {BUF, 512, false}};

	drv_add(f->vm, 0, 0, b, 2);
	drv_kick(f->vm, 0);
	assert_true(mmio_rd(f->vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_create_errors(void **state)
{
	struct vm *vm = fake_vm_new(RAM, 0, 0);
	char err[128] = "";
	struct virtio_blk_opts o = {
		.path = "/nonexistent/disk.img", .err = err, .errlen = sizeof(err)};

	(void)state;
	assert_int_equal(virtio_blk_create(vm, &o), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/disk.img"));
	o.path = "/dev/null"; /* not a regular file */
	assert_int_equal(virtio_blk_create(vm, &o), -EINVAL);
	fake_vm_free(vm);
}

#define RW(fn) cmocka_unit_test_setup_teardown(fn, setup_rw, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RW(test_config),
		RW(test_read),
		RW(test_write_is_private),
		RW(test_out_of_range),
		RW(test_get_id_and_unsupported),
		cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
		RW(test_header_writable_fails),
		RW(test_no_status_fails),
		cmocka_unit_test(test_create_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
