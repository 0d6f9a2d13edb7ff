// SPDX-License-Identifier: Apache-2.0
/*
 * Randomized test: feeds >= 1,000,000 mutated frames (seeded, reproducible:
 * EMBER_SEED=<n>) through the router and guest programs and asserts that no
 * frame reaches a tap of another app, every decision is one the program may
 * take, outputs of valid inputs keep valid checksums, and the counters add up.
 * A guest slot moves between apps during the run, so stale flow-table
 * entries are exercised too.
 */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "fixtures.h"

static uint64_t rng_state;

static uint64_t rnd(void) /* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint64_t nfail;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			if (nfail++ < 20) {                                                        \
				printf("FAIL (frame %llu): ", (unsigned long long)iter);           \
				printf(__VA_ARGS__);                                               \
				printf("\n");                                                      \
			}                                                                          \
		}                                                                                  \
	} while (0)

/* ---- the reference view: which app does an input frame address? ---- */

struct svc {
	int family;
	const uint8_t *vip;
	uint16_t port;
	uint8_t proto;
	uint32_t app;
};

static const struct svc services[] = {
	{4, VIP4_A1, 80, IPPROTO_TCP, APP1}, {4, VIP4_A1, 53, IPPROTO_UDP, APP1},
	{6, VIP6_A1, 80, IPPROTO_TCP, APP1}, {6, VIP6_A1, 53, IPPROTO_UDP, APP1},
	{4, VIP4_A2, 80, IPPROTO_TCP, APP2}, {6, VIP6_A2, 53, IPPROTO_UDP, APP2},
	{4, VIP4_A3, 80, IPPROTO_TCP, APP3},
};
#define NSVC (sizeof(services) / sizeof(services[0]))

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The app a frame's (dst, dport, proto) names, 0 = none / unparseable. */
static uint32_t ref_app(const uint8_t *b, size_t len)
{
	size_t off = 14;
	uint16_t type;
	uint8_t proto, dst[16] = {0};
	int family;
	const uint8_t *l4;

	if (len < 14)
		return 0;
	type = get16(b + 12);
	if (type == 0x8100 || type == 0x88a8) {
		if (len < 18)
			return 0;
		type = get16(b + 16);
		off = 18;
	}
	if (type == 0x0800) {
		const uint8_t *ip = b + off;
		size_t hl;

		if (len < off + 20 || (ip[0] >> 4) != 4 || (ip[0] & 15) < 5)
			return 0;
		hl = (size_t)(ip[0] & 15) * 4;
		if (len < off + hl || get16(ip + 2) < hl || off + get16(ip + 2) > len ||
		    (get16(ip + 6) & 0x3fff))
			return 0;
		family = 4;
		proto = ip[9];
		memcpy(dst, ip + 16, 4);
		l4 = ip + hl;
	} else if (type == 0x86dd) {
		const uint8_t *ip = b + off;
		size_t eo = 40;

		if (len < off + 40 || (ip[0] >> 4) != 6 || off + 40 + get16(ip + 4) > len)
			return 0;
		family = 6;
		proto = ip[6];
		memcpy(dst, ip + 24, 16);
		for (int i = 0; i < 6 && (proto == 0 || proto == 43 || proto == 60); i++) {
			if (len < off + eo + 2)
				return 0;
			proto = ip[eo];
			eo += ((size_t)ip[eo + 1] + 1) * 8;
		}
		if (proto == 44 || proto == 0 || proto == 43 || proto == 60)
			return 0;
		l4 = ip + eo;
	} else {
		return 0;
	}
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) ||
	    l4 + (proto == IPPROTO_TCP ? 20 : 8) > b + len)
		return 0;
	for (size_t i = 0; i < NSVC; i++)
		if (services[i].family == family && services[i].proto == proto &&
		    services[i].port == get16(l4 + 2) &&
		    !memcmp(services[i].vip, dst, family == 4 ? 4 : 16))
			return services[i].app;
	return 0;
}

/* ---- frame generation ---- */

