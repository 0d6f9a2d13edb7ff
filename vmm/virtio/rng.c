// SPDX-License-Identifier: Apache-2.0
/* virtio-rng: fills the guest's writable buffers from getrandom(). */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>

#include "../cli.h"
#include "../log.h"
#include "kinds.h"
#include "virtio.h"

/* Fill every writable segment; a chain with readable parts is not an rng request. */
static int fill_chain(struct virtio_dev *d, const struct virtq_chain *c, uint32_t *len)
{
	*len = 0;
	if (c->n_out) {
		virtio_dev_fail(d, "rng request with a device-readable buffer");
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->n_in; i++) {
		const struct iovec *v = &c->iov[i];
		size_t done = 0;

		while (done < v->iov_len) {
			ssize_t r = getrandom((uint8_t *)v->iov_base + done, v->iov_len - done, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return 0; /* hand back what we have */
			done += r;
			*len += r;
		}
	}
	return 0;
}

/*
 * With EVENT_IDX the driver kicks only when its avail index passes our
 * avail_event: drain with kicks off, then ask for the next one (and drain
 * again if buffers came meanwhile), or the guest's second request is never
 * heard (a hwrng read would block forever).
 */
static void rng_notify(struct virtio_dev *d, unsigned q)
{
	struct virtq_chain c;
	struct virtq *vq = &d->vq[q];
	uint32_t len;
	int r;

	do {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, &c)) > 0) {
			if (fill_chain(d, &c, &len))
				return;
			virtq_push(vq, c.head, len);
		}
		if (r < 0) {
			virtio_dev_fail(d, "queue %u: %s", q, virtq_strerror(r));
			return;
		}
	} while (virtq_enable_notify(vq));
	virtio_signal_used(d, q);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max = 64,
	.notify = rng_notify,
};

int virtio_rng_create(struct vm *vm)
{
	struct virtio_dev *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->ops = &rng_ops;
	d->vm = vm;
	err = virtio_mmio_add(d);
	if (err)
		free(d);
	return err;
}

/* ---- the rng kind: --rng, or whatever the snapshot had (kinds.h) ---- */

static unsigned rng_count(const struct cli_opts *o)
{
	return o->rng;
}

static int rng_kind_create(struct vm *vm, const struct cli_opts *o, unsigned nth)
{
	int ret = virtio_rng_create(vm);

	(void)o, (void)nth;
	if (ret)
		pr_err("--rng: %s", strerror(-ret));
	return ret;
}

/* No back end and no state of its own: the record's transport state is all. */
static int rng_restore_create(struct vm *vm, const struct cli_opts *o,
			      const struct virtio_restore_arg *a)
{
	int ret = virtio_rng_create(vm);

	(void)o;
	if (ret)
		snprintf(a->err, a->errlen, "virtio-rng: %s", strerror(-ret));
	return ret;
}

const struct virtio_kind virtio_rng_kind = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.count = rng_count,
	.create = rng_kind_create,
	.restore_create = rng_restore_create,
};
