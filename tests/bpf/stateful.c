// SPDX-License-Identifier: Apache-2.0
/* Stateful BPF fixtures: flow stickiness when a guest joins, one wake event per wake, FIN
 * accounting, zeroed array entries acting as absent ones, established flows when their service
 * goes away or moves. */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fixtures.h"

int failures;

void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	failures++;
}
#define FAIL fail

/* A TCP packet from client port (port) to VIP4_A1:80, the flow's SYN or (later) one of its
 * ACKs; returns the index of the tap it was sent to, or -1. */
int route_port(struct harness *h, uint16_t port, int later)
{
	struct ember_debug d;

	if (run_in(h, VIP4_A1, IPPROTO_TCP, port, 80, later ? 0x10 : 0x02, &d) != XDP_REDIRECT)
		return -1;
	for (int i = 0; i < H_NTAPS; i++)
		if ((uint32_t)h->tap[i] == d.ifindex)
			return i;
	return -1;
}

/* Existing flows stay on their guest when a guest joins; new flows spread to it. */
void test_stickiness(struct harness *h)
{
	int on[2] = {0, 0}, first[32];

	if (world_add_guest11(h))
		return FAIL("adding guest 11");
	if (route_port(h, 40001, 1) != 0)
		FAIL("stickiness: the flow of the first fixture left guest 10");
	for (int i = 0; i < 32; i++) {
		first[i] = route_port(h, (uint16_t)(50000 + i), 0);
		if (first[i] != 0 && first[i] != 1)
			return FAIL("new flow %d went to tap index %d", i, first[i]);
		on[first[i]]++;
	}
	for (int i = 0; i < 32; i++)
		if (route_port(h, (uint16_t)(50000 + i), 1) != first[i])
			FAIL("flow %d changed guest on its second packet", i);
	/* Guest 10 already holds the fixture flows: the less loaded one must win most. */
	if (on[1] < 12)
		FAIL("only %d of 32 new flows went to the new, idle guest", on[1]);
	printf("ok: flow stickiness (new flows: %d to guest 10, %d to guest 11)\n", on[0], on[1]);
}

/* Sets whether (slot) is in app (app_id)'s live set, as dp_guest_drain() and
 * dp_guest_add() leave it; 0 or -1. */
int live_set(struct harness *h, uint32_t app_id, uint32_t slot, int live)
{
	struct ember_app a;
	uint32_t i;

	if (bpf_map_lookup_elem(h_map(h, EMBER_MAP_APPS), &app_id, &a))
		return -1;
	for (i = 0; i < a.nlive && a.live[i] != slot; i++)
		;
	if (!live && i < a.nlive)
		a.live[i] = a.live[--a.nlive];
	if (live && i == a.nlive)
		a.live[a.nlive++] = slot;
	return bpf_map_update_elem(h_map(h, EMBER_MAP_APPS), &app_id, &a, BPF_EXIST) ? -1 : 0;
}

/* A draining guest (out of the live set, slot kept: a redeploy's old guest)
 * keeps its flows and gets no new one. Runs after test_stickiness. */
void test_drain(struct harness *h)
{
	int kept = 0, on[32];

	for (int i = 0; i < 32; i++)
		on[i] = route_port(h, (uint16_t)(50000 + i), 1);
	if (live_set(h, APP1, SLOT11, 0))
		return FAIL("draining guest 11");
	for (int i = 0; i < 32; i++) {
		if (route_port(h, (uint16_t)(50000 + i), 1) != on[i])
			FAIL("flow %d left its guest when guest 11 drained", i);
		kept += on[i] == 1;
	}
	for (int i = 0; i < 32; i++)
		if (route_port(h, (uint16_t)(51000 + i), 0) != 0)
			FAIL("new flow %d went to the draining guest 11", i);
	if (live_set(h, APP1, SLOT11, 1))
		return FAIL("guest 11 back into the live set");
	printf("ok: draining guest 11 kept its %d flows, got none of 32 new ones\n", kept);
}

static int wake_events(struct harness *h, uint32_t app)
{
	uint32_t ids[16];
	int n = h_drain_wake(h, ids, 16);

	for (int i = 0; i < n && i < 16; i++)
		if (ids[i] != app)
			FAIL("wake event for app %u, want %u", ids[i], app);
	return n;
}

static int send_idle(struct harness *h, uint16_t port)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	struct fspec s = spec_in(4, VIP4_A2, IPPROTO_TCP, port, 80);
	size_t n = frame_build(in, &s), outlen = sizeof(out);
	struct ember_debug d;

	if (h_run(h, h->router_fd, (uint32_t)h->egress, in, n, out, &outlen) != XDP_REDIRECT ||
	    h_last(h, &d) || d.ifindex != (uint32_t)h->tap[3])
		return -1;
	return 0;
}

