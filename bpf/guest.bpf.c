// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Guest-tap XDP: frames a guest transmits — anti-spoofing, gateway ARP/ND, reverse NAT, FIB
 * redirect out. */
#include "maps.bpf.h"
#include "nat.bpf.h"
#include "neigh.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs: the gateway every guest sees (its default route points here). */
const volatile __u8 gw_mac[ETH_ALEN] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const volatile __u8 gw_ip4[4] = {10, 0, 0, 1};
const volatile __u8 gw_ip6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

struct ctxinfo {
	__u32 slot;
	__u32 app_id;
	__u32 bytes;
	__u64 now; /* coarse clock, read once per frame */
};

static __always_inline int drop(struct ctxinfo *ci, __u32 reason)
{
	count(&ember_gst_ctr, ci->slot, ci->bytes, ci->now, 0, reason);
	count(&ember_app_ctr, ci->app_id, ci->bytes, ci->now, 0, reason);
	return verdict(XDP_DROP, EMBER_V_DROP, 0, ci->app_id, ci->slot, reason);
}

static __always_inline int addr_is_host(struct pkt *p)
{
	struct ember_addr_key k = {};

	k.family = p->family;
	if (p->family == EMBER_FAMILY_V4)
		__builtin_memcpy(k.addr, &p->ip4->daddr, 4);
	else
		__builtin_memcpy(k.addr, &p->ip6->daddr, 16);
	return bpf_map_lookup_elem(&ember_host_ip, &k) != NULL;
}

/* A guest may reach neither its own inside address (every clone has it)
 * nor any service VIP: tenants talk to each other only from the outside. */
static __always_inline int addr_is_tenant(struct pkt *p, const struct ember_guest *g, __be16 dport)
{
	struct ember_service_key sk = {};

	sk.family = p->family;
	sk.proto = p->proto;
	sk.port = dport;
	if (p->family == EMBER_FAMILY_V4) {
		if (!bytes_differ(&p->ip4->daddr, g->ip4, 4))
			return 1;
		__builtin_memcpy(sk.addr, &p->ip4->daddr, 4);
	} else {
		if (!bytes_differ(&p->ip6->daddr, g->ip6, 16))
			return 1;
		__builtin_memcpy(sk.addr, &p->ip6->daddr, 16);
	}
	return bpf_map_lookup_elem(&ember_svc, &sk) != NULL;
}

static __always_inline int src_is_guest(struct pkt *p, const struct ember_guest *g)
{
	if (p->family == EMBER_FAMILY_V4)
		return !bytes_differ(&p->ip4->saddr, g->ip4, 4);
	return !bytes_differ(&p->ip6->saddr, g->ip6, 16);
}

/* The flow this reply belongs to lost a guest-side FIN/RST: stop counting it
 * as active, if it is this guest's (slot and gen: not a late RST to a flow
 * whose guest died, that reached this one through a reused slot). */
static __always_inline void close_flow(const struct ember_rnat_key *rk, const struct ember_rnat *r,
				       __u32 slot, __u32 gen)
{
	struct ember_flow_key fk = {};
	struct ember_flow *f;
	__u64 *n;

	__builtin_memcpy(fk.src, rk->client, 16);
	__builtin_memcpy(fk.dst, r->vip, 16);
	fk.sport = rk->client_port;
	fk.dport = rk->guest_port;
	fk.proto = rk->proto;
	fk.family = rk->family;
	f = bpf_map_lookup_elem(&ember_flows, &fk);
	if (!f || f->slot != slot || f->guest_gen != gen || (f->flags & EMBER_FLOW_F_CLOSED))
		return;
	if (__sync_fetch_and_or(&f->flags, EMBER_FLOW_F_CLOSED) & EMBER_FLOW_F_CLOSED)
		return;
	n = bpf_map_lookup_elem(&ember_load, &slot);
	if (n && *n)
		__sync_fetch_and_sub(n, 1);
}

/* Looks up the reply's VIP (the router stored it); fills (rk). NULL = not a reply. */
static __always_inline struct ember_rnat *reply_vip(struct pkt *p, void *end, __u32 app_id,
						    struct ember_rnat_key *rk, __u8 *tcp_flags)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *t = p->l4;

		if ((void *)(t + 1) > end)
			return NULL;
		rk->client_port = t->dest;
		rk->guest_port = t->source;
		*tcp_flags = ((__u8 *)t)[13];
	} else {
		struct udphdr *u = p->l4;

		if ((void *)(u + 1) > end)
			return NULL;
		rk->client_port = u->dest;
		rk->guest_port = u->source;
	}
	rk->app_id = app_id;
	rk->proto = p->proto;
	rk->family = p->family;
	if (p->family == EMBER_FAMILY_V4)
		__builtin_memcpy(rk->client, &p->ip4->daddr, 4);
	else
		__builtin_memcpy(rk->client, &p->ip6->daddr, 16);
	return bpf_map_lookup_elem(&ember_rnat, rk);
}

