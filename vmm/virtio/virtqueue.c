// SPDX-License-Identifier: Apache-2.0
/* Split virtqueue parsing: every guest address goes through gpa_ptr(). */
#include <string.h>

#include "virtqueue.h"

/*
 * Barriers: the driver runs on another CPU and writes rings concurrently.
 * We use __atomic operations on the shared index fields and fences where the
 * virtio spec (2.7.7 / 2.7.13) requires ordering; comments at each use.
 */

static bool is_pow2(unsigned v)
{
	return v && !(v & (v - 1));
}

int virtq_init(struct virtq *vq, const struct guest_mem *m, uint16_t size, uint64_t desc,
	       uint64_t avail, uint64_t used, bool event_idx)
{
	/* avail: flags, idx, ring[size], used_event; used: same with 8-byte elems. */
	uint64_t avail_len = 6 + 2ull * size, used_len = 6 + 8ull * size;

	memset(vq, 0, sizeof(*vq));
	if (!is_pow2(size) || size > VIRTQ_MAX_SIZE)
		return -VQ_ERR_RING;
	/* Spec alignment (2.7): desc 16, avail 2, used 4; we rely on it for atomics. */
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -VQ_ERR_RING;
	vq->desc = gpa_ptr(m, desc, 16ull * size);
	vq->avail = gpa_ptr(m, avail, avail_len);
	vq->used = gpa_ptr(m, used, used_len);
	if (!vq->desc || !vq->avail || !vq->used) {
		memset(vq, 0, sizeof(*vq));
		return -VQ_ERR_RING;
	}
	vq->size = size;
	vq->mem = m;
	vq->event_idx = event_idx;
	vq->notify_enabled = true;
	/* Indexes start at 0 when a queue is enabled (the memset above). */
	return 0;
}

static uint16_t *used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *avail_event(struct virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

/*
 * Append descriptor @d (a private copy: the guest may rewrite the table under
 * us) to @c, checking flags, order, total length and address.
 */
static int chain_add(const struct guest_mem *m, struct virtq_chain *c, const struct vring_desc *d,
		     uint64_t *total)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	struct iovec *iov = &c->iov[c->n_out + c->n_in];

	if (d->flags & VRING_DESC_F_INDIRECT)
		return -VQ_ERR_INDIRECT;
	/* Spec 2.7.4.2: all device-readable descriptors come first. */
	if (!writable && c->n_in)
		return -VQ_ERR_ORDER;
	*total += d->len;
	if (*total > VIRTQ_MAX_CHAIN_BYTES)
		return -VQ_ERR_LEN;
	iov->iov_base = gpa_ptr(m, d->addr, d->len);
	iov->iov_len = d->len;
	if (!iov->iov_base)
		return -VQ_ERR_ADDR;
	if (writable) {
		c->n_in++;
		c->in_len += d->len;
	} else {
		c->n_out++;
		c->out_len += d->len;
	}
	return 0;
}

static int walk_chain(struct virtq *vq, uint16_t head, struct virtq_chain *c)
{
	uint64_t total = 0;
	uint16_t i = head;
	unsigned n;

	memset(c, 0, offsetof(struct virtq_chain, iov));
	c->head = head;
	if (head >= vq->size)
		return -VQ_ERR_HEAD;
	for (n = 0;; n++) {
		struct vring_desc d;
		int err;

		/* A chain cannot visit more descriptors than exist: else a loop. */
		if (n >= vq->size)
			return -VQ_ERR_LOOP;
		memcpy(&d, &vq->desc[i], sizeof(d));
		err = chain_add(vq->mem, c, &d, &total);
		if (err)
			return err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		if (d.next >= vq->size)
			return -VQ_ERR_NEXT;
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	uint16_t avail_idx, head;

	if (!vq->size)
		return 0;
	/*
	 * Acquire: the ring entry and descriptors the driver wrote before
	 * publishing avail->idx must be read after it (pairs with the
	 * driver's write barrier before its idx store).
	 */
	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return -VQ_ERR_AVAIL_IDX;
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail & (vq->size - 1)], __ATOMIC_RELAXED);
	vq->last_avail++;
	return walk_chain(vq, head, c);
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->size - 1)];

	e->id = head;
	e->len = len;
	vq->used_idx++;
	/*
	 * Release: the element (and the data written into the buffers) must be
	 * visible before the driver can see the new used->idx.
	 */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx, event;
	bool valid = vq->signalled_valid;

	if (!vq->size || old == new)
		return false; /* not set up, or nothing pushed since the last decision */
	vq->signalled_used = new;
	vq->signalled_valid = true;
	/*
	 * Full fence: our used->idx store must be globally visible before we
	 * read used_event/flags, or we and the driver can each miss the
	 * other's update (store->load ordering; only a full fence gives it).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = __atomic_load_n(used_event(vq), __ATOMIC_RELAXED);
	return vring_need_event(event, new, old);
}

void virtq_disable_notify(struct virtq *vq)
{
	if (!vq->size)
		return;
	vq->notify_enabled = false;
	/* With EVENT_IDX a stale avail_event already stops kicks (vhost does the same). */
	if (!vq->event_idx)
		__atomic_store_n(&vq->used->flags, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (!vq->size)
		return false; /* the driver disabled the queue (QueueReady 0) */
	vq->notify_enabled = true;
	if (vq->event_idx)
		__atomic_store_n(avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	/*
	 * Full fence: publish "kick me" before re-reading avail->idx; a driver
	 * that added buffers just before seeing our store would not kick.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

const char *virtq_strerror(int err)
{
	static const char *const msg[] = {
		[VQ_ERR_AVAIL_IDX] = "avail idx moved more than the queue size",
		[VQ_ERR_HEAD] = "head index out of range",
		[VQ_ERR_NEXT] = "next index out of range",
		[VQ_ERR_LOOP] = "descriptor chain longer than the queue (loop)",
		[VQ_ERR_ADDR] = "buffer outside guest RAM",
		[VQ_ERR_LEN] = "chain length above limit",
		[VQ_ERR_ORDER] = "device-readable descriptor after a writable one",
		[VQ_ERR_INDIRECT] = "indirect descriptor not negotiated",
		[VQ_ERR_RING] = "invalid ring address or size",
	};

	err = -err;
	if (err <= 0 || err >= (int)(sizeof(msg) / sizeof(msg[0])) || !msg[err])
		return "unknown virtqueue error";
	return msg[err];
}

/* Copies between (buf) and the iovec from byte (off) on; (to_iov) picks the direction. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, uint8_t *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		uint8_t *p;

		if (off >= l) {
			off -= l;
			continue;
		}
		p = (uint8_t *)iov[i].iov_base + off;
		l -= off;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy(p, buf + done, l);
		else
			memcpy(buf + done, p, l);
		done += l;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	return iov_copy(iov, n, off, buf, len, false);
}

size_t buf_to_iov(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	/* iov_copy() only reads buf when copying towards the iovec. */
	return iov_copy(iov, n, off, (uint8_t *)buf, len, true);
}
