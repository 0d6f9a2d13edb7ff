// SPDX-License-Identifier: Apache-2.0
/* virtio-blk on a raw image, read-only or copy-on-write through a private mapping. */
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

#include "virtio.h"

#define BLK_QUEUE_MAX 128
#define BLK_SIZE_MAX  (1u << 20)
#define SECTOR	      512ull

struct blk {
	uint8_t *map;	  /* MAP_PRIVATE view of the image: writes stay here */
	uint64_t sectors; /* capacity */
	bool read_only;
	char id[VIRTIO_BLK_ID_BYTES];
};

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

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct virtq *vq = &d->vq[q];
	struct virtio_blk_outhdr h;
	struct virtq_chain c;
	uint32_t written;
	uint8_t status;
	int r;

	while ((r = virtq_pop(vq, &c)) > 0) {
		/* Header device-readable, status byte device-writable (spec 5.2.6). */
		if (c.out_len < sizeof(h) || c.in_len < 1) {
			virtio_dev_fail(d, "request without readable header or writable status");
			return;
		}
		iov_to_buf(c.iov, c.n_out, 0, &h, sizeof(h));
		status = do_request(d->priv, &c, &h, &written);
		buf_to_iov(&c.iov[c.n_out], c.n_in, c.in_len - 1, &status, 1);
		virtq_push(vq, c.head, written + 1);
	}
	if (r < 0) {
		virtio_dev_fail(d, "queue %u: %s", q, virtq_strerror(r));
		return;
	}
	virtio_signal_used(d, q);
}

static int blk_activate(struct virtio_dev *d)
{
	/* Requests queued before DRIVER_OK were not kicked to us: look now. */
	blk_notify(d, 0);
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
	close(fd);
	return err;
}

int virtio_blk_create(struct vm *vm, const struct virtio_blk_opts *o)
{
	struct virtio_blk_config cfg = {0};
	struct virtio_dev *d = calloc(1, sizeof(*d));
	struct blk *b = calloc(1, sizeof(*b));
	int err = -ENOMEM;

	if (!d || !b)
		goto fail;
	b->read_only = o->read_only;
	err = blk_map(b, o);
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
	free(b);
	free(d);
	return err;
}
