/* SPDX-License-Identifier: Apache-2.0 */
/* virtio devices for ember-vmm: the device ops table, the transport-facing
 * device state, and the constructors main.c calls. */
#ifndef EMBER_VMM_VIRTIO_H
#define EMBER_VMM_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vm.h"
#include "virtqueue.h"

/* ---- Constructors (called by main.c after parsing the command line) ---- */

struct virtio_net_opts {
	const char *tap_name; /* open /dev/net/tun and attach to this tap, or */
	int tap_fd;	      /* >= 0: an inherited tap fd, used as is (checked) */
	uint8_t mac[6];	      /* guest MAC, announced with VIRTIO_NET_F_MAC */
	char *err;	      /* optional: a one-line reason on failure */
	size_t errlen;
};

struct virtio_blk_opts {
	const char *path; /* raw image file */
	/*
	 * true: the guest sees a read-only disk (VIRTIO_BLK_F_RO).
	 * false: copy-on-write: the guest may write, but writes land in a
	 * private mapping of the file and never reach the file itself.
	 */
	bool read_only;
	char *err; /* optional: a one-line reason on failure */
	size_t errlen;
};

/*
 * virtio_net_create()/virtio_blk_create()/virtio_rng_create() - create a
 * device in the next free virtio-mmio slot, register its MMIO window,
 * interrupt, ioeventfds and I/O-thread watches, and append
 * "virtio_mmio.device=4K@0x...:irq" to the guest command line. Call before
 * boot. Return 0 or -errno (-ENOSPC when all VIRTIO_MMIO_SLOTS are used);
 * on failure o->err (if set) holds the reason.
 */
#define __virtio_must_check __attribute__((warn_unused_result))
__virtio_must_check int virtio_net_create(struct vm *vm, const struct virtio_net_opts *o);
__virtio_must_check int virtio_blk_create(struct vm *vm, const struct virtio_blk_opts *o);
__virtio_must_check int virtio_rng_create(struct vm *vm);

/* ---- Device side (net.c, blk.c, rng.c) ---- */

struct virtio_dev;

/*
 * One table per device type; the transport (mmio.c) calls these with
 * dev->lock held. Devices never see transport registers.
 */
struct virtio_dev_ops {
	const char *name;
	uint32_t device_id; /* VIRTIO_ID_* */
	uint64_t features;  /* device-specific feature bits offered */
	unsigned nr_queues;
	uint16_t queue_max; /* max queue size (power of two) */
	/* Config space: a buffer of config_len bytes in dev->config. */
	size_t config_len;
	/* Optional: a driver wrote @len bytes at @off of config space. */
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *data, uint32_t len);
	/* The driver kicked queue @q (already active). */
	void (*notify)(struct virtio_dev *d, unsigned q);
	/* DRIVER_OK with valid queues: start the back end. 0 or -errno. */
	int (*activate)(struct virtio_dev *d);
	/* Status 0 (or failure): stop the back end; queues are cleared after. */
	void (*reset)(struct virtio_dev *d);
	/*
	 * Snapshot hooks, called by the transport with dev->lock held.
	 * save: write the device's own state (not transport, queues or config:
	 * the transport saves those) into @buf; returns bytes used or -errno
	 * (-ENOTSUP: this device cannot be snapshotted). NULL: no state.
	 * restore: after the transport state and queues are back; @buf holds
	 * what save wrote. Restart the back end here (e.g. poll the tap).
	 * Returns 0 or -errno. NULL: nothing to do.
	 */
	int (*save)(struct virtio_dev *d, void *buf, size_t len);
	int (*restore)(struct virtio_dev *d, const void *buf, size_t len);
};

#define VIRTIO_MAX_QUEUES 2
#define VIRTIO_CONFIG_MAX 64

/* A queue as the driver configures it through the transport registers. */
struct virtio_queue_regs {
	uint32_t num;
	bool ready;
	uint64_t desc, avail, used;
};

/* Opaque for a queue's ioeventfd watch. */
struct virtio_kick {
	struct virtio_dev *d;
	unsigned q;
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct vm *vm;
	const struct guest_mem *mem;
	void *priv;	      /* the device's own state */
	pthread_mutex_t lock; /* vCPU MMIO handler vs. I/O thread */
	unsigned slot;
	uint64_t base; /* MMIO base */
	uint32_t irq;  /* GSI */
	int irqfd;     /* eventfd wired with vm_irqfd, or -1: vm_irq_line */

