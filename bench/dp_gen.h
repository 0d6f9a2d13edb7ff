// SPDX-License-Identifier: Apache-2.0
/* Frame generator for the dataplane bench: live XDP frames injected into a veth. */
#ifndef EMBER_BENCH_DP_GEN_H
#define EMBER_BENCH_DP_GEN_H

#include <stdint.h>

struct dataplane_bpf;

/* The flow the generator sends: IPv4/UDP from src:sport to dst:dport. */
struct gen_flow {
	uint8_t dst_mac[6], src_mac[6];
	uint32_t saddr, daddr; /* network byte order */
	uint16_t sport, dport; /* host byte order */
	uint32_t nflows;       /* rotate the source port over this many values */
};

/* Writes the 64-byte frame for (f) into (tmpl): valid IPv4 header checksum,
 * UDP checksum 0 (legal for IPv4, so rotating the port needs no fixup). */
void gen_frame(const struct gen_flow *f, uint8_t tmpl[64]);

/*
 * Sends (count) frames out of (ifindex) (they arrive at its veth peer) with
 * BPF_PROG_RUN in live-frame mode, on the calling CPU. Returns 0 or -errno.
 */
int gen_send(struct dataplane_bpf *skel, int ifindex, uint64_t count);

/* Sends frames for about (secs) seconds; returns how many were sent, or -errno. */
int64_t gen_for(struct dataplane_bpf *skel, int ifindex, double secs);

/* Sum of the per-CPU sink counter. */
uint64_t sink_count(struct dataplane_bpf *skel);

#endif
