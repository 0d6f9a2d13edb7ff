// SPDX-License-Identifier: Apache-2.0
/* Stateful BPF fixtures of flows that outlive their guest (a reused slot) or their connection (a
 * reused 5-tuple). */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "fixtures.h"

/* A TCP packet with (flags) from client port (port) to VIP4_A3:80, through the router. */
static int a3_in(struct harness *h, uint16_t port, uint8_t flags, struct ember_debug *d)
{
	return run_in(h, VIP4_A3, IPPROTO_TCP, port, 80, flags, d);
}

/* The reply with (flags) of the guest (mac) on tap (tap_idx) to the flow from client port
 * (port) to (vip):80, through the guest program. Returns the action. */
static int reply(struct harness *h, const uint8_t *vip, int tap_idx, const uint8_t *mac,
		 uint16_t port, uint8_t flags)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];
	struct fspec req = spec_in(4, vip, IPPROTO_TCP, port, 80), s = spec_reply(&req, mac);
	size_t n, outlen = sizeof(out);

	s.tcp_flags = flags;
	n = frame_build(in, &s);
	return h_run(h, h->guest_fd, (uint32_t)h->tap[tap_idx], in, n, out, &outlen);
}

/* What dp_guest_del() and then dp_guest_add() of a new guest do to (slot)
 * of (app_id) on (tap_idx): the slot's gen goes up by one, its count to 0. */
static int slot_new_guest(struct harness *h, uint32_t app_id, uint32_t slot, int tap_idx,
			  const uint8_t *mac)
{
	int fd = h_map(h, EMBER_MAP_GUESTS);
	struct ember_guest g;
	uint32_t gen;

	if (bpf_map_lookup_elem(fd, &slot, &g) || live_set(h, app_id, slot, 0))
		return -1;
	gen = g.gen;
	memset(&g, 0, sizeof(g));
	g.gen = gen;
	if (bpf_map_update_elem(fd, &slot, &g, BPF_EXIST) ||
	    bpf_map_update_elem(h_map(h, EMBER_MAP_GUEST_LOAD), &slot, &(uint64_t){0}, BPF_ANY) ||
	    svc_gen_bump(h, app_id) ||
	    h_guest_add(h, slot, app_id, h->tap[tap_idx], mac, INSIDE4, INSIDE6) ||
	    bpf_map_lookup_elem(fd, &slot, &g))
		return -1;
	g.gen = gen + 1;
	return bpf_map_update_elem(fd, &slot, &g, BPF_EXIST) ? -1 : 0;
}

/*
 * A guest dies with a flow open and a new guest takes its slot. The dead
 * guest's flow must neither reach the new guest as if it were its own nor
 * be counted against it: the new guest's RST to it (it knows no such
 * connection) leaves the new guest's count alone, and the client's next
 * packet is routed as a new flow (counted, then closed by that RST).
 * Without the slot's gen, the RST took the count of the new guest's own
 * connection, and the autoscaler stopped a guest that still had one.
 */
void test_slot_reuse(struct harness *h)
{
	struct ember_debug d;
	uint64_t n;

	if (a3_in(h, 47000, 0x02, &d) != XDP_REDIRECT || d.slot != SLOT20)
		return fail("slot reuse: the first flow did not reach guest 20");
	if (slot_new_guest(h, APP3, SLOT20, 4, MAC_G20))
		return fail("slot reuse: a new guest in slot 20");
	if (a3_in(h, 47001, 0x02, &d) != XDP_REDIRECT || d.slot != SLOT20 ||
	    load_of(h, SLOT20) != 1)
		return fail("slot reuse: the new guest's own flow: slot %u, %llu active flows",
			    d.slot, (unsigned long long)load_of(h, SLOT20));
	if (reply(h, VIP4_A3, 4, MAC_G20, 47000, 0x14) != XDP_REDIRECT)
		return fail("slot reuse: the new guest's RST to the old flow was not forwarded");
	if ((n = load_of(h, SLOT20)) != 1)
		return fail("slot reuse: an RST to the dead guest's flow changed the new guest's "
			    "count: %llu, want 1",
			    (unsigned long long)n);
	if (a3_in(h, 47000, 0x10, &d) != XDP_REDIRECT || d.slot != SLOT20 ||
	    (n = load_of(h, SLOT20)) != 2)
		return fail("slot reuse: the old flow's next packet: slot %u, %llu active flows, "
			    "want a new flow (2)",
			    d.slot, (unsigned long long)load_of(h, SLOT20));
	if (reply(h, VIP4_A3, 4, MAC_G20, 47000, 0x14) != XDP_REDIRECT ||
	    (n = load_of(h, SLOT20)) != 1)
		return fail("slot reuse: the RST to the re-routed flow: %llu active flows, want 1",
			    (unsigned long long)n);
	if (reply(h, VIP4_A3, 4, MAC_G20, 47001, 0x11) != XDP_REDIRECT || load_of(h, SLOT20))
		return fail("slot reuse: the new guest's FIN left %llu active flows",
			    (unsigned long long)load_of(h, SLOT20));
	printf("ok: a flow of a dead guest neither reaches nor is counted against the next guest "
	       "in "
	       "its slot\n");
}

