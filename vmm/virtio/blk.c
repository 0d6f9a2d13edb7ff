// SPDX-License-Identifier: Apache-2.0
/* virtio-blk on a raw image, read-only or copy-on-write through a private mapping,
 * and its snapshot state: image identity, dirty pages, the cow overlay file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "../cli.h"
#include "../fileio.h"
#include "../log.h"
#include "../snapshot.h"
#include "blk.h"
#include "kinds.h"
#include "virtio.h"

#define BLK_QUEUE_MAX 128
#define BLK_SIZE_MAX  (1u << 20)
#define SECTOR	      512ull

struct blk {
	uint8_t *map;	  /* MAP_PRIVATE view of the image: writes stay here */
	uint64_t sectors; /* capacity */
	bool read_only;
	int fd;		 /* the image, kept for its identity at snapshot time */
	uint64_t *dirty; /* cow: one bit per BLK_PAGE the guest wrote (for snapshots) */
	uint64_t npages; /* pages of the disk, the last one possibly partial */
	char id[VIRTIO_BLK_ID_BYTES];
};

static void mark_dirty(struct blk *b, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	for (uint64_t p = off / BLK_PAGE; p <= (off + len - 1) / BLK_PAGE; p++)
		b->dirty[p / 64] |= 1ull << (p % 64);
}

/* Sector range check written so that nothing can overflow. */
static bool in_range(const struct blk *b, uint64_t sector, uint64_t len)
{
	return len % SECTOR == 0 && sector <= b->sectors && len / SECTOR <= b->sectors - sector;
}

/* One request; returns the status byte and sets *written (data bytes to guest). */
static uint8_t do_request(struct blk *b, const struct virtq_chain *c,
			  const struct virtio_blk_outhdr *h, uint32_t *written)
{
	const struct iovec *in = &c->iov[c->n_out];
	uint64_t in_data = c->in_len - 1, out_data = c->out_len - sizeof(*h);

	*written = 0;
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
		if (!in_range(b, h->sector, in_data))
			return VIRTIO_BLK_S_IOERR;
		*written = buf_to_iov(in, c->n_in, 0, b->map + h->sector * SECTOR, in_data);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		if (b->read_only || !in_range(b, h->sector, out_data))
			return VIRTIO_BLK_S_IOERR;
		iov_to_buf(c->iov, c->n_out, sizeof(*h), b->map + h->sector * SECTOR, out_data);
		mark_dirty(b, h->sector * SECTOR, out_data);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		/* Writes never leave the private mapping: nothing to make durable. */
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		*written = buf_to_iov(in, c->n_in, 0, b->id,
				      in_data < sizeof(b->id) ? in_data : sizeof(b->id));
		return VIRTIO_BLK_S_OK;
	}
	return VIRTIO_BLK_S_UNSUPP;
}

/* One request; false if it broke the protocol (the device has failed). */
static bool serve_one(struct virtio_dev *d, struct virtq *vq, const struct virtq_chain *c)
{
	struct virtio_blk_outhdr h;
	uint32_t written;
	uint8_t status;

	/* Header device-readable, status byte device-writable (spec 5.2.6). */
	if (c->out_len < sizeof(h) || c->in_len < 1) {
		virtio_dev_fail(d, "request without readable header or writable status");
		return false;
	}
	iov_to_buf(c->iov, c->n_out, 0, &h, sizeof(h));
	status = do_request(d->priv, c, &h, &written);
	buf_to_iov(&c->iov[c->n_out], c->n_in, c->in_len - 1, &status, 1);
	virtq_push(vq, c->head, written + 1);
	return true;
}

/*
 * Serve every queued request, then ask for the next kick. Asking is what
 * makes the driver kick again: with EVENT_IDX it kicks only when avail->idx
 * passes our avail_event, so a device that never moves it hears one request.
 */
static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct virtq *vq = &d->vq[q];
	struct virtq_chain c;
	int r;

	do {
		virtq_disable_notify(vq); /* no kicks while we drain */
		while ((r = virtq_pop(vq, &c)) > 0)
			if (!serve_one(d, vq, &c))
				return;
		if (r < 0) {
			virtio_dev_fail(d, "queue %u: %s", q, virtq_strerror(r));
			return;
		}
	} while (virtq_enable_notify(vq));
	virtio_signal_used(d, q);
}

static int blk_activate(struct virtio_dev *d)
{
	/* Requests queued before DRIVER_OK were not kicked to us: look now. */
	blk_notify(d, 0);
	return 0;
}