static void end_wake(struct harness *h, uint32_t app_id)
{
	struct ember_app a;
	int fd = h_map(h, EMBER_MAP_APPS);

	bpf_map_lookup_elem(fd, &app_id, &a);
	a.waking_since_ns = 0;
	bpf_map_update_elem(fd, &app_id, &a, BPF_EXIST);
}

/* One event per wake: a burst makes one, userspace ending the wake or the re-arm timeout one more.
 */
void test_wake(struct harness *h, int burst)
{
	struct ember_counters c;
	int n;

	if ((n = wake_events(h, APP2)) != 1)
		FAIL("the standby fixture produced %d wake events, want 1", n);
	end_wake(h, APP2);
	for (int i = 0; i < burst; i++)
		if (send_idle(h, (uint16_t)(1000 + i)))
			return FAIL("burst packet %d not redirected to the standby tap", i);
	if ((n = wake_events(h, APP2)) != 1)
		FAIL("a burst of %d packets produced %d wake events, want 1", burst, n);
	usleep(300 * 1000); /* the harness re-arm timeout is 200 ms */
	send_idle(h, 999);
	if ((n = wake_events(h, APP2)) != 1)
		FAIL("after the re-arm timeout: %d wake events, want 1", n);
	if (h_counters(h, EMBER_MAP_APP_STATS, APP2, &c) || c.packets != (uint64_t)burst + 2)
		FAIL("app 2 counted %llu packets, want %d", (unsigned long long)c.packets,
		     burst + 2);
	printf("ok: wake: one event per wake for a burst of %d, one after re-arm\n", burst);
}

int run_in(struct harness *h, const uint8_t *vip, uint8_t proto, uint16_t port, uint16_t dport,
	   uint8_t flags, struct ember_debug *d)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	struct fspec s = spec_in(4, vip, proto, port, dport);
	size_t n, outlen = sizeof(out);
	int act;

	s.tcp_flags = proto == IPPROTO_TCP ? flags : 0;
	n = frame_build(in, &s);
	h_clear_last(h);
	act = h_run(h, h->router_fd, (uint32_t)h->egress, in, n, out, &outlen);
	return h_last(h, d) ? -1 : act;
}

uint64_t load_of(struct harness *h, uint32_t slot)
{
	uint64_t v = 0;

	bpf_map_lookup_elem(h_map(h, EMBER_MAP_GUEST_LOAD), &slot, &v);
	return v;
}

/* A guest FIN closes its flow once in the active-flow count. */
void test_fin(struct harness *h)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	struct fspec req = spec_in(4, VIP4_A1, IPPROTO_TCP, 40001, 80),
		     s = spec_reply(&req, MAC_G10);
	uint64_t before = load_of(h, SLOT10);
	size_t n, outlen;

	s.tcp_flags = 0x11; /* FIN-ACK */
	n = frame_build(in, &s);
	for (int i = 0; i < 2; i++) {
		outlen = sizeof(out);
		if (h_run(h, h->guest_fd, (uint32_t)h->tap[0], in, n, out, &outlen) != XDP_REDIRECT)
			return FAIL("FIN reply not forwarded");
	}
	if (load_of(h, SLOT10) != before - 1)
		return FAIL("active flows of guest 10: %llu -> %llu, want one less",
			    (unsigned long long)before, (unsigned long long)load_of(h, SLOT10));
	printf("ok: FIN accounting (guest 10 active flows %llu -> %llu)\n",
	       (unsigned long long)before, (unsigned long long)load_of(h, SLOT10));
}

/* An app whose clones' addresses are known gets standby frames already rewritten. */
void test_standby_rewrite(struct harness *h)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX], want[FRAME_MAX];
	static const uint8_t mac[6] = {0x02, 0x22, 0, 0, 0, 0x22};
	struct fspec s = spec_in(6, VIP6_A2, IPPROTO_UDP, 41000, 53), w = spec_to_guest(&s, mac);
	size_t n = frame_build(in, &s), outlen = sizeof(out), wantlen = frame_build(want, &w);
	int fd = h_map(h, EMBER_MAP_APPS);
	uint32_t app = APP2;
	struct ember_app a;
	char why[128];

	if (bpf_map_lookup_elem(fd, &app, &a))
		return fail("app 2 missing");
	memcpy(a.guest_mac, mac, 6);
	memcpy(a.guest_ip4, INSIDE4, 4);
	memcpy(a.guest_ip6, INSIDE6, 16);
	bpf_map_update_elem(fd, &app, &a, BPF_EXIST);
	if (h_run(h, h->router_fd, (uint32_t)h->egress, in, n, out, &outlen) != XDP_REDIRECT)
		return fail("standby rewrite: not redirected");
	if (outlen != wantlen || memcmp(out, want, wantlen)) {
		frame_diff(out, outlen, want, wantlen, why, sizeof(why));
		return fail("standby rewrite: output differs: %s", why);
	}
	if (frame_csum_ok(out, outlen, why, sizeof(why)))
		return fail("standby rewrite: %s", why);
	printf("ok: standby frames rewritten to the app's clone addresses\n");
}

