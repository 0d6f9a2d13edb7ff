// SPDX-License-Identifier: Apache-2.0
/* virtio-net on a tap: frames move between the tap and guest buffers with
 * readv/writev on the I/O thread, no intermediate copy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "../cli.h"
#include "../log.h"
#include "kinds.h"
#include "virtio.h"

#define RXQ	      0
#define TXQ	      1
#define NET_QUEUE_MAX 256
#define HDR_LEN	      ((uint32_t)sizeof(struct virtio_net_hdr_v1))
/* Push this many RX frames before interrupting, so a burst costs one irq. */
#define RX_BATCH 64
/* TX chains per turn of the I/O thread, so one busy guest cannot starve RX. */
#define TX_BUDGET 256
/* Consecutive tap read errors before we stop polling (tap gone or broken). */
#define RX_MAX_ERRORS 64

_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "virtio 1.x net header is 12 bytes");

struct net {
	int tap;
	bool vnet_hdr;	    /* the tap reads/writes the 12-byte header itself */
	bool rx_polling;    /* tap fd is watched by the I/O thread */
	unsigned rx_errors; /* consecutive failed tap reads */
	struct virtio_dev *d;
};

static void rx_poll(struct net *n, bool on);

/* @dst = @src with the first @skip bytes dropped; returns the iovec count. */
static unsigned iov_skip(const struct iovec *src, unsigned cnt, size_t skip, struct iovec *dst)
{
	unsigned k = 0;

	for (unsigned i = 0; i < cnt; i++) {
		if (skip >= src[i].iov_len) {
			skip -= src[i].iov_len;
			continue;
		}
		dst[k].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[k++].iov_len = src[i].iov_len - skip;
		skip = 0;
	}
	return k;
}

/*
 * Read one frame into the writable part of @c. Returns bytes written to the
 * guest (header included), 0 if the tap is empty, -1 if the frame was lost.
 */
static ssize_t rx_one(struct net *n, const struct virtq_chain *c)
{
	static const struct virtio_net_hdr_v1 zero_hdr = {.num_buffers = 1};
	const struct iovec *in = &c->iov[c->n_out];
	struct iovec tmp[VIRTQ_MAX_SIZE];
	uint16_t one = 1;
	uint8_t flags = 0;
	ssize_t r;

	if (n->vnet_hdr) {
		r = readv(n->tap, in, c->n_in);
	} else {
		r = readv(n->tap, tmp, iov_skip(in, c->n_in, HDR_LEN, tmp));
		if (r >= 0) {
			buf_to_iov(in, c->n_in, 0, &zero_hdr, HDR_LEN);
			r += HDR_LEN;
		}
	}
	if (r < 0)
		return errno == EAGAIN ? 0 : -1;
	if (r < HDR_LEN)
		return -1;
	/*
	 * We offer no GUEST_CSUM: the tap may still flag DATA_VALID, which the
	 * spec forbids then; and without MRG_RXBUF num_buffers must be 1.
	 */
	buf_to_iov(in, c->n_in, offsetof(struct virtio_net_hdr_v1, flags), &flags, 1);
	buf_to_iov(in, c->n_in, offsetof(struct virtio_net_hdr_v1, num_buffers), &one, 2);
	return r;
}

/*
 * A failed tap read: a frame too big for the buffer is simply lost, but a tap
 * that keeps failing (detached, broken) must not spin the I/O thread.
 * Returns true to go on reading.
 */
static bool rx_error(struct net *n)
{
	if (++n->rx_errors < RX_MAX_ERRORS)
		return true;
	pr_err("virtio-net@%u: tap read keeps failing (%m); receive stopped", n->d->slot);
	rx_poll(n, false);
	return false;
}

/* Move frames from the tap into guest RX buffers until one side runs dry. */
static void rx_run(struct net *n)
{
	struct virtio_dev *d = n->d;
	struct virtq *vq = &d->vq[RXQ];
	struct virtq_chain c;
	unsigned batch = 0;
	ssize_t len;
	int r;

	for (;;) {
		r = virtq_pop(vq, &c);
		if (r < 0) {
			virtio_dev_fail(d, "rx queue: %s", virtq_strerror(r));
			return;
		}
		if (r == 0) {
			if (virtq_enable_notify(vq))
				continue; /* buffers raced in */
			/* No buffers: frames wait in the tap queue until the guest kicks. */
			rx_poll(n, false);
			break;
		}
		if (c.n_out || c.in_len < HDR_LEN) {
			virtio_dev_fail(d, "rx buffer not device-writable or shorter than header");
			return;
		}
		len = rx_one(n, &c);
		if (len <= 0) {
			virtq_unpop(vq);
			if (len < 0 && rx_error(n))
				continue; /* that frame is gone (did not fit): next */
			break;
		}
		n->rx_errors = 0;
		virtq_push(vq, c.head, len);
		if (++batch == RX_BATCH) {
			virtio_signal_used(d, RXQ);
			batch = 0;
		}
	}
	if (batch)
		virtio_signal_used(d, RXQ);
}

