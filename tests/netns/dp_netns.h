// SPDX-License-Identifier: Apache-2.0
/* Shared state of the netns integration test (dp_netns*.c): topology, handles, checks. */
#ifndef EMBER_TESTS_DP_NETNS_H
#define EMBER_TESTS_DP_NETNS_H

#include <stdio.h>
#include <sys/socket.h>

#include "dp/dp.h"
#include "echo.h"
#include "fwd.h"
#include "nslib.h"

/*
 * Topology (every name carries the test's PID; nothing outside these
 * namespaces is touched, the pins live in their own bpffs directory):
 *
 *   ns C (client)          ns H (host: router, taps)          ns GA / GB (guests)
 *   cli0 10.99.0.2 <-veth-> rtr0 10.99.0.1  [XDP router]
 *   (XDP_PASS on cli0)      tapa [XDP guest] <- fwd thread -> eth0 10.0.2.15 (guest A)
 *                           taps [XDP guest] <- fwd thread -> eth0 10.0.2.15 (guest B)
 *
 * App A has a live guest behind tapa; app B has no guest, only the standby
 * tap taps, held open but not read until its wake event arrives. The fwd
 * threads play ember-vmm: they copy frames between a host tap and the guest
 * namespace's eth0 (itself a tap the test holds), where real sockets answer.
 */
#define APP_A	    1
#define APP_B	    2
#define VIP4	    "10.200.0.1"
#define VIP6	    "fd00:200::1"
#define GUEST_IP4   "10.0.2.15"
#define GUEST_IP6   "fd00:2::15"
#define GATEWAY_IP4 "10.0.2.2" /* answered by the guest program's ARP/ND */
#define GATEWAY_IP6 "fd00:2::2"
#define PORT_A_TCP  80
#define PORT_UDP    53
#define PORT_B_TCP  8080

struct env {
	struct ns_set ns;
	int h, c, ga, gb; /* namespace indexes */
	char pin_root[64];
	struct dp *dp;
	int rtr0_idx;
	int tapa_fd, tapa_idx, taps_fd, taps_idx;
	int gtap_a_fd, gtap_b_fd;
	struct fwd fwd_a, fwd_b;
	struct echo echo_a, echo_b;
	int failures;
};

extern struct env env;
extern const uint8_t mac_a[6], mac_b[6];

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		int ok_ = !!(cond);                                                                \
		printf("%s: ", ok_ ? "ok" : "FAIL");                                               \
		printf(__VA_ARGS__);                                                               \
		if (!ok_) {                                                                        \
			printf(" (%s:%d)", __FILE__, __LINE__);                                    \
			env.failures++;                                                            \
		}                                                                                  \
		printf("\n");                                                                      \
	} while (0)

/* Prints "FAIL: what: strerror" and exits (cleanup runs from atexit). */
void die(const char *what, int err) __attribute__((noreturn));
/* A socket created inside namespace (idx); the thread returns to H after. */
int socket_in(int idx, int domain, int type);
/* Fills (ss) for (ip, port); returns its length. */
socklen_t sockaddr_of(const char *ip, uint16_t port, struct sockaddr_storage *ss);

/* dp_netns_setup.c */
void setup_namespaces(void);
void setup_dataplane(void);
void setup_guests(void);
struct dp_guest guest_a(void);
struct dp_guest guest_b(void);

/* dp_netns_cases.c */
void case_roundtrips(const char *vip);
void case_wake(void);
void case_counters(void);
void case_restart(void);
void case_abi_version(void);
void case_service_del(void);
void case_slot_gen(void);

#endif