/* Runs (prog) on a TCP frame to VIP4_A3:(dport) from (port); fills (d). Returns the action. */
static int run_a3(struct harness *h, int prog_fd, uint32_t ifindex, uint16_t port, uint16_t dport,
		  struct ember_debug *d)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	struct fspec s = spec_in(4, VIP4_A3, IPPROTO_TCP, port, dport);
	size_t n = frame_build(in, &s), outlen = sizeof(out);
	int act;

	h_clear_last(h);
	act = h_run(h, prog_fd, ifindex, in, n, out, &outlen);
	return h_last(h, d) ? -1 : act;
}

static int run_zapp(struct harness *h, int prog_fd, uint32_t ifindex, uint16_t port,
		    struct ember_debug *d)
{
	return run_a3(h, prog_fd, ifindex, port, 81, d);
}

int zero_entry(struct harness *h, const char *map, uint32_t key)
{
	static const union {
		struct ember_app a;
		struct ember_guest g;
	} zero;

	return bpf_map_update_elem(h_map(h, map), &key, &zero, BPF_EXIST);
}

/*
 * ember_apps and ember_guests are arrays: a zeroed entry must act exactly as
 * a missing one. App id 0 is a valid app; a zeroed app drops as NO_TARGET
 * even while a flow still names a guest of it; a zeroed slot is never
 * chosen from live[] and a frame on its tap is UNKNOWN_TAP.
 */
void test_zeroed_entries(struct harness *h)
{
	const uint32_t app = 0, slot = 30;
	const int tap = h->tap[6];
	struct ember_app a;
	struct ember_debug d;
	int act;

	if (h_app(h, app, 0) || h_service(h, 4, VIP4_A3, 81, IPPROTO_TCP, app) ||
	    h_guest_add(h, slot, app, tap, MAC_G20, INSIDE4, INSIDE6))
		return fail("zeroed entries: setup");
	act = run_zapp(h, h->router_fd, (uint32_t)h->egress, 42000, &d);
	if (act != XDP_REDIRECT || d.verdict != EMBER_V_TO_GUEST || d.ifindex != (uint32_t)tap)
		return fail("app id 0: action %d verdict %u ifindex %u", act, d.verdict, d.ifindex);

	/* The app is zeroed (deleted); its guest and the flow are still there. */
	if (bpf_map_lookup_elem(h_map(h, EMBER_MAP_APPS), &app, &a) ||
	    zero_entry(h, EMBER_MAP_APPS, app))
		return fail("zeroed entries: zeroing app 0");
	act = run_zapp(h, h->router_fd, (uint32_t)h->egress, 42000, &d);
	if (act != XDP_DROP || d.verdict != EMBER_V_DROP || d.drop_reason != EMBER_DROP_NO_TARGET)
		return fail("zeroed app: action %d verdict %u reason %u, want NO_TARGET drop", act,
			    d.verdict, d.drop_reason);

	/* The app is back with the slot in live[], but the slot is zeroed. */
	if (zero_entry(h, EMBER_MAP_GUESTS, slot) ||
	    bpf_map_update_elem(h_map(h, EMBER_MAP_APPS), &app, &a, BPF_EXIST))
		return fail("zeroed entries: zeroing slot 30");
	for (uint16_t port = 42000; port < 42016; port++) {
		act = run_zapp(h, h->router_fd, (uint32_t)h->egress, port, &d);
		if (act != XDP_DROP || d.drop_reason != EMBER_DROP_NO_TARGET)
			return fail("zeroed slot in live[]: action %d ifindex %u, want a drop", act,
				    d.ifindex);
	}
	act = run_zapp(h, h->guest_fd, (uint32_t)tap, 42000, &d);
	if (act != XDP_DROP || d.drop_reason != EMBER_DROP_UNKNOWN_TAP)
		return fail("zeroed slot on its tap: action %d reason %u, want UNKNOWN_TAP", act,
			    d.drop_reason);
	zero_entry(h, EMBER_MAP_APPS, app);
	printf("ok: zeroed app and guest entries act as absent ones (app id 0 valid)\n");
}