static size_t gen_router(uint8_t *b)
{
	const struct svc *s = &services[rnd_below(NSVC)];
	/* Half the frames belong to a few hot flows, so that flows come back
	 * within a jiffy and the router's flow cache gets its share. */
	uint16_t sport = (uint16_t)(1024 + rnd_below(rnd_below(2) ? 16 : 4096));
	struct fspec f = spec_in(s->family, s->vip, s->proto, sport, s->port);

	f.payload = rnd_below(8) ? rnd_below(200) : rnd_below(2000);
	if (rnd_below(5) == 0)
		f.vlan = 1 + (int)rnd_below(4094);
	if (f.family == 4 && rnd_below(8) == 0)
		f.ip4_opts = (int)rnd_below(11);
	if (f.family == 6 && rnd_below(8) == 0)
		f.ip6_ext = (int)rnd_below(4);
	if (rnd_below(16) == 0)
		f.dst[f.family == 4 ? 3 : 15] ^= 1; /* not a VIP */
	if (rnd_below(16) == 0)
		f.dport ^= 1;
	if (f.proto == IPPROTO_TCP) {
		/* Mostly a flow's later packets (ACK), some SYNs (new or reopened
		 * connections, never from the flow cache), some FIN / RST. */
		uint32_t r = rnd_below(8);

		f.tcp_flags = r == 0 ? (rnd_below(2) ? 0x11 : 0x04) : r == 1 ? 0x02 : 0x10;
	}
	return frame_build(b, &f);
}

/* A reply from the guest on (tap index) ti, i.e. slot 10 (app 1) or 20 (app 3). */
static size_t gen_guest(uint8_t *b, int ti)
{
	const struct svc *s = &services[ti == 0 ? rnd_below(4) : 6];
	struct fspec in = spec_in(s->family, s->vip, s->proto, (uint16_t)(1024 + rnd_below(4096)),
				  s->port),
		     f = spec_reply(&in, ti == 0 ? MAC_G10 : MAC_G20);

	f.payload = rnd_below(200);
	if (rnd_below(16) == 0)
		f.vlan = 7;
	if (rnd_below(16) == 0)
		f.dst[3] ^= 1;
	if (rnd_below(32) == 0)
		return frame_arp_request(b, f.smac, INSIDE4, H_GW_IP4);
	if (rnd_below(32) == 0)
		return frame_ns(b, f.smac, INSIDE6, H_GW_IP6);
	return frame_build(b, &f);
}

/* Flips, overwrites, truncates or extends: most of it in the headers. */
static size_t mutate(uint8_t *b, size_t len)
{
	uint32_t kind = rnd_below(10);

	if (kind < 3)
		return len; /* a third stays valid */
	if (kind < 7) {
		for (uint32_t n = 1 + rnd_below(3); n; n--)
			b[rnd_below((uint32_t)(len < 96 ? len : 96))] ^=
				(uint8_t)(1u << rnd_below(8));
		return len;
	}
	if (kind < 9)
		return 14 + rnd_below((uint32_t)(len - 14 + 1));
	for (uint32_t i = 0; i < 64; i++)
		b[len + i] = (uint8_t)rnd();
	return len + 64;
}

/* ---- the run ---- */

struct tally {
	uint64_t verdicts[EMBER_V_MAX];
	uint64_t app_packets[4];
	uint64_t cached, fast_v4; /* router decisions from the flow cache / its IPv4 fast path */
};

/* Slot 11 belongs to app 1 on tap[1] (phase 0) or to app 3 on tap[5] (phase 1). */
static int move_slot11(struct harness *h, int phase)
{
	uint32_t slot = SLOT11, from = phase ? APP1 : APP3;
	struct ember_app a;
	int fd = h_map(h, EMBER_MAP_APPS);

	if (bpf_map_lookup_elem(fd, &from, &a) == 0) {
		for (uint32_t i = 0; i < a.nlive; i++)
			if (a.live[i] == slot)
				a.live[i] = a.live[--a.nlive];
		bpf_map_update_elem(fd, &from, &a, BPF_EXIST);
	}
	/* ember_guests is an array: a zeroed entry is a free slot. */
	bpf_map_update_elem(h_map(h, EMBER_MAP_GUESTS), &slot, &(struct ember_guest){0}, BPF_EXIST);
	return phase ? h_guest_add(h, SLOT11, APP3, h->tap[5], MAC_G11, INSIDE4, INSIDE6)
		     : h_guest_add(h, SLOT11, APP1, h->tap[1], MAC_G11, INSIDE4, INSIDE6);
}

