// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Bench-only XDP programs: a frame generator, the two redirect baselines and a counting sink. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TEMPLATE_LEN 64 /* one minimal Ethernet frame without FCS */
#define ETH_ALEN     6

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

/*
 * The baseline, `xdp-bench redirect` (xdp-tools), which does not load
 * on kernel 6.18: the same work, written here. Per frame it counts into the
 * running CPU's record of an mmapable array (a torn-free plain increment),
 * swaps the Ethernet addresses and calls bpf_redirect() with the out
 * device's ifindex, fixed in rodata before load.
 */
const volatile __u32 xb_ifindex_out;

struct xb_rec {
	__u64 processed;
	__u64 pad[7]; /* one cache line per CPU, like xdp-bench's records */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct xb_rec);
} xb_rx_cnt SEC(".maps");

SEC("xdp")
int bench_xdp_bench_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 cpu = bpf_get_smp_processor_id();
	struct ethhdr *eth = data;
	struct xb_rec *rec;
	__u8 tmp[ETH_ALEN];

	if (data + sizeof(*eth) > end)
		return XDP_DROP;
	rec = bpf_map_lookup_elem(&xb_rx_cnt, &cpu);
	if (!rec)
		return XDP_PASS;
	*(volatile __u64 *)&rec->processed = rec->processed + 1;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return bpf_redirect(xb_ifindex_out, 0);
}

/* The strictest floor: redirect every frame through a devmap, nothing else. */
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
