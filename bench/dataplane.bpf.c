// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Bench-only XDP programs: a frame generator, a redirect-only baseline and a counting sink. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TEMPLATE_LEN 64 /* one minimal Ethernet frame without FCS */

/*
 * The frame the generator emits, written by userspace through the mmap'ed .bss
 * (it changes between phases of the bench). Live-frame
 * pages are recycled through the test run's page pool *with whatever the
 * receiver wrote into them* (the router rewrites MACs and addresses in place),
 * so the generator copies the whole header back on every run instead of
 * trusting the page contents.
 */
__u8 tmpl[TEMPLATE_LEN];
/* How many UDP source ports (flows) to rotate over; tmpl is IPv4 without options. */
__u32 nflows;
#define SPORT_OFF (14 + 20)

__u32 seq;

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} bench_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_count SEC(".maps");

/* Run through BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: XDP_TX sends the
 * frame out of ctx->ingress_ifindex, i.e. into the peer of a veth. */
SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u16 sport;
	__u32 i;

	if (data + TEMPLATE_LEN > end)
		return XDP_ABORTED;
	for (i = 0; i < TEMPLATE_LEN; i += 8)
		*(__u64 *)(data + i) = *(volatile __u64 *)&tmpl[i];
	if (nflows > 1) {
		/* UDP checksum 0 in the template: changing the port needs no fixup. */
		sport = bpf_ntohs(*(__u16 *)(data + SPORT_OFF)) + seq++ % nflows;
		*(__u16 *)(data + SPORT_OFF) = bpf_htons(sport);
	}
	return XDP_TX;
}

/* The baseline the router is compared with: redirect every frame, no parsing. */
SEC("xdp")
int bench_raw_redirect(struct xdp_md *ctx)
{
	(void)ctx;
	return bpf_redirect_map(&bench_tx, 0, 0);
}

/* The sink on the far veth end: native XDP there is what makes the redirect
 * into its peer take the fast path; it counts and drops. */
SEC("xdp")
int bench_count_drop(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&bench_count, &key);

	(void)ctx;
	if (n)
		*n += 1;
	return XDP_DROP;
}

/* Lets frames into the stack; attached where a veth peer must be XDP-enabled. */
SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
