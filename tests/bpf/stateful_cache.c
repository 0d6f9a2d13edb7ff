// SPDX-License-Identifier: Apache-2.0
/* Stateful BPF fixtures of the router's per-CPU flow cache: FIN/RST, flows moved by another CPU,
 * colliding keys. */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fixtures.h"

/* One packet of the flow from (port) to VIP4_A1:(dport)/(proto), TCP (flags). */
static int run_a1(struct harness *h, uint8_t proto, uint16_t port, uint16_t dport, uint8_t flags,
		  struct ember_debug *d)
{
	return run_in(h, VIP4_A1, proto, port, dport, flags, d);
}

/* Sends packets of a flow until one comes from the flow cache (an entry
 * lives for the jiffy it was checked in); 0 when one did. */
static int until_cached(struct harness *h, uint8_t proto, uint16_t port, uint16_t dport,
			struct ember_debug *d)
{
	for (int i = 0; i < 8; i++)
		if (run_a1(h, proto, port, dport, 0x10, d) == XDP_REDIRECT &&
		    (d->flags & EMBER_DBG_F_FLOW_CACHE))
			return 0;
	return -1;
}

/* A router-side FIN of a flow the cache knows still closes it, once. */
void test_cached_fin(struct harness *h)
{
	struct ember_debug d;
	uint64_t before;

	if (run_a1(h, IPPROTO_TCP, 44000, 80, 0x02, &d) != XDP_REDIRECT ||
	    until_cached(h, IPPROTO_TCP, 44000, 80, &d))
		return fail("cached FIN: the flow never came from the flow cache");
	before = load_of(h, d.slot);
	if (run_a1(h, IPPROTO_TCP, 44000, 80, 0x11, &d) != XDP_REDIRECT || d.flags ||
	    load_of(h, d.slot) != before - 1)
		return fail("cached FIN: path %#x, active flows %llu -> %llu, want the flow table "
			    "and one less",
			    d.flags, (unsigned long long)before,
			    (unsigned long long)load_of(h, d.slot));
	if (run_a1(h, IPPROTO_TCP, 44000, 80, 0x11, &d) != XDP_REDIRECT ||
	    load_of(h, d.slot) != before - 1)
		return fail("cached FIN: a second FIN changed the active flows again");
	printf("ok: a FIN of a cached flow closes it once (guest %u: %llu -> %llu)\n", d.slot,
	       (unsigned long long)before, (unsigned long long)load_of(h, d.slot));
}

static int on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* What dp_guest_del() does to the router's maps, except the svc_gen bump,
 * and the slot's gen is zeroed, not kept: the guest that comes back into the
 * slot here is the same one (h_guest_add() writes gen 0 again). */
static void guest_remove(struct harness *h, uint32_t app_id, uint32_t slot)
{
	int fd = h_map(h, EMBER_MAP_APPS);
	struct ember_app a;

	if (bpf_map_lookup_elem(fd, &app_id, &a) == 0) {
		for (uint32_t i = 0; i < a.nlive; i++)
			if (a.live[i] == slot)
				a.live[i] = a.live[--a.nlive];
		bpf_map_update_elem(fd, &app_id, &a, BPF_EXIST);
	}
	zero_entry(h, EMBER_MAP_GUESTS, slot);
}

/* Guest (slot) of app 1 leaves; CPU 1 moves the flow to the other guest; the
 * guest comes back into the same slot. Returns the other guest's slot. */
static int move_flow_on_cpu1(struct harness *h, uint32_t slot, uint16_t port)
{
	struct ember_debug d;
	const uint8_t *mac = slot == SLOT10 ? MAC_G10 : MAC_G11;
	int tap = h->tap[slot == SLOT10 ? 0 : 1], act;

	guest_remove(h, APP1, slot);
	if (on_cpu(1))
		return -1;
	act = run_a1(h, IPPROTO_UDP, port, 53, 0, &d);
	on_cpu(0);
	if (act != XDP_REDIRECT || d.slot == slot)
		return -1;
	if (h_guest_add(h, slot, APP1, tap, mac, INSIDE4, INSIDE6))
		return -1;
	return (int)d.slot;
}

/*
 * The flow cache is per CPU: another CPU can move a flow in ember_flows (its
 * guest left) while this CPU's entry still names the old guest, which may
 * come back into the same slot. dp_guest_del()'s svc_gen bump makes every
 * entry of the app check ember_flows again at once; without it, an entry is
 * checked again on the next jiffy at the latest.
 */
void test_cache_cross_cpu(struct harness *h)
{
	struct ember_debug d;
	uint32_t first;
	int other;

	if (on_cpu(1)) {
		printf("ok: (skipped: the per-CPU flow cache across CPUs needs a second CPU)\n");
		return;
	}
	on_cpu(0);
	if (until_cached(h, IPPROTO_UDP, 45000, 53, &d))
		return fail("cross-CPU: the flow never came from the flow cache");
	first = d.slot;
	other = move_flow_on_cpu1(h, first, 45000);
	if (other < 0)
		return fail("cross-CPU: CPU 1 did not move the flow off guest %u", first);
	if (svc_gen_bump(h, APP1) || run_a1(h, IPPROTO_UDP, 45000, 53, 0, &d) != XDP_REDIRECT ||
	    d.slot != (uint32_t)other)
		return fail("cross-CPU: after the svc_gen bump CPU 0 sent the flow to guest %u, "
			    "ember_flows says %d",
			    d.slot, other);
	/* Back to the first guest the same way, without a bump: the jiffy ends it. */
	if (until_cached(h, IPPROTO_UDP, 45000, 53, &d) || d.slot != (uint32_t)other)
		return fail("cross-CPU: the moved flow is not cached on CPU 0");
	if (move_flow_on_cpu1(h, (uint32_t)other, 45000) != (int)first)
		return fail("cross-CPU: CPU 1 did not move the flow back to guest %u", first);
	usleep(30 * 1000); /* more than a jiffy at HZ >= 100 */
	if (run_a1(h, IPPROTO_UDP, 45000, 53, 0, &d) != XDP_REDIRECT || d.slot != first)
		return fail("cross-CPU: a jiffy later CPU 0 still sent the flow to guest %u",
			    d.slot);
	printf("ok: flow cache across CPUs: svc_gen bump and the next jiffy follow ember_flows\n");
}

