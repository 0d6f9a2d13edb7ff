// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Cursor-based packet parsers: each checks bounds, advances the cursor and returns the next
 * protocol or -1. */
#ifndef EMBER_BPF_PARSING_H
#define EMBER_BPF_PARSING_H

#include "common.bpf.h"

struct cursor {
	void *pos;
	void *end;
};

struct ember_vlan {
	__be16 tci;
	__be16 proto;
};

/* Everything the programs need to know about one frame. */
struct pkt {
	struct ethhdr *eth;
	struct ember_vlan *vlan; /* NULL when untagged */
	struct iphdr *ip4;
	struct ipv6hdr *ip6;
	void *l4;    /* TCP/UDP/ICMP header */
	__u8 proto;  /* L4 protocol after IPv6 extension headers */
	__u8 family; /* EMBER_FAMILY_V4 / _V6, 0 = other */
	__u8 frag;   /* a non-first fragment (or any fragment: no L4 header to trust) */
};

/* Ethernet plus at most one 802.1Q/802.1ad tag; returns the ethertype (host order). */
static __always_inline int parse_eth(struct cursor *c, struct pkt *p)
{
	struct ethhdr *eth = c->pos;
	__u16 type;

	if ((void *)(eth + 1) > c->end)
		return -1;
	p->eth = eth;
	c->pos = eth + 1;
	type = bpf_ntohs(eth->h_proto);
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		struct ember_vlan *v = c->pos;

		if ((void *)(v + 1) > c->end)
			return -1;
		p->vlan = v;
		c->pos = v + 1;
		type = bpf_ntohs(v->proto);
	}
	return type;
}

/*
 * IPv4: options are skipped (IHL honoured), IHL < 5 or a total length that
 * does not fit the frame is malformed (-1). Fragments set p->frag: only the
 * first one has ports and the router cannot map later ones to a flow, so
 * they are left to the kernel (documented in docs/dataplane.md).
 */
static __always_inline int parse_ip4(struct cursor *c, struct pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > c->end)
		return -1;
	if (ip->version != 4 || ip->ihl < 5)
		return -1;
	hlen = ip->ihl * 4;
	if (c->pos + hlen > c->end)
		return -1;
	/* Kernel 6.1's verifier (Debian 12) forgets the bounds of a byte swap:
	 * the mask, which the compiler must keep, gives them back. */
	tot = bpf_ntohs(ip->tot_len);
	asm volatile("%0 &= 0xffff" : "+r"(tot));
	if (tot < hlen || c->pos + tot > c->end)
		return -1;
	p->ip4 = ip;
	p->family = EMBER_FAMILY_V4;
	p->frag = (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) != 0;
	c->pos += hlen;
	p->proto = ip->protocol;
	return ip->protocol;
}

#define IPV6_EXT_MAX 6 /* extension headers walked before giving up */

/* IPv6 with an extension-header chain (hop-by-hop, routing, destination
 * options, fragment); ESP/AH/unknown stop the walk with their number. */
static __always_inline int parse_ip6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 plen;
	__u8 next;

	if ((void *)(ip6 + 1) > c->end)
		return -1;
	if (ip6->version != 6)
		return -1;
	plen = bpf_ntohs(ip6->payload_len);
	asm volatile("%0 &= 0xffff" : "+r"(plen)); /* 6.1 verifier: see parse_ip4() */
	if ((void *)(ip6 + 1) + plen > c->end)
		return -1;
	p->ip6 = ip6;
	p->family = EMBER_FAMILY_V6;
	c->pos = ip6 + 1;
	next = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *h = c->pos;

		switch (next) {
		case 0:	 /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if ((void *)(h + 1) > c->end)
				return -1;
			next = h->nexthdr;
			c->pos += (h->hdrlen + 1) * 8;
			break;
		case 44: { /* fragment */
			struct frag_hdr *f = c->pos;

			if ((void *)(f + 1) > c->end)
				return -1;
			p->frag = 1;
			next = f->nexthdr;
			c->pos = f + 1;
			break;
		}
		default:
			p->proto = next;
			return next;
		}
	}
	return -1; /* chain too long: leave it to the kernel */
}

/* L4 header of (len) bytes must be present; returns 0 or -1. */
static __always_inline int parse_l4(struct cursor *c, struct pkt *p, __u32 len)
{
	if (c->pos + len > c->end)
		return -1;
	p->l4 = c->pos;
	return 0;
}

#endif
