// SPDX-License-Identifier: Apache-2.0
/* The list of virtio device kinds: adding a device adds its name to VIRTIO_KINDS. */
#include "kinds.h"

/* Each NAME defines virtio_NAME_kind in vmm/virtio/NAME.c; this order is the boot slot order. */
#define VIRTIO_KINDS(X) X(net) X(blk) X(rng)

#define DECLARE(name) extern const struct virtio_kind virtio_##name##_kind;
#define ENTRY(name)   &virtio_##name##_kind,

VIRTIO_KINDS(DECLARE)

const struct virtio_kind *const virtio_kinds[] = {VIRTIO_KINDS(ENTRY) NULL};

const struct virtio_kind *virtio_kind_of(uint32_t device_id)
{
	for (const struct virtio_kind *const *k = virtio_kinds; *k; k++)
		if ((*k)->device_id == device_id)
			return *k;
	return NULL;
}