static void tap_readable(void *opaque, uint32_t revents)
{
	struct net *n = opaque;

	(void)revents;
	pthread_mutex_lock(&n->d->lock);
	if (virtio_dev_active(n->d) && n->rx_polling)
		rx_run(n);
	else
		rx_poll(n, false);
	pthread_mutex_unlock(&n->d->lock);
}

static void rx_poll(struct net *n, bool on)
{
	if (on == n->rx_polling)
		return;
	if (on) {
		if (vm_io_watch(n->d->vm, n->tap, EPOLLIN, tap_readable, n))
			return;
		/* While we poll the tap, guest kicks on RX add nothing. */
		virtq_disable_notify(&n->d->vq[RXQ]);
	} else {
		vm_io_unwatch(n->d->vm, n->tap);
	}
	n->rx_polling = on;
}

/* Send one TX chain; frames the tap refuses are dropped (like a full NIC). */
static int tx_one(struct net *n, const struct virtq_chain *c)
{
	struct iovec tmp[VIRTQ_MAX_SIZE];
	ssize_t r;

	if (c->n_in || c->out_len < HDR_LEN)
		return -EINVAL;
	if (n->vnet_hdr)
		r = writev(n->tap, c->iov, c->n_out);
	else
		r = writev(n->tap, tmp, iov_skip(c->iov, c->n_out, HDR_LEN, tmp));
	(void)r;
	return 0;
}

/* Come back to TX after the I/O thread's other work, as if kicked again. */
static bool tx_yield(struct virtio_dev *d)
{
	uint64_t one = 1;

	return d->kick_fd[TXQ] >= 0 && write(d->kick_fd[TXQ], &one, sizeof(one)) == sizeof(one);
}

static void tx_run(struct net *n)
{
	struct virtio_dev *d = n->d;
	struct virtq *vq = &d->vq[TXQ];
	struct virtq_chain c;
	unsigned budget = TX_BUDGET;
	int r;

	do {
		/* No kicks while we drain: the guest sees we are busy. */
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, &c)) > 0) {
			if (tx_one(n, &c)) {
				virtio_dev_fail(d,
						"tx buffer device-writable or shorter than header");
				return;
			}
			virtq_push(vq, c.head, 0);
			if (--budget == 0 && tx_yield(d))
				goto out;
		}
		if (r < 0) {
			virtio_dev_fail(d, "tx queue: %s", virtq_strerror(r));
			return;
		}
	} while (virtq_enable_notify(vq));
out:
	virtio_signal_used(d, TXQ);
}

static void net_notify(struct virtio_dev *d, unsigned q)
{
	struct net *n = d->priv;

	if (q == TXQ) {
		tx_run(n);
		return;
	}
	/* RX kick: the guest added buffers after we ran dry. */
	rx_poll(n, true);
	if (n->rx_polling)
		rx_run(n);
}

static int net_activate(struct virtio_dev *d)
{
	struct net *n = d->priv;

	if (!d->vq[RXQ].size || !d->vq[TXQ].size)
		return -EINVAL;
	rx_poll(n, true);
	if (!n->rx_polling)
		return -EIO;
	tx_run(n);
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	rx_poll(d->priv, false);
}

/* Device state beyond the transport: whether the tap was being polled. */
struct net_snap {
	uint32_t rx_polling;
	uint32_t vnet_hdr;
};

static int net_save(struct virtio_dev *d, void *buf, size_t len)
{
	struct net *n = d->priv;
	struct net_snap s = {.rx_polling = n->rx_polling, .vnet_hdr = n->vnet_hdr};

	if (len < sizeof(s))
		return -ENOSPC;
	memcpy(buf, &s, sizeof(s));
	return sizeof(s);
}

/*
 * The clone's tap is a different one; frames queued in the old tap are not
 * part of the snapshot. An active device polls its new tap as after a kick,
 * and TX chains the guest queued before the snapshot go out now.
 */