static int tap_allowed(struct harness *h, uint32_t app, uint32_t ifindex, int phase)
{
	if (app == APP1)
		return ifindex == (uint32_t)h->tap[0] || ifindex == (uint32_t)h->tap[2] ||
		       (!phase && ifindex == (uint32_t)h->tap[1]);
	if (app == APP2)
		return ifindex == (uint32_t)h->tap[3];
	if (app == APP3)
		return ifindex == (uint32_t)h->tap[4] || (phase && ifindex == (uint32_t)h->tap[5]);
	return 0;
}

static void check_router(struct harness *h, uint64_t iter, const uint8_t *in, size_t inlen,
			 const uint8_t *out, size_t outlen, int act, const struct ember_debug *d,
			 int phase, int in_ok, struct tally *t)
{
	uint32_t app = ref_app(in, inlen);
	char why[128];

	t->verdicts[d->verdict < EMBER_V_MAX ? d->verdict : 0]++;
	if (d->flags & EMBER_DBG_F_FLOW_CACHE) {
		CHECK(act == XDP_REDIRECT && d->verdict == EMBER_V_TO_GUEST,
		      "flow cache decided action %d verdict %u", act, d->verdict);
		t->cached++;
		t->fast_v4 += !!(d->flags & EMBER_DBG_F_FAST_V4);
	}
	if (act == XDP_REDIRECT) {
		CHECK(d->verdict == EMBER_V_TO_GUEST || d->verdict == EMBER_V_TO_STANDBY,
		      "redirect with verdict %u", d->verdict);
		CHECK(app && d->app_id == app, "redirected for app %u, frame addresses app %u",
		      d->app_id, app);
		CHECK(tap_allowed(h, app, d->ifindex, phase),
		      "app %u frame redirected to ifindex %u (not its tap)", app, d->ifindex);
		if (in_ok)
			CHECK(!frame_csum_ok(out, outlen, why, sizeof(why)), "output: %s", why);
		t->app_packets[d->app_id & 3]++;
	} else if (act == XDP_PASS) {
		CHECK(d->verdict <= EMBER_V_PASS_FRAGMENT, "pass with verdict %u", d->verdict);
		CHECK(outlen == inlen && !memcmp(in, out, inlen), "a passed frame was modified");
		CHECK(d->verdict != EMBER_V_PASS_NOT_VIP || !app || !in_ok,
		      "a valid frame for app %u passed as not-VIP", app);
	} else if (act == XDP_DROP) {
		CHECK(d->verdict == EMBER_V_DROP && d->drop_reason == EMBER_DROP_NO_TARGET,
		      "router drop with verdict %u reason %u", d->verdict, d->drop_reason);
		t->app_packets[d->app_id & 3]++;
	} else {
		CHECK(0, "router action %d", act);
	}
}

static int vip_of_app(const uint8_t *addr, int family, uint32_t app)
{
	for (size_t i = 0; i < NSVC; i++)
		if (services[i].app == app && services[i].family == family &&
		    !memcmp(services[i].vip, addr, family == 4 ? 4 : 16))
			return 1;
	return 0;
}

static void check_guest(struct harness *h, uint64_t iter, const uint8_t *out, size_t outlen,
			int act, const struct ember_debug *d, uint32_t app, struct tally *t)
{
	t->verdicts[d->verdict < EMBER_V_MAX ? d->verdict : 0]++;
	if (act == XDP_REDIRECT || act == XDP_PASS) {
		CHECK(act == XDP_PASS ? d->verdict == EMBER_V_PASS_NO_NEIGH
				      : d->verdict == EMBER_V_TO_CLIENT &&
						d->ifindex == (uint32_t)h->egress,
		      "guest action %d verdict %u ifindex %u", act, d->verdict, d->ifindex);
		/* Whatever leaves carries one of its own app's VIPs as source. */
		if (outlen >= 14 + 40 && get16(out + 12) == 0x86dd)
			CHECK(vip_of_app(out + 14 + 8, 6, app), "IPv6 reply not from app %u's VIP",
			      app);
		else if (outlen >= 14 + 20)
			CHECK(vip_of_app(out + 14 + 12, 4, app), "IPv4 reply not from app %u's VIP",
			      app);
		t->app_packets[app]++;
	} else if (act == XDP_TX) {
		CHECK(d->verdict == EMBER_V_GW_ANSWER, "XDP_TX with verdict %u", d->verdict);
	} else if (act == XDP_DROP) {
		CHECK(d->verdict == EMBER_V_DROP && d->drop_reason < EMBER_DROP_MAX &&
			      d->drop_reason != EMBER_DROP_NO_TARGET,
		      "guest drop verdict %u reason %u", d->verdict, d->drop_reason);
		t->app_packets[app]++;
	} else {
		CHECK(0, "guest action %d", act);
	}
}

