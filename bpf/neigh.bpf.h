// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ARP and IPv6 neighbour-solicitation answers for the guests' gateway (XDP_TX, built in place). */
#ifndef EMBER_BPF_NEIGH_H
#define EMBER_BPF_NEIGH_H

#include "csum.bpf.h"
#include "parsing.bpf.h"

/* Ethernet ARP for IPv4 as it appears on the wire. */
struct arp4 {
	struct arphdr h;
	__u8 sha[ETH_ALEN];
	__u8 sip[4];
	__u8 tha[ETH_ALEN];
	__u8 tip[4];
} __attribute__((packed));

/* Returns 1 when (c) holds an ARP request for (gw_ip) from (mac)/(ip) and
 * it was turned into the reply, 0 when it is not one, -1 when spoofed. */
static __always_inline int arp_answer(struct cursor *c, struct ethhdr *eth, const __u8 *mac,
				      const __u8 *ip, const __u8 *gw_mac, const __u8 *gw_ip)
{
	struct arp4 *a = c->pos;

	if ((void *)(a + 1) > c->end)
		return 0;
	if (a->h.ar_hrd != bpf_htons(1) || a->h.ar_pro != bpf_htons(ETH_P_IP) ||
	    a->h.ar_hln != ETH_ALEN || a->h.ar_pln != 4 || a->h.ar_op != bpf_htons(ARPOP_REQUEST))
		return 0;
	if (bytes_differ(a->sha, mac, ETH_ALEN) || bytes_differ(a->sip, ip, 4))
		return -1;
	if (bytes_differ(a->tip, gw_ip, 4))
		return 0;
	a->h.ar_op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(a->tha, a->sha, ETH_ALEN);
	__builtin_memcpy(a->tip, a->sip, 4);
	__builtin_memcpy(a->sha, gw_mac, ETH_ALEN);
	__builtin_memcpy(a->sip, gw_ip, 4);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, gw_mac, ETH_ALEN);
	return 1;
}

/* NS/NA body with one link-layer address option (the only shape answered). */
struct nd_msg_ll {
	__u8 type, code;
	__sum16 csum;
	__be32 flags;
	struct in6_addr target;
	__u8 opt_type, opt_len;
	__u8 ll[ETH_ALEN];
};

struct ip6_pseudo {
	struct in6_addr src, dst;
	__be32 len;
	__be32 next;
};

/* Same contract as arp_answer, for an ICMPv6 neighbour solicitation. */
static __always_inline int nd_answer(struct cursor *c, struct ethhdr *eth, struct ipv6hdr *ip6,
				     const __u8 *mac, const __u8 *gw_mac, const __u8 *gw_ip6)
{
	struct nd_msg_ll *m = c->pos, body;
	struct ip6_pseudo ph = {};
	__s64 sum;

	if ((void *)(m + 1) > c->end)
		return 0;
	if (m->type != NDISC_NEIGHBOUR_SOLICITATION || m->code != 0)
		return 0;
	if (bytes_differ(&m->target, gw_ip6, 16))
		return 0;
	/* Only the usual shape: one source link-layer option, from the guest. */
	if (bpf_ntohs(ip6->payload_len) != sizeof(*m) || m->opt_type != 1 || m->opt_len != 1)
		return 0;
	if (bytes_differ(m->ll, mac, ETH_ALEN) || bytes_differ(eth->h_source, mac, ETH_ALEN))
		return -1;
	ip6->daddr = ip6->saddr;
	__builtin_memcpy(&ip6->saddr, gw_ip6, 16);
	ip6->hop_limit = 255;
	m->type = NDISC_NEIGHBOUR_ADVERTISEMENT;
	m->flags = bpf_htonl(0x60000000); /* solicited + override */
	m->opt_type = 2;		  /* target link-layer address */
	__builtin_memcpy(m->ll, gw_mac, ETH_ALEN);
	m->csum = 0;
	ph.src = ip6->saddr;
	ph.dst = ip6->daddr;
	ph.len = bpf_htonl(sizeof(*m));
	ph.next = bpf_htonl(IPPROTO_ICMPV6);
	__builtin_memcpy(&body, m, sizeof(body));
	sum = bpf_csum_diff(NULL, 0, (void *)&ph, sizeof(ph), 0);
	if (sum < 0)
		return 0;
	sum = bpf_csum_diff(NULL, 0, (void *)&body, sizeof(body), (__u32)sum);
	if (sum < 0)
		return 0;
	m->csum = csum_fold((__u64)sum);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, gw_mac, ETH_ALEN);
	return 1;
}

#endif
