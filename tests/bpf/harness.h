// SPDX-License-Identifier: Apache-2.0
/* Loads router + guest programs (debug knob on, maps shared, nothing pinned) in a private netns for
 * BPF_PROG_TEST_RUN tests. */
#ifndef EMBER_TESTS_BPF_HARNESS_H
#define EMBER_TESTS_BPF_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <ember/maps.h>

#define H_NTAPS 8

struct router_bpf;
struct guest_bpf;

struct harness {
	struct router_bpf *router;
	struct guest_bpf *guest;
	int router_fd, guest_fd; /* program fds */
	int tap_fd[H_NTAPS];
	int tap[H_NTAPS]; /* ifindexes */
	int egress;	  /* ifindex of the "uplink" tap (the last one) with routes + neighbours */
	uint8_t egress_mac[6];
	int ncpu;
};

/* Test knobs the harness sets in both programs' rodata. */
extern const uint8_t H_GW_MAC[6], H_GW_IP4[4], H_GW_IP6[16];

/*
 * Enters a fresh network namespace, pins the process to CPU 0 (per-CPU maps
 * are read at index 0), creates H_NTAPS taps plus an uplink, loads both
 * programs. Returns 0, 77 when root/BPF is missing (after printing SKIP:),
 * or another non-zero value on failure.
 */
int h_open(struct harness *h, uint64_t wake_rearm_ns);
void h_close(struct harness *h);

/* Runs (prog_fd) on (in) as if received on (ifindex). (out)/(outlen) get the
 * frame as the program left it. Returns the XDP action or -errno. */
int h_run(struct harness *h, int prog_fd, uint32_t ifindex, const void *in, size_t inlen, void *out,
	  size_t *outlen);
/* The last decision recorded by the programs on the calling thread's CPU (ember_dbg). */
int h_last(struct harness *h, struct ember_debug *d);
/* Zeroes ember_dbg. */
void h_clear_last(struct harness *h);

/* Map shortcuts, all return 0 or -errno. (addr) is 16 bytes. */
int h_service(struct harness *h, int family, const uint8_t *vip, uint16_t port, uint8_t proto,
	      uint32_t app_id);
int h_app(struct harness *h, uint32_t app_id, int standby_ifindex);
int h_guest_add(struct harness *h, uint32_t slot, uint32_t app_id, int tap_ifindex,
		const uint8_t mac[6], const uint8_t ip4[4], const uint8_t ip6[16]);
int h_host_addr(struct harness *h, int family, const uint8_t *addr);

/* Counters of (map) at (key), summed over CPUs. */
int h_counters(struct harness *h, const char *map, uint32_t key, struct ember_counters *out);
/* Sum over CPUs of ember_verdicts[v]. */
uint64_t h_verdicts(struct harness *h, uint32_t v);
/* Wake events waiting in the ring (consumed and counted; (app_ids) may be NULL). */
int h_drain_wake(struct harness *h, uint32_t *app_ids, int max);
/* fd of a map by name (router object). */
int h_map(struct harness *h, const char *name);

#endif
