// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Address rewriting with incremental checksum fixes, L2 rewrite and VLAN strip. */
#ifndef EMBER_BPF_NAT_H
#define EMBER_BPF_NAT_H

#include "csum.bpf.h"
#include "parsing.bpf.h"

/* Fixes the L4 checksum of (p) for an address change (from) -> (to). */
static __always_inline void l4_csum_fix(struct pkt *p, void *from, void *to, __u32 size, void *end)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *t = p->l4;

		if ((void *)(t + 1) <= end)
			csum_replace(&t->check, from, to, size);
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *u = p->l4;

		if ((void *)(u + 1) > end)
			return;
		/* IPv4 UDP without checksum stays without; IPv6 always has one. */
		if (p->family == EMBER_FAMILY_V4 && u->check == 0)
			return;
		csum_replace_udp(&u->check, from, to, size);
	}
}

/* Rewrites the destination (dst=1) or source address to (addr). */
static __always_inline void nat_addr(struct pkt *p, const __u8 *addr, int dst, void *end)
{
	if (p->family == EMBER_FAMILY_V4) {
		__be32 old, new;

		__builtin_memcpy(&new, addr, 4);
		old = dst ? p->ip4->daddr : p->ip4->saddr;
		if (dst)
			p->ip4->daddr = new;
		else
			p->ip4->saddr = new;
		csum_replace(&p->ip4->check, &old, &new, 4);
		l4_csum_fix(p, &old, &new, 4, end);
	} else {
		struct in6_addr old, new;

		__builtin_memcpy(&new, addr, 16);
		if (dst) {
			old = p->ip6->daddr;
			p->ip6->daddr = new;
		} else {
			old = p->ip6->saddr;
			p->ip6->saddr = new;
		}
		l4_csum_fix(p, &old, &new, 16, end);
	}
}

/*
 * Sets the MACs and removes an 802.1Q tag (taps and guests are untagged).
 * The tag's inner ethertype already sits where the untagged header's would,
 * so writing the MACs 4 bytes further and moving the head is enough.
 * Invalidates every packet pointer. Returns 0 or -1.
 */
static __always_inline int set_l2(struct xdp_md *ctx, int tagged, const __u8 *dst, const __u8 *src)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 off = tagged ? 4 : 0;
	struct ethhdr *eth = data + off;

	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	if (tagged && bpf_xdp_adjust_head(ctx, 4))
		return -1;
	return 0;
}

#endif