static int net_restore(struct virtio_dev *d, const void *buf, size_t len)
{
	struct net *n = d->priv;

	if (len != sizeof(struct net_snap))
		return -EINVAL;
	(void)buf;
	if (!virtio_dev_active(d))
		return 0;
	rx_poll(n, true);
	if (!n->rx_polling)
		return -EIO;
	rx_run(n);
	tx_run(n);
	return 0;
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS),
	.nr_queues = 2,
	.queue_max = NET_QUEUE_MAX,
	.config_len = offsetof(struct virtio_net_config, max_virtqueue_pairs),
	.notify = net_notify,
	.activate = net_activate,
	.reset = net_reset,
	.save = net_save,
	.restore = net_restore,
};

static int tap_attach(const char *name, bool *vnet_hdr)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int fd, err;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*vnet_hdr = true;
	return fd;
}

/* An inherited fd must be a tap without packet info; vnet headers optional. */
static int tap_check(int fd, bool *vnet_hdr)
{
	struct ifreq ifr = {0};
	int fl;

	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI))
		return -EINVAL;
	*vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return fd;
}

/* 12-byte v1 headers on the tap; no offloads, since we offer none. */
static int tap_setup(int fd)
{
	int sz = HDR_LEN;

	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		return -errno;
	return 0;
}

static void set_error(const struct virtio_net_opts *o, const char *what, int err)
{
	if (o->err && o->errlen)
		snprintf(o->err, o->errlen, "%s: %s", what, strerror(-err));
}

int virtio_net_create(struct vm *vm, const struct virtio_net_opts *o)
{
	struct virtio_net_config cfg = {.status = VIRTIO_NET_S_LINK_UP};
	struct virtio_dev *d = calloc(1, sizeof(*d));
	struct net *n = calloc(1, sizeof(*n));
	int err = -ENOMEM;

	if (!d || !n)
		goto fail;
	n->tap = -1;
	err = o->tap_fd >= 0 ? tap_check(o->tap_fd, &n->vnet_hdr)
	      : o->tap_name  ? tap_attach(o->tap_name, &n->vnet_hdr)
			     : -EINVAL;
	if (err < 0) {
		set_error(o,
			  o->tap_fd >= 0 ? "inherited fd is not a usable tap" : "cannot open tap",
			  err);
		goto fail;
	}
	n->tap = err;
	err = n->vnet_hdr ? tap_setup(n->tap) : 0;
	if (err) {
		set_error(o, "cannot set tap vnet header size/offloads", err);
		goto fail;
	}
	n->d = d;
	d->ops = &net_ops;
	d->vm = vm;
	d->priv = n;
	memcpy(cfg.mac, o->mac, sizeof(cfg.mac));
	memcpy(d->config, &cfg, net_ops.config_len);
	err = virtio_mmio_add(d);
	if (err) {
		set_error(o, "cannot add virtio-net", err);
		goto fail;
	}
	pr_info("virtio-net: slot %u, tap fd %d, vnet_hdr %d", d->slot, n->tap, n->vnet_hdr);
	return 0;
fail:
	if (n && n->tap >= 0 && n->tap != o->tap_fd)
		close(n->tap);
	free(n);
	free(d);
	return err;
}

/* ---- the net kind: one device per --net (kinds.h) ---- */

static unsigned net_count(const struct cli_opts *o)
{
	return o->nr_net;
}

/* The nth --net's tap with @mac; @err gets the reason, prefixed with the option. */
static int net_create_on(struct vm *vm, const struct cli_net *c, const uint8_t mac[6], char *err,
			 size_t errlen)
{
	struct virtio_net_opts n = {.tap_name = c->tap_name, .tap_fd = c->tap_fd};
	char why[256] = "";
	int ret;

	n.err = why;
	n.errlen = sizeof(why);
	memcpy(n.mac, mac, 6);
	ret = virtio_net_create(vm, &n);
	if (ret && c->tap_name)
		snprintf(err, errlen, "--net tap=%s: %s", c->tap_name,
			 why[0] ? why : strerror(-ret));
	else if (ret)
		snprintf(err, errlen, "--net fd=%d: %s", c->tap_fd, why[0] ? why : strerror(-ret));
	return ret;
}

static int net_kind_create(struct vm *vm, const struct cli_opts *o, unsigned nth)
{
	char err[512];
	int ret = net_create_on(vm, &o->net[nth], o->net[nth].mac, err, sizeof(err));

	if (ret)
		pr_err("%s", err);
	return ret;
}

/* A clone keeps the MAC its guest already uses (refresh_clone() may change the first). */
static int net_restore_create(struct vm *vm, const struct cli_opts *o,
			      const struct virtio_restore_arg *a)
{
	return net_create_on(vm, &o->net[a->nth], a->rec->config, a->err, a->errlen);
}

const struct virtio_kind virtio_net_kind = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.option = "--net",
	.count = net_count,
	.create = net_kind_create,
	.restore_create = net_restore_create,
	.clone_mac = true,
};
