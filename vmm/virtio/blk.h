/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk snapshots: the device record, the image identity check, the cow overlay file. */
#ifndef EMBER_VMM_VIRTIO_BLK_H
#define EMBER_VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

/* Unit of dirty tracking and of the overlay file. */
#define BLK_PAGE 4096u
/* Bytes hashed at each end of the image for its identity (as for the memory file). */
#define BLK_ID_BYTES 4096u
/* DIR/disk<slot>: the pages a copy-on-write disk's guest wrote (docs/snapshot-format.md). */
#define BLK_OVERLAY_NAME    "disk%u"
#define BLK_OVERLAY_MAGIC   "EMBRDISK"
#define BLK_OVERLAY_VERSION 1u

/* The device bytes of a virtio-blk SF_VIRTIO record (dev_len = 64). */
struct blk_snap {
	uint64_t capacity;  /* sectors = image_size / 512 */
	uint32_t read_only; /* 1: ro, 0: cow */
	uint32_t flags;	    /* 0 */
	/* The image at snapshot time: a clone must map a file with the same content. */
	uint64_t image_size;
	int64_t image_mtime_sec;
	int64_t image_mtime_nsec;
	uint64_t image_hash; /* FNV-1a 64 of the first and the last BLK_ID_BYTES */
	/* cow only (0 for ro): what DIR/disk<slot> holds. */
	uint64_t overlay_pages; /* dirty pages */
	uint64_t overlay_hash;	/* FNV-1a 64 of the bitmap, then every dirty page in order */
};
_Static_assert(sizeof(struct blk_snap) == 64, "blk_snap layout is part of the format");

/* The first 64 bytes of an overlay file; the bitmap follows, then the page area. */
struct blk_overlay_hdr {
	char magic[8];	    /* BLK_OVERLAY_MAGIC, no NUL */
	uint32_t version;   /* BLK_OVERLAY_VERSION */
	uint32_t page_size; /* BLK_PAGE */
	uint64_t disk_bytes;
	uint64_t pages;	     /* dirty pages (bits set in the bitmap) */
	uint64_t bitmap_off; /* 64 */
	uint64_t bitmap_len; /* bytes: one bit per page, whole 64-bit words */
	uint64_t data_off;   /* page-aligned; disk page i is at data_off + i * BLK_PAGE */
	uint64_t hash;	     /* = blk_snap.overlay_hash */
};
_Static_assert(sizeof(struct blk_overlay_hdr) == 64, "overlay header layout is part of the format");

/*
 * blk_snap_parse() - check and copy the device bytes of a blk record (@len
 * must be sizeof(struct blk_snap); capacity, size and mode consistent).
 * Returns 0 or -EINVAL. Pure.
 */
int blk_snap_parse(const void *buf, size_t len, struct blk_snap *s);

/*
 * blk_check_image() - is @path, given with mode @read_only, the image the
 * snapshot @s was taken with? Compares the mode, then size, mtime and the
 * hash of both ends. Returns 0, or -EBADMSG (or -errno when @path cannot be
 * read) with a one-line reason in @err.
 */
int blk_check_image(const struct blk_snap *s, const char *path, bool read_only, char *err,
		    size_t errlen);

/*
 * blk_check_overlay() - the overlay file @path of cow disk @s: present, an
 * overlay of this disk's geometry, the page count and hash of @s, and of the
 * full size (not truncated). The pages themselves are checked when loaded.
 * Returns 0, or -EBADMSG/-errno with a one-line reason in @err.
 */
int blk_check_overlay(const struct blk_snap *s, const char *path, char *err, size_t errlen);

/*
 * virtio_blk_save_overlay() - with @d->lock held, @d a virtio-blk device:
 * for a cow disk write the pages the guest wrote to @dir/disk<slot>
 * (through a .tmp file and a rename); nothing for a read-only disk.
 * Returns 0 or -errno.
 */
int virtio_blk_save_overlay(struct virtio_dev *d, const char *dir);

/*
 * virtio_blk_load_overlay() - on cow device @d just created from the same
 * image, before its transport state is restored: copy the pages of overlay
 * @path into the device's private mapping and mark them dirty (a snapshot of
 * the clone carries them on). Verifies everything blk_check_overlay() does
 * plus the pages' hash. Returns 0, or -EBADMSG/-errno with a reason in @err.
 */
int virtio_blk_load_overlay(struct virtio_dev *d, const struct blk_snap *s, const char *path,
			    char *err, size_t errlen);

#endif
