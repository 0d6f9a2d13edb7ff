// SPDX-License-Identifier: Apache-2.0
/* virtio-mmio transport (version 2 only): registers, slots, interrupts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "../log.h"
#include "virtio.h"

#define MMIO_MAGIC  0x74726976u /* "virt" */
#define MMIO_VENDOR 0x52424d45u /* "EMBR" */

/* Failures of one device that are logged; a guest can fail it in a loop. */
#define FAIL_LOG_MAX 8

/* Slots are handed out in creation order; one VM per ember-vmm process. */
static unsigned next_slot;
static struct virtio_dev *slots[VIRTIO_MMIO_SLOTS]; /* for snapshots */

static uint64_t offered_features(const struct virtio_dev *d)
{
	return d->ops->features | (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);
}

bool virtio_dev_active(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_CONFIG_S_DRIVER_OK) && !d->failed;
}

/*
 * Raise the device's interrupt as an edge: with irqfd KVM pulses the
 * IOAPIC pin; without it we pulse the line ourselves. InterruptStatus tells
 * the driver why, so coalesced edges lose nothing.
 */
static void raise_irq(struct virtio_dev *d, uint32_t why)
{
	uint64_t one = 1;

	__atomic_or_fetch(&d->isr, why, __ATOMIC_SEQ_CST);
	if (d->irqfd >= 0) {
		if (write(d->irqfd, &one, sizeof(one)) == sizeof(one))
			return;
	}
	vm_irq_line(d->vm, d->irq, 1);
	vm_irq_line(d->vm, d->irq, 0);
}

void virtio_signal_used(struct virtio_dev *d, unsigned q)
{
	if (virtq_should_notify(&d->vq[q]))
		raise_irq(d, VIRTIO_MMIO_INT_VRING);
}

void virtio_signal_config(struct virtio_dev *d)
{
	d->config_gen++;
	raise_irq(d, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_dev_fail(struct virtio_dev *d, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (d->failed)
		return;
	d->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A guest that resets and breaks the device in a loop must not flood the log. */
	if (++d->failures <= FAIL_LOG_MAX)
		pr_err("virtio-%s@%u: %s; device needs reset%s", d->ops->name, d->slot, msg,
		       d->failures == FAIL_LOG_MAX ? " (further failures not logged)" : "");
	if (d->ops->reset)
		d->ops->reset(d); /* quiesce the back end (e.g. stop polling a tap) */
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* Spec 4.2.2.1: DEVICE_NEEDS_RESET comes with a configuration change notification. */
	raise_irq(d, VIRTIO_MMIO_INT_CONFIG);
}

static void dev_reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	d->status = 0;
	d->dev_features_sel = d->drv_features_sel = 0;
	d->drv_features = d->features = 0;
	d->queue_sel = 0;
	__atomic_store_n(&d->isr, 0, __ATOMIC_SEQ_CST);
	d->failed = false; /* d->failures stays: it limits logging */
	memset(d->qr, 0, sizeof(d->qr));
	memset(d->vq, 0, sizeof(d->vq));
}

static void status_write(struct virtio_dev *d, uint32_t v)
{
	uint32_t old = d->status;

	if (v == 0) {
		dev_reset(d);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* Refuse (leave FEATURES_OK clear) unless modern and a subset of ours. */
		if ((d->drv_features & ~offered_features(d)) ||
		    !(d->drv_features & (1ull << VIRTIO_F_VERSION_1)))
			v &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		else
			d->features = d->drv_features;
	}
	if (!(v & VIRTIO_CONFIG_S_FEATURES_OK) && (old & VIRTIO_CONFIG_S_FEATURES_OK))
		v |= VIRTIO_CONFIG_S_FEATURES_OK; /* only a reset clears it */
	d->status = v | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (!(v & VIRTIO_CONFIG_S_DRIVER_OK) || (old & VIRTIO_CONFIG_S_DRIVER_OK) || d->failed)
		return;
	if (!(v & VIRTIO_CONFIG_S_FEATURES_OK)) {
		virtio_dev_fail(d, "DRIVER_OK without FEATURES_OK");
		return;
	}
	if (d->ops->activate && d->ops->activate(d) < 0)
		virtio_dev_fail(d, "activation failed");
}

static void queue_ready(struct virtio_dev *d, struct virtio_queue_regs *qr, unsigned q, uint32_t v)
{
	int err;

	if (!v) {
		qr->ready = false;
		memset(&d->vq[q], 0, sizeof(d->vq[q]));
		return;
	}
	if (qr->ready)
		return;
	if (qr->num > d->ops->queue_max) {
		virtio_dev_fail(d, "queue %u: size %u above max %u", q, qr->num, d->ops->queue_max);
		return;
	}
	err = virtq_init(&d->vq[q], d->mem, qr->num, qr->desc, qr->avail, qr->used,
			 virtio_has_feature(d, VIRTIO_RING_F_EVENT_IDX));
	if (err) {
		virtio_dev_fail(d, "queue %u: %s", q, virtq_strerror(err));
		return;
	}
	qr->ready = true;
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffull) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffull) | val;
}