/* Runs the router on the frame (s) describes; fills (d). Returns the action. */
static int run_spec(struct harness *h, const struct fspec *s, struct ember_debug *d)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	size_t n = frame_build(in, s), outlen = sizeof(out);
	int act;

	h_clear_last(h);
	act = h_run(h, h->router_fd, (uint32_t)h->egress, in, n, out, &outlen);
	return h_last(h, d) ? -1 : act;
}

/* The router's cache index of the flow (s) (white box: fc_entry() in bpf/fcache.bpf.h). */
static uint32_t cache_index(const struct fspec *s)
{
	struct ember_flow_key k;
	uint64_t w[5], x;

	memset(&k, 0, sizeof(k));
	memcpy(k.src, s->src, s->family == 4 ? 4 : 16);
	memcpy(k.dst, s->dst, s->family == 4 ? 4 : 16);
	k.sport = htons(s->sport);
	k.dport = htons(s->dport);
	k.proto = s->proto;
	k.family = (uint8_t)s->family;
	memcpy(w, &k, sizeof(w));
	x = w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4];
	return ((uint32_t)(x ^ (x >> 32)) * 0x9e3779b1u) >> (32 - EMBER_FLOW_CACHE_BITS);
}

/*
 * Flow (a) gets cached; then flows that share its cache entry must not be
 * mistaken for it: each differs from (a) in one part of the key only (found
 * by search, with (vary) changing that part), and the first packet of each
 * must be decided by the full path. Returns how many collisions were tried.
 */
static int collide(struct harness *h, struct fspec a, void (*vary)(struct fspec *, uint32_t),
		   const char *what)
{
	struct ember_debug d;
	uint32_t idx = cache_index(&a);
	int tried = 0;

	if (a.proto == IPPROTO_TCP)
		a.tcp_flags = 0x10; /* ACKs: a SYN never comes from the cache */

	for (int i = 0; i < 8 && run_spec(h, &a, &d) == XDP_REDIRECT; i++)
		if (d.flags & EMBER_DBG_F_FLOW_CACHE)
			break;
	if (!(d.flags & EMBER_DBG_F_FLOW_CACHE)) {
		fail("collisions: %s flow never came from the flow cache", what);
		return 0;
	}
	for (uint32_t n = 1; n < (1u << 20) && tried < 3; n++) {
		struct fspec b = a;

		vary(&b, n);
		if (cache_index(&b) != idx)
			continue;
		tried++;
		if (run_spec(h, &a, &d) != XDP_REDIRECT || run_spec(h, &b, &d) != XDP_REDIRECT ||
		    (d.flags & EMBER_DBG_F_FLOW_CACHE)) {
			fail("collisions: a new %s flow sharing a cache entry took path %#x", what,
			     d.flags);
			return tried;
		}
	}
	if (!tried)
		fail("collisions: found no %s key sharing the cache entry", what);
	return tried;
}

static void vary_sport(struct fspec *s, uint32_t n)
{
	s->sport = (uint16_t)(s->sport + n);
}

static void vary_src4(struct fspec *s, uint32_t n)
{
	s->src[2] ^= (uint8_t)(n >> 8);
	s->src[3] ^= (uint8_t)n;
}

/* IPv6: bytes 8..15 of the source fall in the key's second word. */
static void vary_src6_hi(struct fspec *s, uint32_t n)
{
	s->src[8] ^= (uint8_t)(n >> 12);
	s->src[9] ^= (uint8_t)(n >> 4);
	s->src[13] ^= (uint8_t)n;
}

static void vary_src6_lo(struct fspec *s, uint32_t n)
{
	s->src[6] ^= (uint8_t)(n >> 8);
	s->src[7] ^= (uint8_t)n;
}

/* Keys that share a cache entry are told apart by the whole key. */
void test_cache_collisions(struct harness *h)
{
	int n = 0;

	n += collide(h, spec_in(4, VIP4_A1, IPPROTO_UDP, 46000, 53), vary_sport, "IPv4 port");
	n += collide(h, spec_in(4, VIP4_A1, IPPROTO_TCP, 46001, 80), vary_src4, "IPv4 address");
	n += collide(h, spec_in(6, VIP6_A1, IPPROTO_UDP, 46002, 53), vary_src6_hi, "IPv6 high");
	n += collide(h, spec_in(6, VIP6_A1, IPPROTO_TCP, 46003, 80), vary_src6_lo, "IPv6 low");
	printf("ok: %d flows sharing a cache entry with a cached flow were told apart\n", n);
}
