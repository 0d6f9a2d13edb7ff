// SPDX-License-Identifier: Apache-2.0
/* A stand-in VMM for the netns test: copies frames between a host tap and a guest namespace's tap.
 */
#ifndef EMBER_TESTS_FWD_H
#define EMBER_TESTS_FWD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/*
 * What ember-vmm does with a guest's tap, minus the guest: frames the host
 * tap emits (what XDP redirected to the guest) are written into a tap inside
 * the guest's namespace, where a real network stack and real sockets receive
 * them; what that stack sends is written back into the host tap, so it
 * enters XDP on the host tap exactly like a guest's transmit would.
 */
struct fwd {
	int host_fd, guest_fd;
	int stop_fd; /* eventfd: stops the thread */
	pthread_t thread;
	int running;
	/* Statistics the test asserts on. */
	atomic_uint to_guest, to_host;
	atomic_uint syns_to_guest; /* TCP SYN (without ACK) frames towards the guest */
	uint16_t syn_port;	   /* count SYNs to this TCP port only (0 = any) */
};

/* Starts forwarding. Returns 0 or -errno. */
int fwd_start(struct fwd *f, int host_fd, int guest_fd, uint16_t syn_port);
/* Stops and joins the thread; the fds stay open (the caller owns them). */
void fwd_stop(struct fwd *f);

/* Writes one frame that the test already read from the host tap into the guest. */
int fwd_inject(struct fwd *f, const void *frame, size_t len);

/* Is (frame) an IPv4 or IPv6 TCP SYN (no ACK) to (port)? (port 0 = any) */
int frame_is_syn(const uint8_t *frame, size_t len, uint16_t port);

#endif
