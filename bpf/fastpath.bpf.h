// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The router's fast path: established IPv4 flows from the per-CPU flow cache, parsed in place. */
#ifndef EMBER_BPF_FASTPATH_H
#define EMBER_BPF_FASTPATH_H

#include "csum.bpf.h"
#include "fcache.bpf.h"

/* The router's gateway MAC knob (router.bpf.c): the source MAC of frames into taps. */
extern const volatile __u8 gw_mac[ETH_ALEN] __attribute__((aligned(4)));

/*
 * The common case in as few instructions as possible: an untagged IPv4
 * TCP/UDP packet without options, fragments, FIN, RST or SYN, of a flow this
 * CPU's flow cache knows. Everything is read into locals (stores through a
 * struct pkt pointer could alias the packet, which makes clang reload header
 * fields). 0 and the action in (act), or -1 for the full path, which parses
 * again and decides everything (including what this one declined).
 */
static __always_inline int fast_v4(struct xdp_md *ctx, int *act)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct ember_flow_cache *fc;
	struct ember_guest *g;
	union fkey fk;
	struct fc_hit h;
	__u32 tot, daddr, guest_ip, delta, ifindex, bytes = (__u32)(end - data);
	__u16 *l4sum, c;
	__u8 proto;

	if ((void *)(ip + 1) + sizeof(struct tcphdr) > end)
		return -1; /* also covers UDP; shorter frames take the full path */
	/* What is not untagged, option-less, unfragmented IPv4 (pass-through
	 * traffic included) leaves before paying for the hash and lookup. */
	if (eth->h_proto != bpf_htons(ETH_P_IP) || *(__u8 *)ip != 0x45 ||
	    (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return -1;
	/*
	 * The key next, the remaining checks after: the flow's cache entry is
	 * usually not in L1 (the other flows' packets and the kernel's
	 * per-frame state pass between two of a flow's packets; perf put ~15%
	 * of the router's time on its first load), and touching it now lets the
	 * CPU fetch it while the length and TCP flag checks run. A key built
	 * from a frame those checks decline is never used. The same key
	 * flow_key() builds (little endian: ports, then proto and family in the
	 * last word; IPv4 addresses in the low words).
	 */
	daddr = ip->daddr;
	proto = ip->protocol;
	fk.w[0] = ip->saddr;
	fk.w[1] = 0;
	fk.w[2] = daddr;
	fk.w[3] = 0;
	fk.w[4] = *(__u32 *)(ip + 1) | (__u64)proto << 32 | (__u64)EMBER_FAMILY_V4 << 40;
	fc = fc_entry(&fk);
	if (!fc)
		return -1;
	fc_touch(fc);
	tot = bpf_ntohs(ip->tot_len);
	asm volatile("%0 &= 0xffff" : "+r"(tot)); /* 6.1 verifier: see parse_ip4() */
	if (tot < sizeof(*ip) || (void *)ip + tot > end)
		return -1;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *t = (void *)(ip + 1);

		if (((__u8 *)t)[13] & (TCP_FLAG_FIN | TCP_FLAG_RST | TCP_FLAG_SYN))
			return -1;
		l4sum = (__u16 *)&t->check;
	} else if (proto == IPPROTO_UDP) {
		l4sum = (__u16 *)&((struct udphdr *)(ip + 1))->check;
	} else {
		return -1;
	}
	g = fc_use(fc, &fk, bpf_jiffies64(), bytes, &h);
	if (!g)
		return -1;
	/* Rewrite exactly as to_tap() does, in word-sized accesses. */
	guest_ip = *(__u32 *)g->ip4;
	ip->daddr = guest_ip;
	delta = csum_delta4(daddr, guest_ip);
	ip->check = csum_apply(ip->check, delta);
	c = *l4sum;
	if (proto == IPPROTO_TCP)
		*l4sum = csum_apply(c, delta);
	else if (c) /* UDP without checksum stays without; a computed 0 is sent as 0xffff */
		*l4sum = csum_apply(c, delta) ?: 0xffff;
	*(__u32 *)eth->h_dest = *(__u32 *)g->mac;
	*(__u16 *)(eth->h_dest + 4) = *(__u16 *)(g->mac + 4);
	*(__u32 *)eth->h_source = *(volatile const __u32 *)gw_mac;
	*(__u16 *)(eth->h_source + 4) = *(volatile const __u16 *)(gw_mac + 4);
	ifindex = g->tap_ifindex;
	*act = verdict(bpf_redirect_map(&ember_taps, ifindex, XDP_DROP), EMBER_V_TO_GUEST, ifindex,
		       h.app_id, h.slot, 0);
	debug_flags(EMBER_DBG_F_FLOW_CACHE | EMBER_DBG_F_FAST_V4);
	return 0;
}

#endif
