/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal virtio-mmio driver for unit tests, over the fake vm. */
#ifndef EMBER_TESTS_VIRTIO_DRV_H
#define EMBER_TESTS_VIRTIO_DRV_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fake_vm.h"

#define DRV_QSZ 8
/* Queue q rings at DRV_RING(q), data buffers from DRV_DATA up. */
#define DRV_RING(q) (0x10000ull + (q)*0x4000ull)
#define DRV_DATA    0x100000ull

struct drv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* drv_negotiate() - ACK, DRIVER, features, FEATURES_OK; returns the status read back. */
uint32_t drv_negotiate(struct vm *vm, uint64_t features);
/* drv_queue() - set up queue @q with DRV_QSZ entries and mark it ready. */
void drv_queue(struct vm *vm, unsigned q);
/* drv_start() - negotiate VERSION_1|EVENT_IDX|@extra, set up @nq queues, DRIVER_OK. */
void drv_start(struct vm *vm, uint64_t extra, unsigned nq);
/* drv_add() - put a chain of @n buffers on queue @q (descs from @first); no kick. */
void drv_add(struct vm *vm, unsigned q, uint16_t first, const struct drv_buf *b, unsigned n);
/* drv_kick() - QueueNotify through the MMIO exit path. */
void drv_kick(struct vm *vm, unsigned q);

struct vring_desc *drv_desc(struct vm *vm, unsigned q);
struct vring_avail *drv_avail(struct vm *vm, unsigned q);
struct vring_used *drv_used(struct vm *vm, unsigned q);

#endif
