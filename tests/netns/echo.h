// SPDX-License-Identifier: Apache-2.0
/* The responder inside a guest namespace: answers TCP and UDP with "<tag>:<request>". */
#ifndef EMBER_TESTS_ECHO_H
#define EMBER_TESTS_ECHO_H

#include <pthread.h>
#include <stdatomic.h>

#define ECHO_MAX 512

/* One thread serving a listening TCP socket and a bound UDP socket that the
 * caller created inside the guest's namespace (sockets keep their netns). */
struct echo {
	int tcp_fd, udp_fd, stop_fd;
	char tag[32];
	pthread_t thread;
	int running;
	atomic_uint served;
};

/* Starts serving. Returns 0 or -errno. */
int echo_start(struct echo *e, int tcp_fd, int udp_fd, const char *tag);
/* Stops and joins; the sockets stay open (the caller owns them). */
void echo_stop(struct echo *e);

#endif