/* Next hop for the NATed reply: redirect out, or let the kernel resolve the neighbour. */
static __always_inline int forward(struct xdp_md *ctx, struct pkt *p, struct ctxinfo *ci)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = p->proto;
	if (p->family == EMBER_FAMILY_V4) {
		fib.family = AF_INET;
		fib.tos = p->ip4->tos;
		fib.tot_len = bpf_ntohs(p->ip4->tot_len);
		fib.ipv4_src = p->ip4->saddr;
		fib.ipv4_dst = p->ip4->daddr;
	} else {
		fib.family = AF_INET6;
		fib.tot_len = bpf_ntohs(p->ip6->payload_len);
		__builtin_memcpy(fib.ipv6_src, &p->ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &p->ip6->daddr, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		count(&ember_gst_ctr, ci->slot, ci->bytes, ci->now, 0, -1);
		count(&ember_app_ctr, ci->app_id, ci->bytes, ci->now, 0, -1);
		return verdict(XDP_PASS, EMBER_V_PASS_NO_NEIGH, 0, ci->app_id, ci->slot, 0);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || set_l2(ctx, 0, fib.dmac, fib.smac))
		return drop(ci, EMBER_DROP_FIB);
	count(&ember_gst_ctr, ci->slot, ci->bytes, ci->now, 0, -1);
	count(&ember_app_ctr, ci->app_id, ci->bytes, ci->now, 0, -1);
	return verdict(bpf_redirect(fib.ifindex, 0), EMBER_V_TO_CLIENT, fib.ifindex, ci->app_id,
		       ci->slot, 0);
}

static __always_inline int ip_out(struct xdp_md *ctx, struct cursor *c, struct pkt *p,
				  const struct ember_guest *g, struct ctxinfo *ci)
{
	struct ember_rnat_key rk = {};
	struct ember_rnat *r;
	__u8 flags = 0;

	if (!src_is_guest(p, g))
		return drop(ci, EMBER_DROP_SPOOF_IP);
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return drop(ci, EMBER_DROP_NO_FLOW);
	if (p->frag ||
	    parse_l4(c, p, p->proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr)))
		return drop(ci, EMBER_DROP_NO_FLOW);
	if (addr_is_host(p))
		return drop(ci, EMBER_DROP_TO_HOST);
	r = reply_vip(p, c->end, ci->app_id, &rk, &flags);
	if (addr_is_tenant(p, g, rk.client_port))
		return drop(ci, EMBER_DROP_TO_TENANT);
	if (!r)
		return drop(ci, EMBER_DROP_NO_FLOW);
	if (flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
		close_flow(&rk, r, ci->slot, g->gen);
	nat_addr(p, r->vip, 0, c->end);
	return forward(ctx, p, ci);
}

SEC("xdp")
int xdp_guest(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c = {.pos = data, .end = end};
	__u8 gmac[ETH_ALEN], gip4[4], gip6[16];
	struct ctxinfo ci = {.bytes = end - data};
	__u32 ifindex = ctx->ingress_ifindex, *slot;
	struct ember_guest *g;
	struct pkt p = {};
	int type, proto, rc;

	slot = bpf_map_lookup_elem(&ember_tap_slot, &ifindex);
	if (!slot)
		return verdict(XDP_DROP, EMBER_V_DROP, 0, 0, ~0u, EMBER_DROP_UNKNOWN_TAP);
	ci.slot = *slot;
	g = guest_get(ci.slot); /* a zeroed slot is no guest */
	if (!g)
		return verdict(XDP_DROP, EMBER_V_DROP, 0, 0, ci.slot, EMBER_DROP_UNKNOWN_TAP);
	ci.app_id = g->app_id;
	ci.now = now_coarse();
	knob_copy(gmac, gw_mac, ETH_ALEN);
	knob_copy(gip4, gw_ip4, 4);
	knob_copy(gip6, gw_ip6, 16);

	type = parse_eth(&c, &p);
	if (type < 0 || p.vlan)
		return drop(&ci, EMBER_DROP_BAD_L2);
	if (bytes_differ(p.eth->h_source, g->mac, ETH_ALEN))
		return drop(&ci, EMBER_DROP_SPOOF_MAC);
	if (type == ETH_P_ARP) {
		rc = arp_answer(&c, p.eth, g->mac, g->ip4, gmac, gip4);
		if (rc > 0)
			return verdict(XDP_TX, EMBER_V_GW_ANSWER, 0, ci.app_id, ci.slot, 0);
		return drop(&ci, rc < 0 ? EMBER_DROP_SPOOF_IP : EMBER_DROP_BAD_L2);
	}
	if (type == ETH_P_IP)
		proto = parse_ip4(&c, &p);
	else if (type == ETH_P_IPV6)
		proto = parse_ip6(&c, &p);
	else
		return drop(&ci, EMBER_DROP_BAD_L2);
	if (proto < 0)
		return drop(&ci, EMBER_DROP_BAD_L2);
	if (proto == IPPROTO_ICMPV6 && p.ip6 && !p.frag) {
		rc = nd_answer(&c, p.eth, p.ip6, g->mac, gmac, gip6);
		if (rc > 0)
			return verdict(XDP_TX, EMBER_V_GW_ANSWER, 0, ci.app_id, ci.slot, 0);
		if (rc < 0)
			return drop(&ci, EMBER_DROP_SPOOF_MAC);
	}
	return ip_out(ctx, &c, &p, g, &ci);
}
