// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The router's flow table (ember_flows): keys, guest choice for new flows, FIN/RST accounting. */
#ifndef EMBER_BPF_FLOWS_H
#define EMBER_BPF_FLOWS_H

#include "maps.bpf.h"
#include "parsing.bpf.h"

static __always_inline __u32 flow_hash(const struct ember_flow_key *k)
{
	const __u32 *w = (const __u32 *)k->src;
	__u32 h = w[0] ^ w[1] ^ w[2] ^ w[3];

	h ^= ((__u32)k->sport << 16) | k->dport;
	h *= 0x9e3779b1;
	return h ^ (h >> 15);
}

static __always_inline __u64 load_of(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&ember_load, &slot);

	return n ? *n : 0;
}

/* New flow: two hash-chosen candidates among the live guests, the less loaded wins. */
static __always_inline int pick_guest(const struct ember_app *app, __u32 h, __u32 *slot)
{
	__u32 n = app->nlive, ia, ib, a, b;

	if (n == 0 || n > EMBER_MAX_GUESTS_PER_APP)
		return -1;
	ia = h % n;
	ib = (h >> 16) % n;
	/* clang drops bounds it can prove; the verifier cannot: re-check opaquely. */
	asm volatile("" : "+r"(ia), "+r"(ib));
	if (ia >= EMBER_MAX_GUESTS_PER_APP || ib >= EMBER_MAX_GUESTS_PER_APP)
		return -1;
	a = app->live[ia];
	b = app->live[ib];
	*slot = load_of(b) < load_of(a) ? b : a;
	return 0;
}

static __always_inline void close_flow(struct ember_flow *f)
{
	__u64 *n;

	if (f->flags & EMBER_FLOW_F_CLOSED)
		return;
	if (__sync_fetch_and_or(&f->flags, EMBER_FLOW_F_CLOSED) & EMBER_FLOW_F_CLOSED)
		return;
	n = bpf_map_lookup_elem(&ember_load, &f->slot);
	if (n && *n)
		__sync_fetch_and_sub(n, 1);
}

/* A client SYN (no ACK) on a flow already closed: a new connection that
 * reuses the 5-tuple (its port came round again). It is routed anew, like
 * any new connection, and counted again. */
static __always_inline int flow_reopened(const struct ember_flow *f, __u8 tcp_flags)
{
	return (f->flags & EMBER_FLOW_F_CLOSED) &&
	       (tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

/*
 * Fast path: an established flow (f) whose guest still belongs to the flow's
 * app, whose app is in use and whose svc_gen is unchanged (no service of the
 * app deleted or moved since) is routed without the ember_svc lookup.
 */
static __always_inline struct ember_app *fast_app(const struct ember_flow *f, __u32 *app_id,
						  __u32 *slot, __u32 *svc_gen,
						  struct ember_guest **gp)
{
	__u32 id = f->app_id, s = f->slot, gen = f->svc_gen;
	struct ember_guest *g = guest_get(s);
	struct ember_app *app;

	if (!g || g->app_id != id || g->gen != f->guest_gen)
		return NULL;
	app = app_get(id);
	if (!app || app->svc_gen != gen)
		return NULL;
	*app_id = id;
	*slot = s;
	*svc_gen = gen; /* the value checked, not a re-read that a bump may have changed */
	*gp = g;
	return app;
}

/* Flow table hit (f, still the same guest of this app) or a fresh choice;
 * 1 = new flow, -1 = no live guest. (f) is NULL for a reopened flow. (svc_gen)
 * is the app's generation as the caller read it once. */
static __always_inline int route_flow(struct ember_flow *f, struct ember_flow_key *k,
				      const struct ember_app *app, __u32 app_id, __u32 svc_gen,
				      __u8 tcp_flags, __u32 *slot, struct ember_guest **gp)
{
	struct ember_guest *g;
	struct ember_flow nf = {};
	__u64 *n;

	if (f) {
		g = guest_get(f->slot);
		if (g && g->app_id == app_id && g->gen == f->guest_gen) {
			*slot = f->slot;
			*gp = g; /* the caller needs it too: one lookup per packet */
			/* Re-validated through ember_svc: the next packet may take the fast path.
			 */
			if (f->app_id != app_id || f->svc_gen != svc_gen) {
				f->app_id = app_id;
				f->svc_gen = svc_gen;
			}
			if (tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
				close_flow(f);
			return 0;
		}
	}
	if (pick_guest(app, flow_hash(k), slot))
		return -1;
	g = guest_get(*slot);
	if (!g)
		return -1; /* live[] named a free slot: never chosen */
	*gp = g;
	nf.slot = *slot;
	nf.app_id = app_id;
	nf.svc_gen = svc_gen;
	nf.guest_gen = g->gen;
	/* A FIN or RST of a flow the table does not know (its entry was evicted,
	 * or its guest is gone) is no active connection: not counted, as an RST
	 * gets no answer that would take it off again. */
	if (tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
		nf.flags = EMBER_FLOW_F_CLOSED;
	bpf_map_update_elem(&ember_flows, k, &nf, BPF_ANY);
	n = bpf_map_lookup_elem(&ember_load, slot);
	if (n && k->proto == IPPROTO_TCP && !nf.flags)
		__sync_fetch_and_add(n, 1);
	return 1;
}

static __always_inline void remember_vip(const struct ember_flow_key *k, __u32 app_id)
{
	struct ember_rnat_key rk = {};
	struct ember_rnat rv;

	__builtin_memcpy(rk.client, k->src, 16);
	rk.client_port = k->sport;
	rk.guest_port = k->dport;
	rk.app_id = app_id;
	rk.proto = k->proto;
	rk.family = k->family;
	__builtin_memcpy(rv.vip, k->dst, 16);
	bpf_map_update_elem(&ember_rnat, &rk, &rv, BPF_ANY);
}

/* Fills the flow key; returns the TCP flags (0 for UDP) or -1. */
static __always_inline int flow_key(struct pkt *p, void *end, struct ember_flow_key *k)
{
	__u8 flags = 0;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *t = p->l4;

		if ((void *)(t + 1) > end)
			return -1;
		k->sport = t->source;
		k->dport = t->dest;
		flags = ((__u8 *)t)[13];
	} else {
		struct udphdr *u = p->l4;

		if ((void *)(u + 1) > end)
			return -1;
		k->sport = u->source;
		k->dport = u->dest;
	}
	k->proto = p->proto;
	k->family = p->family;
	if (p->family == EMBER_FAMILY_V4) {
		__builtin_memcpy(k->src, &p->ip4->saddr, 4);
		__builtin_memcpy(k->dst, &p->ip4->daddr, 4);
	} else {
		__builtin_memcpy(k->src, &p->ip6->saddr, 16);
		__builtin_memcpy(k->dst, &p->ip6->daddr, 16);
	}
	return flags;
}

#endif