/* What userspace's dp_service_del() / a service move does to the old app. */
int svc_gen_bump(struct harness *h, uint32_t app_id)
{
	struct ember_app a;
	int fd = h_map(h, EMBER_MAP_APPS);

	if (bpf_map_lookup_elem(fd, &app_id, &a))
		return -1;
	a.svc_gen++;
	return bpf_map_update_elem(fd, &app_id, &a, BPF_EXIST);
}

static int svc_a3_del(struct harness *h, uint16_t port)
{
	struct ember_service_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, VIP4_A3, 4);
	k.port = htons(port);
	k.proto = IPPROTO_TCP;
	k.family = EMBER_FAMILY_V4;
	return bpf_map_delete_elem(h_map(h, EMBER_MAP_SERVICES), &k);
}

/* Sends one packet of the flow from (port) to VIP4_A3:82; 0 if it went to (tap) for (app). */
static int to_app_tap(struct harness *h, uint16_t port, uint32_t app, int tap)
{
	struct ember_debug d;
	int act = run_a3(h, h->router_fd, (uint32_t)h->egress, port, 82, &d);

	return act == XDP_REDIRECT && d.verdict == EMBER_V_TO_GUEST && d.ifindex == (uint32_t)tap &&
			       d.app_id == app
		       ? 0
		       : -1;
}

static int passed_not_vip(struct harness *h, uint16_t port)
{
	struct ember_debug d;
	int act = run_a3(h, h->router_fd, (uint32_t)h->egress, port, 82, &d);

	return act == XDP_PASS && d.verdict == EMBER_V_PASS_NOT_VIP ? 0 : -1;
}

/*
 * Established flows skip the ember_svc lookup while their app's svc_gen is
 * unchanged. Service deleted: with the svc_gen bump userspace does, an
 * established flow stops at once (XDP_PASS, as before the fast path).
 * Service moved to another app: the flow goes to a guest of the new app.
 */
void test_service_change(struct harness *h)
{
	const uint32_t a5 = 5, a6 = 6, s5 = 31, s6 = 32;
	const int t5 = h->tap[5], t6 = h->tap[6];

	if (h_app(h, a5, 0) || h_app(h, a6, 0) ||
	    h_guest_add(h, s5, a5, t5, MAC_G20, INSIDE4, INSIDE6) ||
	    h_guest_add(h, s6, a6, t6, MAC_G20, INSIDE4, INSIDE6) ||
	    h_service(h, 4, VIP4_A3, 82, IPPROTO_TCP, a5))
		return fail("service change: setup");
	if (to_app_tap(h, 43000, a5, t5) || to_app_tap(h, 43000, a5, t5))
		return fail("service change: flow not routed to app 5");
	/* Without the bump, the established flow does not consult ember_svc. */
	if (svc_a3_del(h, 82))
		return fail("service change: deleting the service");
	if (to_app_tap(h, 43000, a5, t5))
		fail("fast path: established flow stopped without a svc_gen change");
	if (passed_not_vip(h, 43001))
		fail("service deleted: a new flow was not passed as NOT_VIP");
	/* dp_service_del() bumps the app's svc_gen: the flow stops at once. */
	if (svc_gen_bump(h, a5) || passed_not_vip(h, 43000))
		fail("service deleted: established flow still routed after the svc_gen bump");
	/* Service back: the flow is resumed on its guest (slow path re-validates it). */
	if (h_service(h, 4, VIP4_A3, 82, IPPROTO_TCP, a5) || to_app_tap(h, 43000, a5, t5) ||
	    to_app_tap(h, 43000, a5, t5))
		fail("service re-added: established flow not back on its guest");
	/* Moved to app 6 (+ bump of app 5, as dp_service_add() does): re-picked in app 6. */
	if (h_service(h, 4, VIP4_A3, 82, IPPROTO_TCP, a6) || svc_gen_bump(h, a5) ||
	    to_app_tap(h, 43000, a6, t6) || to_app_tap(h, 43000, a6, t6))
		fail("service moved: established flow did not follow it to app 6");
	svc_a3_del(h, 82);
	zero_entry(h, EMBER_MAP_GUESTS, s5);
	zero_entry(h, EMBER_MAP_GUESTS, s6);
	zero_entry(h, EMBER_MAP_APPS, a5);
	zero_entry(h, EMBER_MAP_APPS, a6);
	printf("ok: established flows follow service deletion and moves (svc_gen)\n");
}