/* ---- snapshots: the device record ---- */

/* Size, mtime and both end pages of the image file (not the mapping: cow writes are in that). */
static int image_identity(int fd, struct blk_snap *s)
{
	uint8_t page[BLK_ID_BYTES];
	struct stat st;
	uint64_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	s->image_size = (uint64_t)st.st_size;
	s->image_mtime_sec = st.st_mtim.tv_sec;
	s->image_mtime_nsec = st.st_mtim.tv_nsec;
	n = s->image_size < BLK_ID_BYTES ? s->image_size : BLK_ID_BYTES;
	s->image_hash = FNV1A64_INIT;
	for (int end = 0; end < 2; end++) {
		if (pread(fd, page, n, end ? (off_t)(s->image_size - n) : 0) != (ssize_t)n)
			return -EIO;
		s->image_hash = fnv1a64(s->image_hash, page, n);
	}
	return 0;
}

/* Where a run of pages ending before page @j ends on a disk of @disk_bytes (last page partial). */
static uint64_t run_end(uint64_t disk_bytes, uint64_t j)
{
	return j * BLK_PAGE < disk_bytes ? j * BLK_PAGE : disk_bytes;
}

/* Next run of set bits at or after *@i: [*@i, *@j). Returns false when there is none. */
static bool next_run(const uint64_t *bm, uint64_t npages, uint64_t *i, uint64_t *j)
{
	uint64_t p = *i;

	while (p < npages && !(bm[p / 64] >> (p % 64)))
		p = (p | 63) + 1; /* rest of this word is clear */
	while (p < npages && !(bm[p / 64] & (1ull << (p % 64))))
		p++;
	if (p >= npages)
		return false;
	for (*i = p; p < npages && (bm[p / 64] & (1ull << (p % 64))); p++)
		;
	*j = p;
	return true;
}

/* The overlay's identity: FNV-1a of the bitmap, then the dirty pages in order. */
static uint64_t overlay_hash(const struct blk *b, uint64_t *pages)
{
	uint64_t disk = b->sectors * SECTOR, i = 0, j, end;
	uint64_t h = fnv1a64(FNV1A64_INIT, b->dirty, (b->npages + 63) / 64 * 8);

	*pages = 0;
	for (; next_run(b->dirty, b->npages, &i, &j); i = j) {
		end = run_end(disk, j);
		h = fnv1a64(h, b->map + i * BLK_PAGE, end - i * BLK_PAGE);
		*pages += j - i;
	}
	return h;
}

static int blk_save(struct virtio_dev *d, void *buf, size_t len)
{
	struct blk *b = d->priv;
	struct blk_snap s = {.capacity = b->sectors, .read_only = b->read_only};
	int err;

	if (len < sizeof(s))
		return -ENOSPC;
	err = image_identity(b->fd, &s);
	if (err)
		return err;
	if (!b->read_only)
		s.overlay_hash = overlay_hash(b, &s.overlay_pages);
	memcpy(buf, &s, sizeof(s));
	return sizeof(s);
}

/* The image was checked by restore before the device was created: only a consistency check. */
static int blk_restore(struct virtio_dev *d, const void *buf, size_t len)
{
	struct blk *b = d->priv;
	struct blk_snap s;

	if (blk_snap_parse(buf, len, &s) || s.capacity != b->sectors ||
	    !s.read_only != !b->read_only)
		return -EINVAL;
	return 0;
}

int blk_snap_parse(const void *buf, size_t len, struct blk_snap *s)
{
	if (len != sizeof(*s))
		return -EINVAL;
	memcpy(s, buf, sizeof(*s));
	if (s->flags || s->read_only > 1 || !s->capacity || s->image_size / SECTOR != s->capacity ||
	    s->image_size > INT64_MAX)
		return -EINVAL;
	if (s->read_only ? s->overlay_pages || s->overlay_hash
			 : s->overlay_pages > (s->capacity * SECTOR + BLK_PAGE - 1) / BLK_PAGE)
		return -EINVAL;
	return 0;
}

static struct virtio_dev_ops blk_ops_rw = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		    (1ull << VIRTIO_BLK_F_FLUSH),
	.nr_queues = 1,
	.queue_max = BLK_QUEUE_MAX,
	.config_len = offsetof(struct virtio_blk_config, geometry),
	.notify = blk_notify,
	.activate = blk_activate,
	.save = blk_save,
	.restore = blk_restore,
};

