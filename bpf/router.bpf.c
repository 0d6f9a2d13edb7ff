// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Ingress XDP router: (VIP, port, proto) -> app -> live guest tap, or the standby tap plus one wake
 * event. */
#include "maps.bpf.h"
#include "nat.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs (set through the skeleton's rodata before load). */
const volatile __u64 wake_rearm_ns = 0; /* 0 = EMBER_DEFAULT_REARM_NS */
const volatile __u8 gw_mac[ETH_ALEN] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

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

/* Emits one wake event per wake: only the CPU whose CAS moves the stamp does. */
static __always_inline void wake(struct ember_app *app, __u32 app_id)
{
	__u64 now = bpf_ktime_get_ns(), old = app->waking_since_ns;
	__u64 rearm = wake_rearm_ns ? wake_rearm_ns : EMBER_DEFAULT_REARM_NS;
	struct ember_wake_event *ev;

	if (old && now - old < rearm)
		return;
	if (__sync_val_compare_and_swap(&app->waking_since_ns, old, now) != old)
		return;
	ev = bpf_ringbuf_reserve(&ember_wake, sizeof(*ev), 0);
	if (!ev)
		return; /* ring full: the re-arm timeout retries */
	ev->app_id = app_id;
	ev->standby_ifindex = app->standby_ifindex;
	ev->ts_ns = now;
	bpf_ringbuf_submit(ev, 0);
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

/*
 * Fast path: an established flow (f) whose guest still belongs to the flow's
 * app, whose app is in use and whose svc_gen is unchanged (no service of the
 * app deleted or moved since) is routed without the ember_svc lookup.
 */
static __always_inline struct ember_app *fast_app(const struct ember_flow *f, __u32 *app_id,
						  __u32 *slot, struct ember_guest **gp)
{
	__u32 id = f->app_id, s = f->slot, gen = f->svc_gen;
	struct ember_guest *g = guest_get(s);
	struct ember_app *app;

	if (!g || g->app_id != id)
		return NULL;
	app = app_get(id);
	if (!app || app->svc_gen != gen)
		return NULL;
	*app_id = id;
	*slot = s;
	*gp = g;
	return app;
}

/* Flow table hit (f, still a guest of this app) or a fresh choice; 1 = new flow. */
static __always_inline int route_flow(struct ember_flow *f, struct ember_flow_key *k,
				      const struct ember_app *app, __u32 app_id, __u8 tcp_flags,
				      __u32 *slot, struct ember_guest **gp)
{
	struct ember_guest *g;
	struct ember_flow nf = {};
	__u64 *n;

	if (f) {
		g = guest_get(f->slot);
		if (g && g->app_id == app_id) {
			*slot = f->slot;
			*gp = g; /* the caller needs it too: one lookup per packet */
			/* Re-validated through ember_svc: the next packet may take the fast path.
			 */
			if (f->app_id != app_id || f->svc_gen != app->svc_gen) {
				f->app_id = app_id;
				f->svc_gen = app->svc_gen;
			}
			if (tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
				close_flow(f);
			return 0;
		}
	}
	if (pick_guest(app, flow_hash(k), slot))
		return -1;
	nf.slot = *slot;
	nf.app_id = app_id;
	nf.svc_gen = app->svc_gen;
	bpf_map_update_elem(&ember_flows, k, &nf, BPF_ANY);
	n = bpf_map_lookup_elem(&ember_load, slot);
	if (n && k->proto == IPPROTO_TCP)
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

static __always_inline int is_zero(const __u8 *a, int n)
{
	__u8 acc = 0;

	for (int i = 0; i < n; i++)
		acc |= a[i];
	return acc == 0;
}

/* Rewrites (p) towards a guest with (mac)/(ip4)/(ip6) and sends it into tap (ifindex). */
static __always_inline int to_tap(struct xdp_md *ctx, struct pkt *p, const __u8 *mac,
				  const __u8 *ip4, const __u8 *ip6, __u32 ifindex)
{
	void *end = (void *)(long)ctx->data_end;
	__u8 src[ETH_ALEN];

	nat_addr(p, p->family == EMBER_FAMILY_V4 ? ip4 : ip6, 1, end);
	knob_copy(src, gw_mac, ETH_ALEN);
	if (set_l2(ctx, p->vlan != NULL, mac, src))
		return XDP_DROP;
	return bpf_redirect_map(&ember_taps, ifindex, XDP_DROP);
}

/* No live guest took the packet: the standby tap (plus a wake), or a drop. */
static __always_inline int to_standby(struct xdp_md *ctx, struct pkt *p, struct ember_app *app,
				      __u32 app_id, __u32 bytes, __u64 now)
{
	int act;

	if (!app->standby_ifindex) {
		count(&ember_app_ctr, app_id, bytes, now, 0, EMBER_DROP_NO_TARGET);
		return verdict(XDP_DROP, EMBER_V_DROP, 0, app_id, ~0u, EMBER_DROP_NO_TARGET);
	}
	wake(app, app_id);
	count(&ember_app_ctr, app_id, bytes, now, 0, -1);
	if (is_zero(app->guest_mac, ETH_ALEN)) {
		act = bpf_redirect_map(&ember_taps, app->standby_ifindex, XDP_DROP);
	} else {
		act = to_tap(ctx, p, app->guest_mac, app->guest_ip4, app->guest_ip6,
			     app->standby_ifindex);
	}
	return verdict(act, EMBER_V_TO_STANDBY, app->standby_ifindex, app_id, ~0u, 0);
}

/* Counts a packet for guest (g) in (slot) and redirects it into the guest's tap. */
static __always_inline int to_guest(struct xdp_md *ctx, struct pkt *p, __u32 app_id, __u32 slot,
				    const struct ember_guest *g, __u32 bytes, __u64 now, int fresh)
{
	__u32 ifindex = g->tap_ifindex;
	int act;

	count(&ember_app_ctr, app_id, bytes, now, fresh, -1);
	count(&ember_gst_ctr, slot, bytes, now, fresh, -1);
	act = to_tap(ctx, p, g->mac, g->ip4, g->ip6, ifindex);
	return verdict(act, EMBER_V_TO_GUEST, ifindex, app_id, slot, 0);
}

static __always_inline int route(struct xdp_md *ctx, struct pkt *p, void *end, __u32 bytes)
{
	struct ember_service_key sk = {};
	struct ember_flow_key k = {};
	struct ember_service *svc;
	struct ember_flow *f;
	struct ember_app *app;
	struct ember_guest *g = NULL;
	__u32 app_id, slot;
	int flags, fresh;
	__u64 now;

	flags = flow_key(p, end, &k);
	if (flags < 0)
		return verdict(XDP_PASS, EMBER_V_PASS_MALFORMED, 0, 0, ~0u, 0);
	/* The flow key holds the service key: an established flow needs no ember_svc lookup. */
	f = bpf_map_lookup_elem(&ember_flows, &k);
	if (f) {
		app = fast_app(f, &app_id, &slot, &g);
		if (app) {
			if (flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
				close_flow(f);
			return to_guest(ctx, p, app_id, slot, g, bytes, now_coarse(), 0);
		}
	}
	__builtin_memcpy(sk.addr, k.dst, 16);
	sk.port = k.dport;
	sk.proto = k.proto;
	sk.family = k.family;
	svc = bpf_map_lookup_elem(&ember_svc, &sk);
	if (!svc)
		return verdict(XDP_PASS, EMBER_V_PASS_NOT_VIP, 0, 0, ~0u, 0);
	app_id = svc->app_id;
	now = now_coarse();
	app = app_get(app_id); /* a zeroed entry is no app */
	if (!app) {
		count(&ember_app_ctr, app_id, bytes, now, 0, EMBER_DROP_NO_TARGET);
		return verdict(XDP_DROP, EMBER_V_DROP, 0, app_id, ~0u, EMBER_DROP_NO_TARGET);
	}
	fresh = route_flow(f, &k, app, app_id, flags, &slot, &g);
	/* The reply path needs the VIP; written once per flow, not per packet. */
	if (fresh != 0)
		remember_vip(&k, app_id);
	if (fresh > 0)
		g = guest_get(slot); /* live[] naming a free slot: never chosen */
	if (fresh < 0 || !g)
		return to_standby(ctx, p, app, app_id, bytes, now);
	return to_guest(ctx, p, app_id, slot, g, bytes, now, fresh);
}

SEC("xdp")
int xdp_router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c = {.pos = data, .end = end};
	struct pkt p = {};
	int type, proto;

	type = parse_eth(&c, &p);
	if (type < 0)
		return verdict(XDP_PASS, EMBER_V_PASS_MALFORMED, 0, 0, ~0u, 0);
	if (type == ETH_P_IP)
		proto = parse_ip4(&c, &p);
	else if (type == ETH_P_IPV6)
		proto = parse_ip6(&c, &p);
	else
		return verdict(XDP_PASS, EMBER_V_PASS_NOT_IP, 0, 0, ~0u, 0);
	if (proto < 0)
		return verdict(XDP_PASS, EMBER_V_PASS_MALFORMED, 0, 0, ~0u, 0);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return verdict(XDP_PASS, EMBER_V_PASS_NOT_VIP, 0, 0, ~0u, 0);
	if (p.frag)
		return verdict(XDP_PASS, EMBER_V_PASS_FRAGMENT, 0, 0, ~0u, 0);
	if (parse_l4(&c, &p, proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr)))
		return verdict(XDP_PASS, EMBER_V_PASS_MALFORMED, 0, 0, ~0u, 0);
	return route(ctx, &p, end, (__u32)(end - data));
}
