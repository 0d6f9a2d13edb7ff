// SPDX-License-Identifier: Apache-2.0
/* A minimal virtio-mmio driver for unit tests, over the fake vm. */
#include "virtio_drv.h"

struct vring_desc *drv_desc(struct vm *vm, unsigned q)
{
	return (struct vring_desc *)(vm->ram + DRV_RING(q));
}

struct vring_avail *drv_avail(struct vm *vm, unsigned q)
{
	return (struct vring_avail *)(vm->ram + DRV_RING(q) + 0x1000);
}

struct vring_used *drv_used(struct vm *vm, unsigned q)
{
	return (struct vring_used *)(vm->ram + DRV_RING(q) + 0x2000);
}

uint32_t drv_negotiate(struct vm *vm, uint64_t features)
{
	mmio_wr(vm, VIRTIO_MMIO_STATUS, 0);
	mmio_wr(vm, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mmio_wr(vm, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	mmio_wr(vm, VIRTIO_MMIO_STATUS,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	return mmio_rd(vm, VIRTIO_MMIO_STATUS);
}

void drv_queue(struct vm *vm, unsigned q)
{
	uint64_t r = DRV_RING(q);

	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, q);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_NUM, DRV_QSZ);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(r + 0x1000));
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(r + 0x2000));
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_READY, 1);
}

void drv_start(struct vm *vm, uint64_t extra, unsigned nq)
{
	uint32_t st = drv_negotiate(vm, (1ull << VIRTIO_F_VERSION_1) |
						(1ull << VIRTIO_RING_F_EVENT_IDX) | extra);

	for (unsigned q = 0; q < nq; q++)
		drv_queue(vm, q);
	mmio_wr(vm, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
}

void drv_add(struct vm *vm, unsigned q, uint16_t first, const struct drv_buf *b, unsigned n)
{
	struct vring_desc *d = drv_desc(vm, q);
	struct vring_avail *a = drv_avail(vm, q);

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (first + i) % DRV_QSZ;

		d[idx] = (struct vring_desc){
			.addr = b[i].gpa,
			.len = b[i].len,
			.flags = (b[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			.next = (first + i + 1) % DRV_QSZ,
		};
	}
	a->ring[a->idx % DRV_QSZ] = first;
	__atomic_store_n(&a->idx, a->idx + 1, __ATOMIC_RELEASE);
}

void drv_kick(struct vm *vm, unsigned q)
{
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}