int main(int argc, char **argv)
{
	static uint8_t in[FRAME_MAX + 128], out[FRAME_MAX + 128];
	uint64_t seed = getenv("EMBER_SEED") ? strtoull(getenv("EMBER_SEED"), NULL, 0)
					     : (uint64_t)time(NULL);
	uint64_t frames = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000, iter;
	struct tally t = {0};
	struct harness h;
	struct timespec t0, t1;
	int rc, phase = 0;

	printf("seed %llu (reproduce with EMBER_SEED=%llu), %llu frames\n",
	       (unsigned long long)seed, (unsigned long long)seed, (unsigned long long)frames);
	rng_state = seed ? seed : 1;
	rc = h_open(&h, 1000 * 1000); /* 1 ms re-arm: many wakes during the run */
	if (rc)
		return rc;
	if (world_setup(&h) || move_slot11(&h, 0)) {
		printf("FAIL: world setup\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (iter = 0; iter < frames; iter++) {
		int guest = rnd_below(3) == 0, ti = rnd_below(2) ? 0 : 4, act, in_ok;
		size_t inlen = guest ? gen_guest(in, ti) : gen_router(in), outlen = sizeof(out);
		struct ember_debug d;
		char why[128];

		if (iter && iter % 50000 == 0)
			move_slot11(&h, phase ^= 1);
		inlen = mutate(in, inlen);
		in_ok = !frame_csum_ok(in, inlen, why, sizeof(why));
		act = h_run(&h, guest ? h.guest_fd : h.router_fd,
			    (uint32_t)(guest ? h.tap[ti] : h.egress), in, inlen, out, &outlen);
		if (act < 0 || h_last(&h, &d)) {
			CHECK(0, "test run failed: %d", act);
			continue;
		}
		if (guest)
			check_guest(&h, iter, out, outlen, act, &d, ti == 0 ? APP1 : APP3, &t);
		else
			check_router(&h, iter, in, inlen, out, outlen, act, &d, phase, in_ok, &t);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* Counters add up: every decision counted once, every app packet once. */
	for (uint32_t v = 0; v < EMBER_V_MAX; v++)
		CHECK(h_verdicts(&h, v) == t.verdicts[v], "verdict %u: map %llu, seen %llu", v,
		      (unsigned long long)h_verdicts(&h, v), (unsigned long long)t.verdicts[v]);
	for (uint32_t a = APP1; a <= APP3; a++) {
		struct ember_counters c;

		CHECK(h_counters(&h, EMBER_MAP_APP_STATS, a, &c) == 0 &&
			      c.packets == t.app_packets[a],
		      "app %u counted %llu packets, the test saw %llu", a,
		      (unsigned long long)c.packets, (unsigned long long)t.app_packets[a]);
	}
	/* The flow cache must have been exercised, and not only by plain IPv4. */
	CHECK(t.fast_v4 > frames / 100 && t.cached - t.fast_v4 > frames / 200,
	      "only %llu decisions from the flow cache (%llu by the IPv4 fast path)",
	      (unsigned long long)t.cached, (unsigned long long)t.fast_v4);
	printf("flow cache decisions: %llu (IPv4 fast path %llu)\n", (unsigned long long)t.cached,
	       (unsigned long long)t.fast_v4);
	printf("verdicts:");
	for (uint32_t v = 0; v < EMBER_V_MAX; v++)
		if (t.verdicts[v])
			printf(" %u=%llu", v, (unsigned long long)t.verdicts[v]);
	printf("\n%.1f s, wake events %d\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       h_drain_wake(&h, NULL, 0));
	h_close(&h);
	printf("%s: %llu failure(s), seed %llu\n", nfail ? "FAILED" : "PASSED",
	       (unsigned long long)nfail, (unsigned long long)seed);
	return nfail ? 1 : 0;
}
