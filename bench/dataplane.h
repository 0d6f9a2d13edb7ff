// SPDX-License-Identifier: Apache-2.0
/* Shared state of the dataplane bench (bench/dataplane.c, bench/dp_measure.c). */
#ifndef EMBER_BENCH_DATAPLANE_H
#define EMBER_BENCH_DATAPLANE_H

#include "dp/dp.h"
#include "dp_gen.h"
#include "../tests/netns/nslib.h"

/*
 * Topology, all inside one namespace the bench creates:
 *
 *   gen0 --veth--> rx0 [router | raw redirect] --redirect--> out0 --veth--> sink0 [count, drop]
 *                                               \--standby--> stby (tap, held open)
 *
 * Frames are produced by bench_gen through BPF_PROG_RUN in live-frame mode
 * (XDP_TX out of gen0), so they arrive at rx0's native XDP like a NIC's.
 * The live guest's "tap" is the veth out0: the bench measures the router's
 * own cost, not a tap reader in userspace.
 */
#define APP_LIVE  1
#define APP_IDLE  2
#define VIP	  "10.200.0.1"
#define CLIENT	  "10.99.0.2"
#define PORT_LIVE 9
#define PORT_IDLE 10

struct bench {
	struct ns_set ns;
	char pin_root[64];
	struct dp *dp;
	struct dataplane_bpf *skel;
	int gen0, rx0, out0, sink0, stby, stby_fd;
	uint8_t rx0_mac[6], gen0_mac[6];
	/* knobs (environment: EMBER_BENCH_SECS, EMBER_BENCH_ROUNDS, ...) */
	double rate_secs;
	int rate_rounds, wake_samples, burst;
	const char *only; /* EMBER_BENCH_ONLY: one program's rate rounds, or NULL */
};

extern struct bench B;

void bench_fail(const char *what, int err) __attribute__((noreturn));

/* Points the generator at (port) on the VIP. */
void bench_target(uint16_t port, uint32_t nflows);

/* dp_measure.c: each prints its name=value lines. */
void measure_rate(void);
void measure_wake_latency(void);
void measure_wake_burst(void);

#endif
