/* SPDX-License-Identifier: Apache-2.0 */
/* Split virtqueues: pure parsing of guest rings through gpa_ptr(). */
#ifndef EMBER_VMM_VIRTQUEUE_H
#define EMBER_VMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "../mem.h"

/* A chain never has more segments than the largest queue we offer. */
#define VIRTQ_MAX_SIZE 256
/* Sum of all descriptor lengths in one chain: anything above is hostile. */
#define VIRTQ_MAX_CHAIN_BYTES (16u << 20)

/* Refusals of virtq_pop(), returned negated. */
enum virtq_err {
	VQ_ERR_AVAIL_IDX = 1, /* avail idx moved more than the queue size */
	VQ_ERR_HEAD,	      /* head index >= queue size */
	VQ_ERR_NEXT,	      /* next index >= queue size */
	VQ_ERR_LOOP,	      /* chain longer than the queue size */
	VQ_ERR_ADDR,	      /* buffer outside guest RAM */
	VQ_ERR_LEN,	      /* chain total above VIRTQ_MAX_CHAIN_BYTES */
	VQ_ERR_ORDER,	      /* readable descriptor after a writable one */
	VQ_ERR_INDIRECT,      /* VRING_DESC_F_INDIRECT (not negotiated) */
	VQ_ERR_RING,	      /* ring addresses invalid (outside RAM, misaligned) */
};

struct virtq {
	uint16_t size; /* 0: not set up */
	bool event_idx;
	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx;   /* our copy of used->idx */
	uint16_t signalled_used;
	bool signalled_valid;
	bool notify_enabled; /* we asked the driver for kicks */
	/* Host views of the rings, validated by virtq_init(). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	const struct guest_mem *mem;
};

/* One popped chain: out[] = device-readable, then in[] = device-writable. */
struct virtq_chain {
	uint16_t head;
	unsigned n_out, n_in;
	uint32_t out_len, in_len;	  /* bytes */
	struct iovec iov[VIRTQ_MAX_SIZE]; /* iov[0..n_out) out, then n_in in */
};

/*
 * virtq_init() - set up @vq of @size entries with rings at @desc, @avail,
 * @used (guest-physical). Returns 0, or -VQ_ERR_RING if size is not a power
 * of two in [1, VIRTQ_MAX_SIZE], a ring is misaligned or not inside RAM.
 */
int virtq_init(struct virtq *vq, const struct guest_mem *m, uint16_t size, uint64_t desc,
	       uint64_t avail, uint64_t used, bool event_idx);

/*
 * virtq_pop() - take the next available chain into @c. Returns 1 with a
 * chain, 0 when the ring is empty, or -enum virtq_err for a hostile ring
 * (@vq is then unusable until re-initialised).
 */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/* virtq_unpop() - give the last popped chain back (e.g. tap had no frame). */
void virtq_unpop(struct virtq *vq);

/* virtq_push() - return chain @head with @len bytes written to the used ring. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * virtq_should_notify() - after pushes: does the driver want an interrupt?
 * Honours EVENT_IDX used_event, else VRING_AVAIL_F_NO_INTERRUPT.
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * virtq_disable_notify()/virtq_enable_notify() - stop/start asking the
 * driver for kicks. enable returns true if buffers arrived meanwhile (the
 * caller must process them: the driver may not kick for them). All virtq_*
 * calls are safe on a queue that is not set up (size 0): nothing happens.
 */
void virtq_disable_notify(struct virtq *vq);
bool virtq_enable_notify(struct virtq *vq);

/* virtq_strerror() - text for a negated enum virtq_err. */
const char *virtq_strerror(int err);

/* iov helpers: copy between a flat buffer and @n iovecs starting at @off. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t buf_to_iov(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);

#endif
