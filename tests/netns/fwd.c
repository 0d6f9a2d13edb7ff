// SPDX-License-Identifier: Apache-2.0
/* A stand-in VMM for the netns test: copies frames between a host tap and a guest namespace's tap.
 */
#include "fwd.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int frame_is_syn(const uint8_t *p, size_t len, uint16_t port)
{
	size_t l3 = 14, l4;
	uint16_t type;
	uint8_t proto;

	if (len < 14)
		return 0;
	type = (uint16_t)(p[12] << 8 | p[13]);
	if (type == 0x8100 && len >= 18) {
		type = (uint16_t)(p[16] << 8 | p[17]);
		l3 = 18;
	}
	if (type == 0x0800 && len >= l3 + 20) {
		proto = p[l3 + 9];
		l4 = l3 + (size_t)(p[l3] & 0xf) * 4;
	} else if (type == 0x86dd && len >= l3 + 40) {
		proto = p[l3 + 6]; /* the test sends no extension headers */
		l4 = l3 + 40;
	} else {
		return 0;
	}
	if (proto != 6 || len < l4 + 14)
		return 0;
	if (port && (uint16_t)(p[l4 + 2] << 8 | p[l4 + 3]) != port)
		return 0;
	return (p[l4 + 13] & 0x12) == 0x02; /* SYN set, ACK clear */
}

/* Copies every frame waiting on (from) to (to); 0, or -errno on a hard error. */
static int pump(struct fwd *f, int from, int to, int towards_guest)
{
	uint8_t buf[65536];
	ssize_t n;

	for (;;) {
		n = read(from, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (towards_guest) {
			atomic_fetch_add(&f->to_guest, 1);
			if (frame_is_syn(buf, (size_t)n, f->syn_port))
				atomic_fetch_add(&f->syns_to_guest, 1);
		} else {
			atomic_fetch_add(&f->to_host, 1);
		}
		/* A full tap queue drops, like a NIC would; not an error here. */
		if (write(to, buf, (size_t)n) < 0 && errno != EAGAIN && errno != EIO)
			return -errno;
	}
}

static void *fwd_main(void *arg)
{
	struct fwd *f = arg;
	struct pollfd p[3] = {
		{.fd = f->host_fd, .events = POLLIN},
		{.fd = f->guest_fd, .events = POLLIN},
		{.fd = f->stop_fd, .events = POLLIN},
	};

	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if ((p[0].revents & POLLIN) && pump(f, f->host_fd, f->guest_fd, 1))
			break;
		if ((p[1].revents & POLLIN) && pump(f, f->guest_fd, f->host_fd, 0))
			break;
	}
	return NULL;
}

int fwd_start(struct fwd *f, int host_fd, int guest_fd, uint16_t syn_port)
{
	int err;

	f->host_fd = host_fd;
	f->guest_fd = guest_fd;
	f->syn_port = syn_port;
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (f->stop_fd < 0)
		return -errno;
	err = pthread_create(&f->thread, NULL, fwd_main, f);
	if (err) {
		close(f->stop_fd);
		return -err;
	}
	f->running = 1;
	return 0;
}

void fwd_stop(struct fwd *f)
{
	uint64_t one = 1;

	if (!f->running)
		return;
	if (write(f->stop_fd, &one, sizeof(one)) < 0)
		pthread_cancel(f->thread);
	pthread_join(f->thread, NULL);
	close(f->stop_fd);
	f->running = 0;
}

int fwd_inject(struct fwd *f, const void *frame, size_t len)
{
	atomic_fetch_add(&f->to_guest, 1);
	if (frame_is_syn(frame, len, f->syn_port))
		atomic_fetch_add(&f->syns_to_guest, 1);
	return write(f->guest_fd, frame, len) < 0 ? -errno : 0;
}