	/* Transport registers. */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t drv_features; /* as written by the driver */
	uint64_t features;     /* negotiated (valid once FEATURES_OK) */
	uint32_t queue_sel;
	uint32_t isr; /* InterruptStatus, accessed atomically */
	uint32_t config_gen;
	bool failed;	   /* DEVICE_NEEDS_RESET set: no more queue work */
	unsigned failures; /* how often: only the first few are logged */

	struct virtio_queue_regs qr[VIRTIO_MAX_QUEUES];
	struct virtq vq[VIRTIO_MAX_QUEUES]; /* size 0 until QueueReady */
	int kick_fd[VIRTIO_MAX_QUEUES];	    /* ioeventfd per queue, or -1 */
	struct virtio_kick kick[VIRTIO_MAX_QUEUES];
	uint8_t config[VIRTIO_CONFIG_MAX];
};

/*
 * virtio_mmio_add() - put @d (ops, vm, priv filled) in the next slot.
 * Returns 0 or -errno.
 */
__virtio_must_check int virtio_mmio_add(struct virtio_dev *d);

/* ---- Snapshots (mmio.c): the transport's part, then the device's bytes ---- */

#define VIRTIO_SNAP_DEV_MAX 256 /* bytes of device state after struct virtio_snap */

struct virtio_snap_queue {
	uint32_t num, ready;
	uint64_t desc, avail, used;
	uint16_t last_avail, used_idx, signalled_used;
	uint8_t signalled_valid, notify_enabled, event_idx;
	uint8_t pad[7];
};

/* One SF_VIRTIO record: transport registers, queues, config, then dev_len device bytes. */
struct virtio_snap {
	uint32_t slot, device_id;
	uint32_t status, dev_features_sel, drv_features_sel, queue_sel;
	uint32_t isr, config_gen;
	uint64_t drv_features, features;
	uint32_t failed, nr_queues;
	struct virtio_snap_queue q[VIRTIO_MAX_QUEUES];
	uint32_t config_len, dev_len;
	uint8_t config[VIRTIO_CONFIG_MAX];
};
_Static_assert(sizeof(struct virtio_snap) == 224, "virtio_snap layout is part of the format");

/* virtio_mmio_dev() - the device in slot @slot, or NULL. virtio_mmio_count() - slots used. */
struct virtio_dev *virtio_mmio_dev(unsigned slot);
unsigned virtio_mmio_count(void);

/*
 * virtio_mmio_save() - with d->lock held: write struct virtio_snap plus the
 * device's save() bytes to @buf (room for @len). Returns bytes or -errno.
 */
int virtio_mmio_save(struct virtio_dev *d, void *buf, size_t len);

/*
 * virtio_mmio_restore() - on a device just created with the same type in the
 * same slot (before vCPUs run): load the transport registers, re-attach the
 * queues to guest memory at their saved indexes, then the device's restore().
 * Checks everything it reads (the file passed a checksum, not a trust check).
 * Returns 0 or -errno with a reason in @err.
 */
int virtio_mmio_restore(struct virtio_dev *d, const void *buf, size_t len, char *err,
			size_t errlen);

/*
 * virtio_signal_used() - after pushing used buffers on @q: raise the used
 * buffer interrupt unless the driver suppressed it (EVENT_IDX / NO_INTERRUPT).
 */
void virtio_signal_used(struct virtio_dev *d, unsigned q);

/* virtio_signal_config() - config space changed: bump generation, interrupt. */
void virtio_signal_config(struct virtio_dev *d);

/*
 * virtio_dev_fail() - the guest broke the protocol: set DEVICE_NEEDS_RESET,
 * raise a config interrupt and log ONE line; further queue work is ignored
 * until the driver resets the device. Idempotent. Called with d->lock held.
 */
void virtio_dev_fail(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* virtio_dev_active() - DRIVER_OK set and not failed: queues may be used. */
bool virtio_dev_active(const struct virtio_dev *d);

/* virtio_has_feature() - was feature bit @bit negotiated? */
static inline bool virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return d->features & (1ull << bit);
}

#endif
