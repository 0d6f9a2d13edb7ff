// SPDX-License-Identifier: Apache-2.0
/* The I/O thread: one epoll loop running device back-end callbacks (vm_io_watch). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "vm_internal.h"

#define IO_BATCH 32

struct io_watch {
	int fd;
	bool dead; /* unwatched: events already fetched for it are skipped */
	io_watch_fn cb;
	void *opaque;
	struct io_watch *next;
};

int iothread_init(struct iothread *io)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	io->stop_fd = -1;
	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (io->epfd < 0)
		return -errno;
	io->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->stop_fd < 0)
		return -errno;
	/* data.ptr == NULL marks the stop eventfd. */
	if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->stop_fd, &ev) < 0)
		return -errno;
	return 0;
}

static void free_list(struct io_watch *w)
{
	while (w) {
		struct io_watch *next = w->next;

		free(w);
		w = next;
	}
}

/*
 * Run one batch of events. A callback may watch or unwatch anything,
 * including its own fd: unwatched entries stay allocated (as zombies) until
 * the batch that may still reference them is over.
 */
static bool iothread_batch(struct iothread *io, struct epoll_event *ev, int n)
{
	struct io_watch *zombies;
	bool stop = false;

	for (int i = 0; i < n; i++) {
		struct io_watch *w = ev[i].data.ptr;
		io_watch_fn cb = NULL;
		void *opaque = NULL;

		if (!w) {
			stop = true;
			continue;
		}
		pthread_mutex_lock(&io->lock);
		if (!w->dead) {
			cb = w->cb;
			opaque = w->opaque;
		}
		pthread_mutex_unlock(&io->lock);
		/* Not under io->lock: callbacks take device locks that vCPU
		 * threads hold while calling vm_io_watch(). */
		if (cb)
			cb(opaque, ev[i].events);
	}
	pthread_mutex_lock(&io->lock);
	zombies = io->zombies;
	io->zombies = NULL;
	pthread_mutex_unlock(&io->lock);
	free_list(zombies);
	return stop;
}

static void *iothread_main(void *arg)
{
	struct iothread *io = arg;
	struct epoll_event ev[IO_BATCH];

	for (;;) {
		int n = epoll_wait(io->epfd, ev, IO_BATCH, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("I/O thread: epoll_wait: %s", strerror(errno));
			break;
		}
		if (iothread_batch(io, ev, n))
			break;
	}
	return NULL;
}

int iothread_start(struct iothread *io)
{
	int ret = pthread_create(&io->thread, NULL, iothread_main, io);

	if (ret)
		return -ret;
	pthread_setname_np(io->thread, "ember-io");
	io->running = true;
	return 0;
}

void iothread_stop(struct iothread *io)
{
	uint64_t one = 1;

	if (io->running) {
		if (write(io->stop_fd, &one, sizeof(one)) != sizeof(one))
			pr_err("I/O thread: cannot signal stop: %s", strerror(errno));
		pthread_join(io->thread, NULL);
		io->running = false;
	}
	free_list(io->watches);
	free_list(io->zombies);
	io->watches = io->zombies = NULL;
	if (io->stop_fd >= 0)
		close(io->stop_fd);
	if (io->epfd >= 0)
		close(io->epfd);
	io->stop_fd = io->epfd = -1;
}

int vm_io_watch(struct vm *vm, int fd, uint32_t events, io_watch_fn cb, void *opaque)
{
	struct iothread *io = &vm->io;
	struct io_watch *w;
	struct epoll_event ev;
	int ret = 0;

	if (fd < 0 || !cb)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct io_watch){.fd = fd, .cb = cb, .opaque = opaque};
	ev = (struct epoll_event){.events = events, .data.ptr = w};
	/* Under the lock so a concurrent unwatch of the same fd sees the list entry. */
	pthread_mutex_lock(&io->lock);
	if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		free(w);
	} else {
		w->next = io->watches;
		io->watches = w;
	}
	pthread_mutex_unlock(&io->lock);
	return ret;
}

int vm_io_unwatch(struct vm *vm, int fd)
{
	struct iothread *io = &vm->io;
	struct io_watch **pw, *w;
	int ret = -ENOENT;

	pthread_mutex_lock(&io->lock);
	for (pw = &io->watches; (w = *pw); pw = &w->next) {
		if (w->fd != fd)
			continue;
		epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL);
		w->dead = true;
		*pw = w->next;
		w->next = io->zombies;
		io->zombies = w;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&io->lock);
	return ret;
}