/*
 * A client port comes round again: a SYN on a closed flow-table entry is a
 * new connection. It must go to a live guest (not to the draining one that
 * had the old connection) and count there; late ACKs of the old connection
 * still go to its guest.
 */
void test_syn_reopen(struct harness *h)
{
	static const uint32_t slots[2] = {SLOT10, SLOT11};
	static const uint8_t *const macs[2] = {MAC_G10, MAC_G11};
	const uint16_t port = 47100;
	uint64_t before;
	int x, y;

	x = route_port(h, port, 0);
	if (x != 0 && x != 1)
		return fail("reopen: the first connection went to tap index %d", x);
	y = 1 - x;
	before = load_of(h, slots[x]);
	if (reply(h, VIP4_A1, x, macs[x], port, 0x11) != XDP_REDIRECT ||
	    load_of(h, slots[x]) != before - 1)
		return fail("reopen: the guest's FIN did not close the first connection");
	if (live_set(h, APP1, slots[x], 0))
		return fail("reopen: draining slot %u", slots[x]);
	if (route_port(h, port, 1) != x)
		fail("reopen: a late ACK of the closed connection left its draining guest");
	before = load_of(h, slots[y]);
	if ((x = route_port(h, port, 0)) != y || load_of(h, slots[y]) != before + 1)
		fail("reopen: the new connection's SYN went to tap index %d (want %d), guest %u "
		     "has "
		     "%llu active flows (want %llu)",
		     x, y, slots[y], (unsigned long long)load_of(h, slots[y]),
		     (unsigned long long)before + 1);
	if (live_set(h, APP1, slots[1 - y], 1))
		return fail("reopen: slot %u back into the live set", slots[1 - y]);
	if (reply(h, VIP4_A1, y, macs[y], port, 0x11) != XDP_REDIRECT ||
	    load_of(h, slots[y]) != before)
		return fail("reopen: the new connection's FIN did not close it");
	printf("ok: a SYN on a closed flow is a new connection: to a live guest, counted there\n");
}

/*
 * A client's RST or FIN for a flow the table does not know (evicted, or its
 * guest gone) still reaches a guest, which answers it, but is no active
 * connection: not counted (nothing would take an RST's count off again). A
 * SYN from the same port later is a new connection, counted.
 */
void test_unknown_close(struct harness *h)
{
	uint64_t before = load_of(h, SLOT20);
	struct ember_debug d;

	if (a3_in(h, 47200, 0x04, &d) != XDP_REDIRECT || d.slot != SLOT20 ||
	    a3_in(h, 47201, 0x11, &d) != XDP_REDIRECT || d.slot != SLOT20)
		return fail("unknown close: an RST or FIN of an unknown flow was not forwarded");
	if (load_of(h, SLOT20) != before)
		return fail("unknown close: RST and FIN of unknown flows counted: %llu -> %llu",
			    (unsigned long long)before, (unsigned long long)load_of(h, SLOT20));
	if (a3_in(h, 47200, 0x02, &d) != XDP_REDIRECT || load_of(h, SLOT20) != before + 1)
		return fail("unknown close: a SYN after it was not counted (%llu active flows)",
			    (unsigned long long)load_of(h, SLOT20));
	if (reply(h, VIP4_A3, 4, MAC_G20, 47200, 0x11) != XDP_REDIRECT ||
	    load_of(h, SLOT20) != before)
		return fail("unknown close: the guest's FIN did not close the new connection");
	printf("ok: an RST or FIN of an unknown flow is forwarded, not counted\n");
}
