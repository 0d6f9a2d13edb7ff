// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Ingress XDP router: (VIP, port, proto) -> app -> live guest tap, or the standby tap plus one wake
 * event. */
#include "maps.bpf.h"
#include "nat.bpf.h"
#include "flows.bpf.h"
#include "fcache.bpf.h"
#include "fastpath.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs (set through the skeleton's rodata before load). */
const volatile __u64 wake_rearm_ns = 0; /* 0 = EMBER_DEFAULT_REARM_NS */
/* Aligned: the fast path reads it as one 4- and one 2-byte word. */
const volatile __u8 gw_mac[ETH_ALEN]
	__attribute__((aligned(4))) = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

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

/*
 * An established flow routed from the flow cache: 0 and the XDP action in
 * (act), or -1 to take the ember_flows path. The entry must be this jiffy's
 * and its guest and app pass the same checks as fast_app(). Counts packets
 * and bytes only: last_seen_ns moves on the jiffy's first packet, which takes
 * the ember_flows path. (The action is returned apart: the verifier cannot
 * tell a helper's result from -1, and the packet pointers are stale after
 * to_tap().)
 */
static __always_inline int from_cache(struct xdp_md *ctx, struct pkt *p,
				      const struct ember_flow_cache *e, const union fkey *k,
				      __u64 now_j, __u32 bytes, int *act)
{
	struct ember_guest *g;
	struct fc_hit h;
	__u32 ifindex;

	g = fc_use(e, k, now_j, bytes, &h);
	if (!g)
		return -1;
	ifindex = g->tap_ifindex;
	*act = verdict(to_tap(ctx, p, g->mac, g->ip4, g->ip6, ifindex), EMBER_V_TO_GUEST, ifindex,
		       h.app_id, h.slot, 0);
	debug_flags(EMBER_DBG_F_FLOW_CACHE);
	return 0;
}

static __always_inline int route(struct xdp_md *ctx, struct pkt *p, void *end, __u32 bytes)
{
	struct ember_service_key sk = {};
	union fkey fk = {};
	struct ember_flow_key *k = &fk.k;
	struct ember_flow_cache *fc;
	struct ember_service *svc;
	struct ember_flow *f;
	struct ember_app *app;
	struct ember_guest *g = NULL;
	__u32 app_id, slot, gen;
	int flags, fresh, act;
	__u64 now, now_j;

	flags = flow_key(p, end, k);
	if (flags < 0)
		return verdict(XDP_PASS, EMBER_V_PASS_MALFORMED, 0, 0, ~0u, 0);
	/* FIN/RST must reach close_flow() and a SYN flow_reopened() through
	 * the ember_flows entry. */
	now_j = bpf_jiffies64();
	fc = fc_entry(&fk);
	if (fc && !(flags & (TCP_FLAG_FIN | TCP_FLAG_RST | TCP_FLAG_SYN)) &&
	    !from_cache(ctx, p, fc, &fk, now_j, bytes, &act))
		return act;
	/* The flow key holds the service key: an established flow needs no ember_svc lookup. */
	f = bpf_map_lookup_elem(&ember_flows, k);
	if (f && flow_reopened(f, flags))
		f = NULL; /* a new connection on an old 5-tuple: routed as one */
	if (f) {
		app = fast_app(f, &app_id, &slot, &gen, &g);
		if (app) {
			if (flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
				close_flow(f);
			if (fc)
				fc_fill(fc, &fk, now_j, slot, app_id, gen);
			return to_guest(ctx, p, app_id, slot, g, bytes, now_coarse(), 0);
		}
	}
	__builtin_memcpy(sk.addr, k->dst, 16);
	sk.port = k->dport;
	sk.proto = k->proto;
	sk.family = k->family;
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
	gen = app->svc_gen; /* once: the flow entry and the cache get the same value */
	fresh = route_flow(f, k, app, app_id, gen, flags, &slot, &g);
	/* The reply path needs the VIP; written once per flow, not per packet. */
	if (fresh != 0)
		remember_vip(k, app_id);
	if (fresh < 0)
		return to_standby(ctx, p, app, app_id, bytes, now);
	if (fc)
		fc_fill(fc, &fk, now_j, slot, app_id, gen);
	return to_guest(ctx, p, app_id, slot, g, bytes, now, fresh);
}

SEC("xdp")
int xdp_router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c = {.pos = data, .end = end};
	struct pkt p = {};
	int type, proto, act;

	if (!fast_v4(ctx, &act))
		return act;

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