static struct virtio_dev_ops blk_ops_ro;

static void set_error(const struct virtio_blk_opts *o, const char *what, int err)
{
	if (o->err && o->errlen)
		snprintf(o->err, o->errlen, "%s %s: %s", what, o->path, strerror(-err));
}

/* Map the image privately: the guest's writes get copied pages, never the file. */
static int blk_map(struct blk *b, const struct virtio_blk_opts *o)
{
	struct stat st;
	int fd, err = 0;

	fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	b->sectors = st.st_size / SECTOR;
	if (!S_ISREG(st.st_mode) || b->sectors == 0) {
		err = -EINVAL;
		goto out;
	}
	b->map = mmap(NULL, b->sectors * SECTOR, PROT_READ | (o->read_only ? 0 : PROT_WRITE),
		      MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		err = -errno;
	}
out:
	if (err)
		close(fd);
	else
		b->fd = fd; /* snapshots read the image's identity through it */
	return err;
}

/* Copy-on-write disks track the pages the guest wrote, for the snapshot overlay. */
static int blk_track(struct blk *b)
{
	b->npages = (b->sectors * SECTOR + BLK_PAGE - 1) / BLK_PAGE;
	if (b->read_only)
		return 0;
	b->dirty = calloc((b->npages + 63) / 64, sizeof(*b->dirty));
	return b->dirty ? 0 : -ENOMEM;
}

int virtio_blk_create(struct vm *vm, const struct virtio_blk_opts *o)
{
	struct virtio_blk_config cfg = {0};
	struct virtio_dev *d = calloc(1, sizeof(*d));
	struct blk *b = calloc(1, sizeof(*b));
	int err = -ENOMEM;

	if (b)
		b->fd = -1;
	if (!d || !b)
		goto fail;
	b->read_only = o->read_only;
	err = blk_map(b, o);
	if (!err)
		err = blk_track(b);
	if (err) {
		set_error(o, "cannot map disk image", err);
		goto fail;
	}
	blk_ops_ro = blk_ops_rw;
	blk_ops_ro.features |= 1ull << VIRTIO_BLK_F_RO;
	d->ops = o->read_only ? &blk_ops_ro : &blk_ops_rw;
	d->vm = vm;
	d->priv = b;
	cfg.capacity = b->sectors;
	cfg.size_max = BLK_SIZE_MAX;
	cfg.seg_max = BLK_QUEUE_MAX - 2; /* header and status take two */
	memcpy(d->config, &cfg, d->ops->config_len);
	err = virtio_mmio_add(d);
	if (err) {
		set_error(o, "cannot add virtio-blk for", err);
		goto fail;
	}
	snprintf(b->id, sizeof(b->id), "ember%u", d->slot);
	return 0;
fail:
	if (b && b->map)
		munmap(b->map, b->sectors * SECTOR);
	if (b && b->fd >= 0)
		close(b->fd);
	if (b)
		free(b->dirty);
	free(b);
	free(d);
	return err;
}

/* ---- snapshots: the image check and the overlay file of a copy-on-write disk ---- */

int blk_check_image(const struct blk_snap *s, const char *path, bool read_only, char *err,
		    size_t errlen)
{
	struct blk_snap now = {0};
	int fd, ret;

	if (!read_only != !s->read_only) {
		snprintf(err, errlen, "disk %s: the snapshot has it %s, restore asks for %s", path,
			 s->read_only ? "ro" : "cow", read_only ? "ro" : "cow");
		return -EBADMSG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ret = fd < 0 ? -errno : image_identity(fd, &now);
	if (fd >= 0)
		close(fd);
	if (ret) {
		snprintf(err, errlen, "disk image %s: %s", path, strerror(-ret));
		return ret;
	}
	if (now.image_size != s->image_size)
		snprintf(err, errlen, "disk image %s: %llu bytes, the snapshot's image had %llu",
			 path, (unsigned long long)now.image_size,
			 (unsigned long long)s->image_size);
	else if (now.image_mtime_sec != s->image_mtime_sec ||
		 now.image_mtime_nsec != s->image_mtime_nsec)
		snprintf(err, errlen,
			 "disk image %s was modified after the snapshot (mtime differs)", path);
	else if (now.image_hash != s->image_hash)
		snprintf(err, errlen, "disk image %s is not the snapshot's image (content differs)",
			 path);
	else
		return 0;
	return -EBADMSG;
}

/* The header of every overlay of a @disk_bytes disk; pages and hash are the caller's. */
static void overlay_hdr(struct blk_overlay_hdr *h, uint64_t disk_bytes)
{
	uint64_t npages = (disk_bytes + BLK_PAGE - 1) / BLK_PAGE;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, BLK_OVERLAY_MAGIC, sizeof(h->magic));
	h->version = BLK_OVERLAY_VERSION;
	h->page_size = BLK_PAGE;
	h->disk_bytes = disk_bytes;
	h->bitmap_off = sizeof(*h);
	h->bitmap_len = (npages + 63) / 64 * 8;
	h->data_off = (sizeof(*h) + h->bitmap_len + BLK_PAGE - 1) / BLK_PAGE * BLK_PAGE;
}

