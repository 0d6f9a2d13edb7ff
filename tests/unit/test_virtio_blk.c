// SPDX-License-Identifier: Apache-2.0
/* Unit tests of virtio-blk: requests against a temporary raw image via a fake vm;
 * snapshots: the device record, image identity refusals, the cow overlay file. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_blk.h>

#include "blk.h"
#include "cli.h"
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

/* A raw image in @path (a mkstemp template): sector s filled with byte s, then a partial sector. */
static void img_new(char *path, unsigned sectors)
{
	uint8_t sec[512];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	for (unsigned s = 0; s < sectors; s++) {
		memset(sec, (int)s, sizeof(sec));
		assert_int_equal(write(fd, sec, sizeof(sec)), sizeof(sec));
	}
	assert_int_equal(write(fd, "tail", 4), 4); /* a partial sector is not exposed */
	close(fd);
}

static int make(void **state, bool ro)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_blk_opts o = {.read_only = ro};

	strcpy(f->path, "/tmp/ember-blk-test-XXXXXX");
	img_new(f->path, SECTORS);
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
	uint16_t avail_event;
	uint32_t len;

	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, 2, 1024, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1025);
	assert_int_equal(f->vm->ram[BUF], 2);
	assert_int_equal(f->vm->ram[BUF + 511], 2);
	assert_int_equal(f->vm->ram[BUF + 512], 3);
	assert_int_equal(req(f->vm, VIRTIO_BLK_T_IN, SECTORS - 1, 512, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f->vm->ram[BUF], SECTORS - 1);
	/*
	 * With EVENT_IDX a driver kicks only when avail->idx passes avail_event:
	 * after its work the device must ask for the next kick (Linux otherwise
	 * never sends a second request).
	 */
	memcpy(&avail_event, &drv_used(f->vm, 0)->ring[DRV_QSZ], sizeof(avail_event));
	assert_int_equal(avail_event, drv_avail(f->vm, 0)->idx);
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

/* ---- snapshots ---- */

#define SNAP_SECTORS 129 /* 16 pages and one sector: the last page is partial */

struct snap {
	uint8_t rec[sizeof(struct virtio_snap) + VIRTIO_SNAP_DEV_MAX];
	int len;
	struct blk_snap b;
};

struct sfx {
	struct vm *vm;
	struct virtio_dev *d;
	char path[64], dir[64], ov[128];
	struct snap s;
};

static struct virtio_dev *last_dev(void)
{
	return virtio_mmio_dev(virtio_mmio_count() - 1);
}

/* What snapshot.c does for one disk: the overlay file (cow) into @dir, then the record. */
static void take(struct virtio_dev *d, const char *dir, struct snap *s)
{
	struct virtio_snap vs;

	pthread_mutex_lock(&d->lock);
	assert_int_equal(virtio_blk_save_overlay(d, dir), 0);
	s->len = virtio_mmio_save(d, s->rec, sizeof(s->rec));
	pthread_mutex_unlock(&d->lock);
	assert_int_equal(s->len, sizeof(vs) + sizeof(s->b));
	memcpy(&vs, s->rec, sizeof(vs));
	assert_int_equal(vs.dev_len, sizeof(s->b));
	assert_int_equal(blk_snap_parse(s->rec + sizeof(vs), vs.dev_len, &s->b), 0);
}

static void guest_write(struct vm *vm, uint64_t sector, uint32_t len, int byte)
{
	memset(vm->ram + BUF, byte, len);
	assert_int_equal(req(vm, VIRTIO_BLK_T_OUT, sector, len, NULL), VIRTIO_BLK_S_OK);
}

static uint8_t guest_read(struct vm *vm, uint64_t sector, uint32_t off)
{
	assert_int_equal(req(vm, VIRTIO_BLK_T_IN, sector, 512, NULL), VIRTIO_BLK_S_OK);
	return vm->ram[BUF + off];
}

/* A cow disk whose guest wrote pages 0, 1+2 (one request across them) and the partial page 16. */
static int setup_snap(void **state)
{
	struct sfx *f = calloc(1, sizeof(*f));
	struct virtio_blk_opts o = {.read_only = false};

	strcpy(f->path, "/tmp/ember-blk-snap-XXXXXX");
	img_new(f->path, SNAP_SECTORS);
	strcpy(f->dir, "/tmp/ember-blk-dir-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	slot = 0;
	f->vm = fake_vm_new(RAM, -ENOSYS, -ENOSYS);
	o.path = f->path;
	assert_int_equal(virtio_blk_create(f->vm, &o), 0);
	f->d = last_dev();
	drv_start(f->vm, 0, 1);
	guest_write(f->vm, 0, 512, 'A');
	guest_write(f->vm, 15, 1024, 'B');
	guest_write(f->vm, SNAP_SECTORS - 1, 512, 'C');
	take(f->d, f->dir, &f->s);
	snprintf(f->ov, sizeof(f->ov), "%s/disk%u", f->dir, f->d->slot);
	*state = f;
	return 0;
}

static int teardown_snap(void **state)
{
	struct sfx *f = *state;
	char p[160];

	unlink(f->ov);
	snprintf(p, sizeof(p), "%s/img", f->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ov", f->dir);
	unlink(p);
	assert_int_equal(rmdir(f->dir), 0);
	unlink(f->path);
	fake_vm_free(f->vm);
	free(f);
	return 0;
}

static void expect_refusal(int ret, int want, const char *err, const char *pat)
{
	assert_int_equal(ret, want);
	if (!strstr(err, pat))
		fail_msg("'%s' does not say '%s'", err, pat);
}

/* Copy @src to @dst with its mtime (cp -a), then write @n bytes of @patch at @off (if n). */
static void copy_patch(const char *src, const char *dst, off_t off, const void *patch, size_t n)
{
	static uint8_t buf[1 << 20];
	struct stat st;
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t len;

	assert_true(in >= 0 && out >= 0);
	assert_int_equal(fstat(in, &st), 0);
	len = read(in, buf, sizeof(buf));
	assert_int_equal(len, st.st_size);
	assert_int_equal(write(out, buf, (size_t)len), len);
	if (n)
		assert_int_equal(pwrite(out, patch, n, off), (ssize_t)n);
	assert_int_equal(futimens(out, (struct timespec[]){st.st_atim, st.st_mtim}), 0);
	close(in);
	close(out);
}

static void test_snap_cow_round_trip(void **state)
{
	struct sfx *f = *state;
	struct blk_overlay_hdr h;
	struct virtio_snap vs;
	struct virtio_dev *d2;
	struct snap s2;
	char err[512] = "", dir2[64];
	uint8_t page[BLK_PAGE];
	struct stat st;
	struct vm *vm2;
	int fd;

	/* The record: geometry, mode, the image's identity, the overlay's. */
	assert_int_equal(f->s.b.capacity, SNAP_SECTORS);
	assert_int_equal(f->s.b.read_only, 0);
	assert_int_equal(f->s.b.overlay_pages, 4);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(f->s.b.image_size, st.st_size);
	assert_int_equal(f->s.b.image_mtime_sec, st.st_mtim.tv_sec);
	assert_int_equal(f->s.b.image_mtime_nsec, st.st_mtim.tv_nsec);
	/* The overlay: header, bitmap, page i at data_off + i * 4 KiB, sparse. */
	assert_int_equal(stat(f->ov, &st), 0);
	assert_int_equal(st.st_size, BLK_PAGE + SNAP_SECTORS * 512);
	assert_true(st.st_blocks * 512 < st.st_size);
	fd = open(f->ov, O_RDONLY);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	assert_memory_equal(h.magic, "EMBRDISK", 8);
	assert_int_equal(h.pages, 4);
	assert_int_equal(h.data_off, BLK_PAGE);
	assert_int_equal(h.disk_bytes, SNAP_SECTORS * 512);
	assert_int_equal(h.hash, f->s.b.overlay_hash);
	assert_int_equal(pread(fd, page, 8, 64), 8);
	assert_int_equal(page[0], 0x07); /* pages 0, 1, 2 */
	assert_int_equal(page[2], 0x01); /* page 16 */
	assert_int_equal(pread(fd, page, BLK_PAGE, BLK_PAGE), BLK_PAGE);
	assert_int_equal(page[511], 'A');
	assert_int_equal(page[512], 1); /* the rest of page 0 is the image's */
	assert_int_equal(pread(fd, page, 512, BLK_PAGE + 16 * BLK_PAGE), 512);
	assert_int_equal(page[0], 'C');
	close(fd);

	/* A clone: the same RAM, a device on the same image, the overlay, the transport. */
	vm2 = fake_vm_new(RAM, -ENOSYS, -ENOSYS);
	memcpy(vm2->ram, f->vm->ram, RAM);
	assert_int_equal(blk_check_image(&f->s.b, f->path, false, err, sizeof(err)), 0);
	assert_int_equal(blk_check_overlay(&f->s.b, f->ov, err, sizeof(err)), 0);
	assert_int_equal(virtio_blk_create(vm2, &(struct virtio_blk_opts){.path = f->path}), 0);
	d2 = last_dev();
	assert_int_equal(virtio_blk_load_overlay(d2, &f->s.b, f->ov, err, sizeof(err)), 0);
	memcpy(&vs, f->s.rec, sizeof(vs));
	vs.slot = d2->slot; /* a real clone has the same slot; here it is the next one */
	memcpy(f->s.rec, &vs, sizeof(vs));
	assert_int_equal(virtio_mmio_restore(d2, f->s.rec, (size_t)f->s.len, err, sizeof(err)), 0);
	assert_int_equal(guest_read(vm2, 0, 0), 'A');
	assert_int_equal(guest_read(vm2, 1, 0), 1);
	assert_int_equal(guest_read(vm2, 15, 511), 'B');
	assert_int_equal(guest_read(vm2, 16, 511), 'B');
	assert_int_equal(guest_read(vm2, SNAP_SECTORS - 1, 0), 'C');
	assert_int_equal(guest_read(vm2, 40, 0), 40); /* a clean page: the image */
	/* A snapshot of the clone carries the same pages on. */
	snprintf(dir2, sizeof(dir2), "%s", f->dir);
	strcat(dir2, "/c");
	assert_int_equal(mkdir(dir2, 0700), 0);
	take(d2, dir2, &s2);
	assert_int_equal(s2.b.overlay_pages, 4);
	assert_true(s2.b.overlay_hash == f->s.b.overlay_hash);
	snprintf(err, sizeof(err), "%s/disk%u", dir2, d2->slot);
	unlink(err);
	rmdir(dir2);
	fake_vm_free(vm2);
}

static void test_snap_record_refusals(void **state)
{
	struct sfx *f = *state;
	struct blk_snap b;

	assert_int_equal(blk_snap_parse(&f->s.b, sizeof(b) - 1, &b), -EINVAL);
	b = f->s.b, b.flags = 1;
	assert_int_equal(blk_snap_parse(&b, sizeof(b), &b), -EINVAL);
	b = f->s.b, b.read_only = 2;
	assert_int_equal(blk_snap_parse(&b, sizeof(b), &b), -EINVAL);
	b = f->s.b, b.capacity++;
	assert_int_equal(blk_snap_parse(&b, sizeof(b), &b), -EINVAL);
	b = f->s.b, b.read_only = 1; /* a ro disk has no overlay */
	assert_int_equal(blk_snap_parse(&b, sizeof(b), &b), -EINVAL);
	b = f->s.b, b.overlay_pages = 18; /* more than the disk's 17 pages */
	assert_int_equal(blk_snap_parse(&b, sizeof(b), &b), -EINVAL);
	b = f->s.b, b.image_size = b.capacity = 0;
	assert_int_equal(blk_snap_parse(&b, sizeof(b), &b), -EINVAL);
}

static void test_snap_image_refusals(void **state)
{
	struct sfx *f = *state;
	char err[512] = "", img[160];
	struct timespec t[2];
	struct stat st;

	snprintf(img, sizeof(img), "%s/img", f->dir);
	expect_refusal(blk_check_image(&f->s.b, f->path, true, err, sizeof(err)), -EBADMSG, err,
		       "has it cow, restore asks for ro");
	expect_refusal(blk_check_image(&f->s.b, "/nonexistent.img", false, err, sizeof(err)),
		       -ENOENT, err, "/nonexistent.img");
	copy_patch(f->path, img, 0, NULL, 0); /* cp -a: the same image */
	assert_int_equal(blk_check_image(&f->s.b, img, false, err, sizeof(err)), 0);
	copy_patch(f->path, img, 10, "x", 1); /* other content, mtime put back */
	expect_refusal(blk_check_image(&f->s.b, img, false, err, sizeof(err)), -EBADMSG, err,
		       "content differs");
	copy_patch(f->path, img, SNAP_SECTORS * 512 + 3, "x", 1); /* the last byte */
	expect_refusal(blk_check_image(&f->s.b, img, false, err, sizeof(err)), -EBADMSG, err,
		       "content differs");
	copy_patch(f->path, img, 0, NULL, 0);
	assert_int_equal(stat(img, &st), 0);
	t[0] = st.st_atim, t[1] = st.st_mtim;
	t[1].tv_nsec = (t[1].tv_nsec + 1) % 1000000000;
	assert_int_equal(utimensat(AT_FDCWD, img, t, 0), 0);
	expect_refusal(blk_check_image(&f->s.b, img, false, err, sizeof(err)), -EBADMSG, err,
		       "modified after the snapshot");
	copy_patch(f->path, img, SNAP_SECTORS * 512 + 4, "more", 4);
	expect_refusal(blk_check_image(&f->s.b, img, false, err, sizeof(err)), -EBADMSG, err,
		       "the snapshot's image had 66052");
}

static void test_snap_overlay_refusals(void **state)
{
	struct sfx *f = *state;
	char err[512] = "", ov[160];
	uint64_t v = 3, bit;
	struct virtio_dev *d2;
	struct vm *vm2 = fake_vm_new(RAM, -ENOSYS, -ENOSYS);

	snprintf(ov, sizeof(ov), "%s/ov", f->dir);
	assert_int_equal(virtio_blk_create(vm2, &(struct virtio_blk_opts){.path = f->path}), 0);
	d2 = last_dev();
	expect_refusal(blk_check_overlay(&f->s.b, ov, err, sizeof(err)), -ENOENT, err, ov);
	copy_patch(f->ov, ov, 0, NULL, 0);
	assert_int_equal(truncate(ov, BLK_PAGE + SNAP_SECTORS * 512 - 4096), 0);
	expect_refusal(blk_check_overlay(&f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "(truncated)");
	expect_refusal(virtio_blk_load_overlay(d2, &f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "(truncated)");
	copy_patch(f->ov, ov, BLK_PAGE + SNAP_SECTORS * 512, "x", 1);
	expect_refusal(blk_check_overlay(&f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "size changed");
	copy_patch(f->ov, ov, 0, "X", 1);
	expect_refusal(blk_check_overlay(&f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "bad header");
	copy_patch(f->ov, ov, offsetof(struct blk_overlay_hdr, pages), &v, sizeof(v));
	expect_refusal(blk_check_overlay(&f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "does not belong to this snapshot");
	/* A written page changed: the header is fine, the pages' hash is not. */
	copy_patch(f->ov, ov, BLK_PAGE + 100, "y", 1);
	assert_int_equal(blk_check_overlay(&f->s.b, ov, err, sizeof(err)), 0);
	expect_refusal(virtio_blk_load_overlay(d2, &f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "content differs from the snapshot");
	/* A clean page marked written; a bit past the disk's last page. */
	bit = 0x07 | 1ull << 5 | 1ull << 16;
	copy_patch(f->ov, ov, 64, &bit, sizeof(bit));
	expect_refusal(virtio_blk_load_overlay(d2, &f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "content differs from the snapshot");
	bit = 0x07 | 1ull << 16 | 1ull << 40;
	copy_patch(f->ov, ov, 64, &bit, sizeof(bit));
	expect_refusal(virtio_blk_load_overlay(d2, &f->s.b, ov, err, sizeof(err)), -EBADMSG, err,
		       "content differs from the snapshot");
	/* The intact file loads. */
	copy_patch(f->ov, ov, 0, NULL, 0);
	assert_int_equal(virtio_blk_load_overlay(d2, &f->s.b, ov, err, sizeof(err)), 0);
	fake_vm_free(vm2);
}

/* A read-only disk: no overlay, and the mode must match. */
static void test_snap_read_only(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/ember-blk-dir-XXXXXX", err[512] = "";
	struct snap s;

	assert_non_null(mkdtemp(dir));
	take(last_dev(), dir, &s);
	assert_int_equal(rmdir(dir), 0); /* empty: nothing written for a ro disk */
	assert_int_equal(s.b.read_only, 1);
	assert_int_equal(s.b.capacity, SECTORS);
	assert_int_equal(s.b.overlay_pages, 0);
	assert_int_equal(blk_check_image(&s.b, f->path, true, err, sizeof(err)), 0);
	expect_refusal(blk_check_image(&s.b, f->path, false, err, sizeof(err)), -EBADMSG, err,
		       "has it ro, restore asks for cow");
}

/* restore takes --disk (one per disk of the snapshot, checked then). */
static void test_restore_cli_disk(void **state)
{
	char a0[] = "ember-vmm", a1[] = "restore", a2[] = "--snapshot-dir", a3[] = "/s",
	     a4[] = "--disk", a5[] = "root.img", a6[] = "--disk", a7[] = "data.img,cow",
	     a8[] = "--rng";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL};
	struct cli_opts o;
	char err[256] = "";

	(void)state;
	assert_int_equal(cli_parse(8, argv, &o, err, sizeof(err)), CLI_RUN);
	assert_int_equal(o.nr_disk, 2);
	assert_string_equal(o.disk[0].path, "root.img");
	assert_true(o.disk[0].read_only);
	assert_string_equal(o.disk[1].path, "data.img");
	assert_false(o.disk[1].read_only);
	assert_int_equal(cli_parse(9, argv, &o, err, sizeof(err)), CLI_USAGE);
}

#define RW(fn)	 cmocka_unit_test_setup_teardown(fn, setup_rw, teardown)
#define SNAP(fn) cmocka_unit_test_setup_teardown(fn, setup_snap, teardown_snap)

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
		SNAP(test_snap_cow_round_trip),
		SNAP(test_snap_record_refusals),
		SNAP(test_snap_image_refusals),
		SNAP(test_snap_overlay_refusals),
		cmocka_unit_test_setup_teardown(test_snap_read_only, setup_ro, teardown),
		cmocka_unit_test(test_restore_cli_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