static void queue_notify(struct virtio_dev *d, unsigned q)
{
	if (q < d->ops->nr_queues && virtio_dev_active(d) && d->vq[q].size && d->ops->notify)
		d->ops->notify(d, q);
}

/* Registers of the selected queue; writable only while it is not ready. */
static void queue_reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtio_queue_regs *qr;

	if (d->queue_sel >= d->ops->nr_queues)
		return;
	qr = &d->qr[d->queue_sel];
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		queue_ready(d, qr, d->queue_sel, v);
		return;
	}
	if (qr->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		qr->num = v;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_half(&qr->desc, false, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&qr->desc, true, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_half(&qr->avail, false, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&qr->avail, true, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_half(&qr->used, false, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_half(&qr->used, true, v);
		break;
	}
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->drv_features_sel < 2 && !(d->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_half(&d->drv_features, d->drv_features_sel, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		queue_notify(d, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_and_fetch(&d->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS:
		status_write(d, v);
		break;
	default:
		queue_reg_write(d, off, v);
		break;
	}
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	uint64_t f = offered_features(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->dev_features_sel == 0	  ? (uint32_t)f
		       : d->dev_features_sel == 1 ? (uint32_t)(f >> 32)
						  : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return d->queue_sel < d->ops->nr_queues ? d->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return d->queue_sel < d->ops->nr_queues && d->qr[d->queue_sel].ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&d->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* spec 4.2.2: no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_gen;
	}
	return 0;
}

static void config_access(struct virtio_dev *d, uint64_t off, void *data, uint32_t len,
			  bool is_write)
{
	if (off >= d->ops->config_len || len > d->ops->config_len - off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write)
		memcpy(data, d->config + off, len);
	else if (d->ops->config_write)
		d->ops->config_write(d, off, data, len);
}

/*
 * The MMIO window handler (vCPU threads). Registers take aligned 32-bit
 * accesses only (spec 4.2.2.2); anything else reads 0 and is ignored.
 */
static void mmio_access(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct virtio_dev *d = opaque;
	uint32_t v = 0;

	if (len == 0 || len > 8)
		return;
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		config_access(d, off - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || (off & 3)) {
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		memcpy(&v, data, 4);
		reg_write(d, off, v);
	} else {
		v = reg_read(d, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

/* A queue's ioeventfd fired on the I/O thread: the guest kicked it. */
static void kick_event(void *opaque, uint32_t revents)
{
	struct virtio_kick *k = opaque;
	uint64_t cnt;

	(void)revents;
	if (read(k->d->kick_fd[k->q], &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&k->d->lock);
	queue_notify(k->d, k->q);
	pthread_mutex_unlock(&k->d->lock);
}

/* Kicks complete inside KVM when possible; otherwise they exit to mmio_access. */
static void setup_kick(struct virtio_dev *d, unsigned q)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	d->kick_fd[q] = -1;
	d->kick[q] = (struct virtio_kick){.d = d, .q = q};
	if (fd < 0)
		return;
	if (vm_ioeventfd(d->vm, d->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, fd, true, q) ||
	    vm_io_watch(d->vm, fd, EPOLLIN, kick_event, &d->kick[q])) {
		close(fd);
		pr_info("virtio-%s: queue %u kicks take the MMIO exit path", d->ops->name, q);
		return;
	}
	d->kick_fd[q] = fd;
}

static void setup_irq(struct virtio_dev *d)
{
	d->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->irqfd >= 0 && vm_irqfd(d->vm, d->irqfd, d->irq)) {
		close(d->irqfd);
		d->irqfd = -1;
	}
}

int virtio_mmio_add(struct virtio_dev *d)
{
	int err;

	if (next_slot >= VIRTIO_MMIO_SLOTS)
		return -ENOSPC;
	if (d->ops->nr_queues > VIRTIO_MAX_QUEUES || d->ops->config_len > VIRTIO_CONFIG_MAX)
		return -EINVAL;
	d->slot = next_slot;
	d->base = VIRTIO_MMIO_BASE + d->slot * VIRTIO_MMIO_SIZE;
	d->irq = VIRTIO_MMIO_IRQ0 + d->slot;
	d->mem = vm_mem(d->vm);
	pthread_mutex_init(&d->lock, NULL);
	err = vm_mmio_register(d->vm, d->base, VIRTIO_MMIO_SIZE, mmio_access, d);
	if (err)
		goto fail;
	err = vm_cmdline_append(d->vm, "virtio_mmio.device=4K@0x%llx:%u",
				(unsigned long long)d->base, d->irq);
	if (err)
		goto fail;
	setup_irq(d);
	for (unsigned q = 0; q < d->ops->nr_queues; q++)
		setup_kick(d, q);
	slots[next_slot++] = d;
	return 0;
fail:
	pthread_mutex_destroy(&d->lock);
	return err;
}

/* ---- snapshots ---- */

struct virtio_dev *virtio_mmio_dev(unsigned slot)
{
	return slot < next_slot ? slots[slot] : NULL;
}

unsigned virtio_mmio_count(void)
{
	return next_slot;
}

static void save_queue(const struct virtio_dev *d, unsigned q, struct virtio_snap_queue *s)
{
	const struct virtq *vq = &d->vq[q];

	*s = (struct virtio_snap_queue){
		.num = d->qr[q].num,
		.ready = d->qr[q].ready,
		.desc = d->qr[q].desc,
		.avail = d->qr[q].avail,
		.used = d->qr[q].used,
		.last_avail = vq->last_avail,
		.used_idx = vq->used_idx,
		.signalled_used = vq->signalled_used,
		.signalled_valid = vq->signalled_valid,
		.notify_enabled = vq->notify_enabled,
		.event_idx = vq->event_idx,
	};
}

int virtio_mmio_save(struct virtio_dev *d, void *buf, size_t len)
{
	struct virtio_snap s = {
		.slot = d->slot,
		.device_id = d->ops->device_id,
		.status = d->status,
		.dev_features_sel = d->dev_features_sel,
		.drv_features_sel = d->drv_features_sel,
		.queue_sel = d->queue_sel,
		.isr = __atomic_load_n(&d->isr, __ATOMIC_SEQ_CST),
		.config_gen = d->config_gen,
		.drv_features = d->drv_features,
		.features = d->features,
		.failed = d->failed,
		.nr_queues = d->ops->nr_queues,
		.config_len = (uint32_t)d->ops->config_len,
	};
	int n = 0;

	if (len < sizeof(s))
		return -ENOSPC;
	for (unsigned q = 0; q < d->ops->nr_queues; q++)
		save_queue(d, q, &s.q[q]);
	memcpy(s.config, d->config, d->ops->config_len);
	if (d->ops->save) {
		n = d->ops->save(d, (uint8_t *)buf + sizeof(s), len - sizeof(s));
		if (n < 0)
			return n;
	}
	s.dev_len = (uint32_t)n;
	memcpy(buf, &s, sizeof(s));
	return (int)sizeof(s) + n;
}

/* Re-attach queue @q at its saved ring addresses and indexes. */
static int restore_queue(struct virtio_dev *d, unsigned q, const struct virtio_snap_queue *s)
{
	struct virtq *vq = &d->vq[q];
	int err;

	d->qr[q] = (struct virtio_queue_regs){
		.num = s->num, .desc = s->desc, .avail = s->avail, .used = s->used};
	if (!s->ready)
		return 0;
	if (s->num > d->ops->queue_max)
		return -EINVAL;
	err = virtq_init(vq, d->mem, (uint16_t)s->num, s->desc, s->avail, s->used, s->event_idx);
	if (err)
		return -EINVAL;
	vq->last_avail = s->last_avail;
	vq->used_idx = s->used_idx;
	vq->signalled_used = s->signalled_used;
	vq->signalled_valid = s->signalled_valid;
	vq->notify_enabled = s->notify_enabled;
	d->qr[q].ready = true;
	return 0;
}

/*
 * A kick the guest made just before the snapshot may not have been handled
 * when the state was written (the I/O thread writes it): its buffers sit in
 * the avail ring and the guest will not kick again. Kick every ready queue
 * once; a device with nothing to do just returns.
 */
static void replay_kicks(struct virtio_dev *d, unsigned nr_queues)
{
	const uint64_t one = 1;

	for (unsigned q = 0; q < nr_queues; q++) {
		if (!d->qr[q].ready)
			continue;
		if (d->kick_fd[q] >= 0 && write(d->kick_fd[q], &one, sizeof(one)) == sizeof(one))
			continue;
		pthread_mutex_lock(&d->lock);
		queue_notify(d, q);
		pthread_mutex_unlock(&d->lock);
	}
}

int virtio_mmio_restore(struct virtio_dev *d, const void *buf, size_t len, char *err, size_t errlen)
{
	struct virtio_snap s;

	if (len < sizeof(s)) {
		snprintf(err, errlen, "virtio record too short");
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	if (s.slot != d->slot || s.device_id != d->ops->device_id ||
	    s.nr_queues != d->ops->nr_queues || s.config_len != d->ops->config_len ||
	    s.dev_len != len - sizeof(s)) {
		snprintf(err, errlen, "virtio slot %u: saved device %u does not match", s.slot,
			 s.device_id);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	d->status = s.status;
	d->dev_features_sel = s.dev_features_sel;
	d->drv_features_sel = s.drv_features_sel;
	d->queue_sel = s.queue_sel;
	__atomic_store_n(&d->isr, s.isr, __ATOMIC_SEQ_CST);
	d->config_gen = s.config_gen;
	d->drv_features = s.drv_features;
	d->features = s.features;
	d->failed = s.failed;
	memcpy(d->config, s.config, s.config_len);
	for (unsigned q = 0; q < s.nr_queues; q++) {
		if (restore_queue(d, q, &s.q[q])) {
			pthread_mutex_unlock(&d->lock);
			snprintf(err, errlen, "virtio-%s slot %u: queue %u rings invalid",
				 d->ops->name, d->slot, q);
			return -EINVAL;
		}
	}
	if (d->ops->restore && d->ops->restore(d, (const uint8_t *)buf + sizeof(s), s.dev_len)) {
		pthread_mutex_unlock(&d->lock);
		snprintf(err, errlen, "virtio-%s slot %u: device restore failed", d->ops->name,
			 d->slot);
		return -EIO;
	}
	pthread_mutex_unlock(&d->lock);
	replay_kicks(d, s.nr_queues);
	return 0;
}