/* Disk page i at data_off + i * BLK_PAGE, clean pages left as holes. */
static int write_overlay(struct blk *b, int fd)
{
	uint64_t disk = b->sectors * SECTOR, i = 0, j, end;
	struct blk_overlay_hdr h;
	int err;

	overlay_hdr(&h, disk);
	h.hash = overlay_hash(b, &h.pages);
	if (ftruncate(fd, (off_t)(h.data_off + disk)) < 0)
		return -errno;
	err = file_rw_all(fd, true, (uint8_t *)b->dirty, h.bitmap_len, h.bitmap_off);
	for (; !err && next_run(b->dirty, b->npages, &i, &j); i = j) {
		end = run_end(disk, j);
		err = file_rw_all(fd, true, b->map + i * BLK_PAGE, end - i * BLK_PAGE,
				  h.data_off + i * BLK_PAGE);
	}
	return err ? err : file_rw_all(fd, true, (uint8_t *)&h, sizeof(h), 0);
}

static int fill_overlay(int fd, void *arg)
{
	return write_overlay(arg, fd);
}

int virtio_blk_save_overlay(struct virtio_dev *d, const char *dir)
{
	struct blk *b = d->priv;
	char path[4096];

	if (b->read_only)
		return 0;
	snprintf(path, sizeof(path), "%s/" BLK_OVERLAY_NAME, dir, d->slot);
	return file_replace(path, 0600, true, fill_overlay, b);
}

/* Open overlay @path of cow disk @s: size first (derived from @s), then the header. */
static int overlay_open(const struct blk_snap *s, const char *path, struct blk_overlay_hdr *h,
			int *fdp, char *err, size_t errlen)
{
	struct blk_overlay_hdr want;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = -EBADMSG;

	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "disk overlay %s: %s", path, strerror(-ret));
		goto fail;
	}
	overlay_hdr(&want, s->capacity * SECTOR);
	want.pages = s->overlay_pages;
	want.hash = s->overlay_hash;
	if ((uint64_t)st.st_size != want.data_off + want.disk_bytes)
		snprintf(err, errlen, "disk overlay %s: %lld bytes, the snapshot has %llu (%s)",
			 path, (long long)st.st_size,
			 (unsigned long long)(want.data_off + want.disk_bytes),
			 (uint64_t)st.st_size < want.data_off + want.disk_bytes ? "truncated"
										: "size changed");
	else if (pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h) ||
		 memcmp(h->magic, want.magic, sizeof(h->magic)) || h->version != want.version)
		snprintf(err, errlen, "disk overlay %s: not an ember disk overlay (bad header)",
			 path);
	else if (memcmp(h, &want, sizeof(want)))
		snprintf(err, errlen, "disk overlay %s does not belong to this snapshot", path);
	else {
		*fdp = fd;
		return 0;
	}
fail:
	if (fd >= 0)
		close(fd);
	return ret;
}

int blk_check_overlay(const struct blk_snap *s, const char *path, char *err, size_t errlen)
{
	struct blk_overlay_hdr h;
	int fd, ret = overlay_open(s, path, &h, &fd, err, errlen);

	if (!ret)
		close(fd);
	return ret;
}

/* Reads straight into the private mapping: each page becomes this clone's own copy. */
static int load_pages(struct blk *b, int fd, const struct blk_overlay_hdr *h)
{
	uint64_t disk = b->sectors * SECTOR, i = 0, j, end;
	int ret = file_rw_all(fd, false, (uint8_t *)b->dirty, h->bitmap_len, h->bitmap_off);

	/* Bits past the last page would index beyond the disk. */
	if (!ret && b->npages % 64 && b->dirty[b->npages / 64] >> (b->npages % 64))
		return -EBADMSG;
	for (; !ret && next_run(b->dirty, b->npages, &i, &j); i = j) {
		end = run_end(disk, j);
		ret = file_rw_all(fd, false, b->map + i * BLK_PAGE, end - i * BLK_PAGE,
				  h->data_off + i * BLK_PAGE);
	}
	return ret;
}

int virtio_blk_load_overlay(struct virtio_dev *d, const struct blk_snap *s, const char *path,
			    char *err, size_t errlen)
{
	struct blk *b = d->priv;
	struct blk_overlay_hdr h;
	uint64_t pages;
	int fd, ret;

	if (b->read_only || s->read_only || s->capacity != b->sectors) {
		snprintf(err, errlen, "disk overlay %s: the device is not this cow disk", path);
		return -EINVAL;
	}
	ret = overlay_open(s, path, &h, &fd, err, errlen);
	if (ret)
		return ret;
	ret = load_pages(b, fd, &h);
	close(fd);
	if (!ret && (overlay_hash(b, &pages) != s->overlay_hash || pages != s->overlay_pages))
		ret = -EBADMSG;
	if (ret)
		snprintf(err, errlen, "disk overlay %s: %s", path,
			 ret == -EBADMSG ? "content differs from the snapshot (corrupted)"
					 : strerror(-ret));
	return ret;
}

/* ---- the blk kind: one device per --disk (kinds.h) ---- */

static unsigned blk_count(const struct cli_opts *o)
{
	return o->nr_disk;
}

/* The nth --disk; @err gets the reason, prefixed with the option. */
static int blk_create_on(struct vm *vm, const struct cli_disk *c, char *err, size_t errlen)
{
	char why[512] = "";
	struct virtio_blk_opts b = {
		.path = c->path, .read_only = c->read_only, .err = why, .errlen = sizeof(why)};
	int ret = virtio_blk_create(vm, &b);

	if (ret)
		snprintf(err, errlen, "--disk %s: %s", c->path, why[0] ? why : strerror(-ret));
	return ret;
}

static int blk_kind_create(struct vm *vm, const struct cli_opts *o, unsigned nth)
{
	char err[1024];
	int ret = blk_create_on(vm, &o->disk[nth], err, sizeof(err));

	if (ret)
		pr_err("%s", err);
	return ret;
}

static int blk_record(const struct virtio_restore_arg *a, struct blk_snap *b)
{
	if (blk_snap_parse(a->dev, a->dev_len, b)) {
		snprintf(a->err, a->errlen, "virtio-blk record of slot %u is malformed",
			 a->rec->slot);
		return -EBADMSG;
	}
	return 0;
}

/* The nth --disk must be the image the disk was snapshotted with, in the same mode; a cow
 * disk's overlay must be there, whole. */
static int blk_restore_check(const struct cli_opts *o, const struct virtio_restore_arg *a)
{
	const struct cli_disk *c = &o->disk[a->nth];
	struct blk_snap b;
	char path[4096];
	int ret = blk_record(a, &b);

	if (!ret)
		ret = blk_check_image(&b, c->path, c->read_only, a->err, a->errlen);
	if (!ret && !b.read_only) {
		snprintf(path, sizeof(path), "%s/" BLK_OVERLAY_NAME, a->snapshot_dir, a->rec->slot);
		ret = blk_check_overlay(&b, path, a->err, a->errlen);
	}
	return ret;
}

/* A disk on the same image and mode; a cow disk gets the snapshot's written pages back. */
static int blk_restore_create(struct vm *vm, const struct cli_opts *o,
			      const struct virtio_restore_arg *a)
{
	const struct cli_disk *c = &o->disk[a->nth];
	struct blk_snap b;
	char path[4096];
	int ret = blk_record(a, &b);

	if (!ret)
		ret = blk_create_on(vm, c, a->err, a->errlen);
	if (ret || c->read_only)
		return ret;
	snprintf(path, sizeof(path), "%s/" BLK_OVERLAY_NAME, a->snapshot_dir, a->rec->slot);
	return virtio_blk_load_overlay(virtio_mmio_dev(a->rec->slot), &b, path, a->err, a->errlen);
}

const struct virtio_kind virtio_blk_kind = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.option = "--disk",
	.restore_hint = ", in the same order and mode",
	.count = blk_count,
	.create = blk_kind_create,
	.restore_check = blk_restore_check,
	.restore_create = blk_restore_create,
	.save_files = virtio_blk_save_overlay,
};
