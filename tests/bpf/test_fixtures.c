// SPDX-License-Identifier: Apache-2.0
/*
 * Table-driven BPF_PROG_TEST_RUN fixtures for the router and guest XDP
 * programs (Katran tester style): {description, input frame, expected
 * action, expected decision, expected output frame}. Every output frame's
 * checksums are recomputed from scratch; expected frames are built from
 * scratch too, so byte equality also proves the incremental checksum fixes.
 */
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "fixtures.h"

enum { ROUTER, GUEST };
enum { T_NONE = -1, T_EGRESS = -2 }; /* else an index into h->tap */

typedef size_t (*build_fn)(struct harness *h, uint8_t *buf);

struct fixture {
	const char *desc;
	int prog;
	int in_tap; /* guest program: the tap it runs on */
	build_fn in;
	int action;
	int verdict;
	int target;
	int reason;   /* for EMBER_V_DROP */
	build_fn out; /* NULL = the input, unchanged */
	/* Routed to a guest: the path the flow's next packet must take
	 * (EMBER_DBG_F_*), 0 = not checked. */
	uint32_t again;
};

#define FAIL fail

/* ---- router inputs ---- */

#define SPEC_FN(name, body)                                                                        \
	static struct fspec name(void)                                                             \
	{                                                                                          \
		body                                                                               \
	}
#define IN_FN(name, specfn)                                                                        \
	static size_t name(struct harness *h, uint8_t *b)                                          \
	{                                                                                          \
		struct fspec s = specfn();                                                         \
		(void)h;                                                                           \
		return frame_build(b, &s);                                                         \
	}
#define TO_GUEST_FN(name, specfn, mac)                                                             \
	static size_t name(struct harness *h, uint8_t *b)                                          \
	{                                                                                          \
		struct fspec in = specfn(), s = spec_to_guest(&in, mac);                           \
		(void)h;                                                                           \
		return frame_build(b, &s);                                                         \
	}

SPEC_FN(s_v4tcp, return spec_in(4, VIP4_A1, IPPROTO_TCP, 40001, 80);)
SPEC_FN(s_v4udp, return spec_in(4, VIP4_A1, IPPROTO_UDP, 40002, 53);)
SPEC_FN(s_v4udp0, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_UDP, 40003, 53); s.udp_nocsum = 1;
	return s;)
SPEC_FN(s_v6tcp, return spec_in(6, VIP6_A1, IPPROTO_TCP, 40004, 80);)
SPEC_FN(s_v6udp, return spec_in(6, VIP6_A1, IPPROTO_UDP, 40005, 53);)
SPEC_FN(s_vlan, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40006, 80); s.vlan = 100;
	return s;)
SPEC_FN(s_opts, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40007, 80); s.ip4_opts = 2;
	return s;)
SPEC_FN(s_ext, struct fspec s = spec_in(6, VIP6_A1, IPPROTO_UDP, 40008, 53); s.ip6_ext = 2;
	return s;)
SPEC_FN(s_empty_tcp, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40009, 80); s.payload = 0;
	return s;)
SPEC_FN(s_empty_udp6, struct fspec s = spec_in(6, VIP6_A1, IPPROTO_UDP, 40010, 53); s.payload = 0;
	return s;)
SPEC_FN(s_big4, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40011, 80); s.payload = 3000;
	return s;)
SPEC_FN(s_big6, struct fspec s = spec_in(6, VIP6_A1, IPPROTO_UDP, 40012, 53); s.payload = 3000;
	return s;)
SPEC_FN(s_jumbo, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40015, 80); s.payload = 8900;
	return s;)
SPEC_FN(s_a3, return spec_in(4, VIP4_A3, IPPROTO_TCP, 40013, 80);)
SPEC_FN(s_noneigh, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40014, 80);
	memcpy(s.src, CLIENT4_NONEIGH, 16); return s;)
SPEC_FN(s_notvip, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40020, 80); s.dst[3] = 99;
	return s;)
SPEC_FN(s_wrongport, return spec_in(4, VIP4_A1, IPPROTO_TCP, 40021, 81);)
SPEC_FN(s_wrongproto, return spec_in(4, VIP4_A1, IPPROTO_UDP, 40022, 80);)
SPEC_FN(s_icmp, return spec_in(4, VIP4_A1, IPPROTO_ICMP, 1, 1);)
SPEC_FN(s_icmp6, return spec_in(6, VIP6_A1, IPPROTO_ICMPV6, 1, 1);)
SPEC_FN(s_frag4, struct fspec s = spec_in(4, VIP4_A1, IPPROTO_TCP, 40023, 80); s.ip4_frag = 1;
	return s;)
SPEC_FN(s_frag6, struct fspec s = spec_in(6, VIP6_A1, IPPROTO_UDP, 40024, 53); s.ip6_frag = 1;
	return s;)
SPEC_FN(s_longchain, struct fspec s = spec_in(6, VIP6_A1, IPPROTO_UDP, 40025, 53); s.ip6_ext = 7;
	return s;)
SPEC_FN(s_idle, return spec_in(4, VIP4_A2, IPPROTO_TCP, 40030, 80);)

IN_FN(in_v4tcp, s_v4tcp)
IN_FN(in_v4udp, s_v4udp)
IN_FN(in_v4udp0, s_v4udp0)
IN_FN(in_v6tcp, s_v6tcp)
IN_FN(in_v6udp, s_v6udp)
IN_FN(in_vlan, s_vlan)
IN_FN(in_opts, s_opts)
IN_FN(in_ext, s_ext)
IN_FN(in_empty_tcp, s_empty_tcp)
IN_FN(in_empty_udp6, s_empty_udp6)
IN_FN(in_big4, s_big4)
IN_FN(in_big6, s_big6)
IN_FN(in_a3, s_a3)
IN_FN(in_jumbo, s_jumbo)
IN_FN(in_noneigh, s_noneigh)
IN_FN(in_notvip, s_notvip)
IN_FN(in_wrongport, s_wrongport)
IN_FN(in_wrongproto, s_wrongproto)
IN_FN(in_icmp, s_icmp)
IN_FN(in_icmp6, s_icmp6)
IN_FN(in_frag4, s_frag4)
IN_FN(in_frag6, s_frag6)
IN_FN(in_longchain, s_longchain)
IN_FN(in_idle, s_idle)

TO_GUEST_FN(out_v4tcp, s_v4tcp, MAC_G10)
TO_GUEST_FN(out_v4udp, s_v4udp, MAC_G10)
TO_GUEST_FN(out_v4udp0, s_v4udp0, MAC_G10)
TO_GUEST_FN(out_v6tcp, s_v6tcp, MAC_G10)
TO_GUEST_FN(out_v6udp, s_v6udp, MAC_G10)
TO_GUEST_FN(out_vlan, s_vlan, MAC_G10)
TO_GUEST_FN(out_opts, s_opts, MAC_G10)
TO_GUEST_FN(out_ext, s_ext, MAC_G10)
TO_GUEST_FN(out_empty_tcp, s_empty_tcp, MAC_G10)
TO_GUEST_FN(out_empty_udp6, s_empty_udp6, MAC_G10)
TO_GUEST_FN(out_big4, s_big4, MAC_G10)
TO_GUEST_FN(out_big6, s_big6, MAC_G10)
TO_GUEST_FN(out_a3, s_a3, MAC_G20)
TO_GUEST_FN(out_noneigh, s_noneigh, MAC_G10)

/* Malformed inputs: a valid frame, then cut or corrupted. */
/* (BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, as
 * drivers never deliver them: the shortest case is a bare header.) */
static size_t in_trunc_eth(struct harness *h, uint8_t *b)
{
	in_v4tcp(h, b);
	return 14;
}

static size_t in_trunc_vlan(struct harness *h, uint8_t *b)
{
	in_vlan(h, b);
	return 16;
}

static size_t in_trunc_ip4(struct harness *h, uint8_t *b)
{
	in_v4tcp(h, b);
	return 14 + 12;
}

static size_t in_ihl4(struct harness *h, uint8_t *b)
{
	size_t n = in_v4tcp(h, b);

	b[14] = 0x44;
	return n;
}

static size_t in_ihl15(struct harness *h, uint8_t *b)
{
	in_v4tcp(h, b);
	b[14] = 0x4f;
	b[16] = 0;
	b[17] = 40;
	return 14 + 40;
}

static size_t in_totlen(struct harness *h, uint8_t *b)
{
	size_t n = in_v4tcp(h, b);

	b[16] = 0x07; /* 2000 bytes claimed */
	b[17] = 0xd0;
	return n;
}

static size_t in_trunc_tcp(struct harness *h, uint8_t *b)
{
	struct fspec s = s_v4tcp();

	(void)h;
	s.payload = 0;
	frame_build(b, &s);
	b[17] = 30; /* IPv4 total length covers the 10 bytes kept */
	b[24] = b[25] = 0;
	{
		uint16_t c = inet_csum(b + 14, 20, 0);

		b[24] = c >> 8;
		b[25] = c & 0xff;
	}
	return 14 + 20 + 10;
}

static size_t in_trunc_udp(struct harness *h, uint8_t *b)
{
	struct fspec s = s_v6udp();

	(void)h;
	s.payload = 0;
	frame_build(b, &s);
	b[14 + 5] = 4; /* IPv6 payload length: 4 bytes of UDP header */
	return 14 + 40 + 4;
}

static size_t in_trunc_ip6(struct harness *h, uint8_t *b)
{
	in_v6tcp(h, b);
	return 14 + 30;
}

static size_t in_plen6(struct harness *h, uint8_t *b)
{
	size_t n = in_v6tcp(h, b);

	b[14 + 4] = 0x10; /* 4096 claimed */
	return n;
}

static size_t in_trunc_ext(struct harness *h, uint8_t *b)
{
	struct fspec s = s_ext();

	(void)h;
	s.payload = 0;
	frame_build(b, &s);
	b[14 + 4] = 0;
	b[14 + 5] = 4; /* the first extension header is cut after 4 bytes */
	return 14 + 40 + 4;
}

static size_t in_arp(struct harness *h, uint8_t *b)
{
	(void)h;
	return frame_arp_request(b, MAC_CLIENT, CLIENT4, VIP4_A1);
}

/* ---- guest inputs (replies as the guest sends them) ---- */

#define REPLY_FN(name, specfn, mac, tweak)                                                         \
	static size_t name(struct harness *h, uint8_t *b)                                          \
	{                                                                                          \
		struct fspec in = specfn(), s = spec_reply(&in, mac);                              \
		(void)h;                                                                           \
		tweak;                                                                             \
		return frame_build(b, &s);                                                         \
	}
/* The reply after reverse NAT, as it must leave through the uplink. */
#define OUT_FN(name, specfn, tweak)                                                                \
	static size_t name(struct harness *h, uint8_t *b)                                          \
	{                                                                                          \
		struct fspec in = specfn(), s = spec_reply(&in, MAC_G10);                          \
		memcpy(s.src, in.dst, 16);                                                         \
		memcpy(s.dmac, MAC_UPLINK_PEER, 6);                                                \
		memcpy(s.smac, h->egress_mac, 6);                                                  \
		tweak;                                                                             \
		return frame_build(b, &s);                                                         \
	}

REPLY_FN(g_v4tcp, s_v4tcp, MAC_G10, )
REPLY_FN(g_v6udp, s_v6udp, MAC_G10, )
REPLY_FN(g_v4udp0, s_v4udp0, MAC_G10, )
REPLY_FN(g_v6tcp, s_v6tcp, MAC_G10, )
REPLY_FN(g_noneigh, s_noneigh, MAC_G10, )
REPLY_FN(g_spoof_mac, s_v4tcp, MAC_G11, )
REPLY_FN(g_spoof_ip, s_v4tcp, MAC_G10, s.src[3] = 3)
REPLY_FN(g_spoof_ip6, s_v6tcp, MAC_G10, s.src[15] = 3)
REPLY_FN(g_to_host, s_v4tcp, MAC_G10, memcpy(s.dst, HOST4, 16))
REPLY_FN(g_to_tenant, s_v4tcp, MAC_G10, memcpy(s.dst, VIP4_A3, 16); s.dport = 80)
REPLY_FN(g_to_self, s_v4tcp, MAC_G10, memcpy(s.dst, INSIDE4, 16))
REPLY_FN(g_noflow, s_v4tcp, MAC_G10, s.dst[3] = 99)
REPLY_FN(g_icmp, s_v4tcp, MAC_G10, s.proto = IPPROTO_ICMP)
REPLY_FN(g_vlan, s_v4tcp, MAC_G10, s.vlan = 5)
REPLY_FN(g_on_tap5, s_v4tcp, MAC_G10, )

OUT_FN(o_v4tcp, s_v4tcp, )
OUT_FN(o_v6udp, s_v6udp, )
OUT_FN(o_v4udp0, s_v4udp0, )
OUT_FN(o_v6tcp, s_v6tcp, )

static size_t o_noneigh(struct harness *h, uint8_t *b)
{
	struct fspec in = s_noneigh(), s = spec_reply(&in, MAC_G10);

	(void)h;
	memcpy(s.src, in.dst, 16); /* NATed, MACs left for the kernel */
	return frame_build(b, &s);
}

static size_t g_arp(struct harness *h, uint8_t *b)
{
	(void)h;
	return frame_arp_request(b, MAC_G10, INSIDE4, H_GW_IP4);
}

static size_t o_arp(struct harness *h, uint8_t *b)
{
	(void)h;
	return frame_arp_reply(b, H_GW_MAC, H_GW_IP4, MAC_G10, INSIDE4);
}

static size_t g_arp_other(struct harness *h, uint8_t *b)
{
	static const uint8_t other[4] = {10, 0, 0, 9};

	(void)h;
	return frame_arp_request(b, MAC_G10, INSIDE4, other);
}

static size_t g_arp_spoof(struct harness *h, uint8_t *b)
{
	static const uint8_t wrong[4] = {10, 0, 0, 3};

	(void)h;
	return frame_arp_request(b, MAC_G10, wrong, H_GW_IP4);
}

static size_t g_ns(struct harness *h, uint8_t *b)
{
	(void)h;
	return frame_ns(b, MAC_G10, INSIDE6, H_GW_IP6);
}

static size_t o_na(struct harness *h, uint8_t *b)
{
	(void)h;
	return frame_na(b, H_GW_MAC, H_GW_IP6, MAC_G10, INSIDE6);
}

static size_t g_trunc(struct harness *h, uint8_t *b)
{
	g_v4tcp(h, b);
	return 14;
}

#define RT(d, in, act, v, tgt, out)                                                                \
	{                                                                                          \
		d, ROUTER, 0, in, act, v, tgt, 0, out, 0                                           \
	}
/* To a guest; the next packet of the flow comes from the flow cache, through
 * the in-place IPv4 fast path or through the full parser. */
#define C_FAST	(EMBER_DBG_F_FLOW_CACHE | EMBER_DBG_F_FAST_V4)
#define C_CACHE EMBER_DBG_F_FLOW_CACHE
#define RG(d, in, tgt, out, again)                                                                 \
	{                                                                                          \
		d, ROUTER, 0, in, XDP_REDIRECT, EMBER_V_TO_GUEST, tgt, 0, out, again               \
	}
#define GT(d, tap, in, act, v, tgt, reason, out)                                                   \
	{                                                                                          \
		d, GUEST, tap, in, act, v, tgt, reason, out, 0                                     \
	}
#define MALFORMED(d, in)     RT(d, in, XDP_PASS, EMBER_V_PASS_MALFORMED, T_NONE, NULL)
#define GDROP(d, in, reason) GT(d, 0, in, XDP_DROP, EMBER_V_DROP, T_NONE, reason, NULL)

static const struct fixture fixtures[] = {
	RG("IPv4 TCP SYN to a VIP goes to the live guest", in_v4tcp, 0, out_v4tcp, C_FAST),
	RG("IPv4 UDP to a VIP goes to the live guest", in_v4udp, 0, out_v4udp, C_FAST),
	RG("IPv4 UDP with checksum 0 keeps checksum 0", in_v4udp0, 0, out_v4udp0, C_FAST),
	RG("IPv6 TCP to a VIP goes to the live guest", in_v6tcp, 0, out_v6tcp, C_CACHE),
	RG("IPv6 UDP to a VIP goes to the live guest", in_v6udp, 0, out_v6udp, C_CACHE),
	RG("802.1Q-tagged frame: routed, tag stripped", in_vlan, 0, out_vlan, C_CACHE),
	RG("IPv4 with options: routed, options kept", in_opts, 0, out_opts, C_CACHE),
	RG("IPv6 with two destination-options headers: routed", in_ext, 0, out_ext, C_CACHE),
	RG("TCP with zero-length payload", in_empty_tcp, 0, out_empty_tcp, C_FAST),
	RG("IPv6 UDP with zero-length payload", in_empty_udp6, 0, out_empty_udp6, C_CACHE),
	RG("large IPv4 TCP frame (3054 bytes)", in_big4, 0, out_big4, C_FAST),
	RG("large IPv6 UDP frame (3062 bytes)", in_big6, 0, out_big6, C_CACHE),
	/* Larger than a page: BPF_PROG_TEST_RUN hands it over as a multi-buffer
	 * frame whose linear part ends before the IP datagram does; the
	 * programs are not frags-aware, so it is left to the kernel. */
	RT("9000-byte jumbo frame (multi-buffer) passes untouched", in_jumbo, XDP_PASS,
	   EMBER_V_PASS_MALFORMED, T_NONE, NULL),
	RG("another app's VIP goes to that app's guest", in_a3, 4, out_a3, C_FAST),
	RG("client behind an unresolved neighbour: routed", in_noneigh, 0, out_noneigh, C_FAST),
	RT("non-VIP destination passes untouched", in_notvip, XDP_PASS, EMBER_V_PASS_NOT_VIP,
	   T_NONE, NULL),
	RT("VIP with an unserved port passes", in_wrongport, XDP_PASS, EMBER_V_PASS_NOT_VIP, T_NONE,
	   NULL),
	RT("VIP with an unserved protocol passes", in_wrongproto, XDP_PASS, EMBER_V_PASS_NOT_VIP,
	   T_NONE, NULL),
	RT("ICMP echo to a VIP passes to the kernel", in_icmp, XDP_PASS, EMBER_V_PASS_NOT_VIP,
	   T_NONE, NULL),
	RT("ICMPv6 echo to a VIP passes to the kernel", in_icmp6, XDP_PASS, EMBER_V_PASS_NOT_VIP,
	   T_NONE, NULL),
	RT("ARP passes", in_arp, XDP_PASS, EMBER_V_PASS_NOT_IP, T_NONE, NULL),
	RT("IPv4 fragment to a VIP passes", in_frag4, XDP_PASS, EMBER_V_PASS_FRAGMENT, T_NONE,
	   NULL),
	RT("IPv6 fragment header passes", in_frag6, XDP_PASS, EMBER_V_PASS_FRAGMENT, T_NONE, NULL),
	MALFORMED("Ethernet header only (IPv4 ethertype)", in_trunc_eth),
	MALFORMED("truncated 802.1Q tag", in_trunc_vlan),
	MALFORMED("truncated IPv4 header", in_trunc_ip4),
	MALFORMED("IPv4 IHL 4", in_ihl4),
	MALFORMED("IPv4 IHL 15 beyond the frame", in_ihl15),
	MALFORMED("IPv4 total length beyond the frame", in_totlen),
	MALFORMED("truncated TCP header", in_trunc_tcp),
	MALFORMED("truncated UDP header (IPv6)", in_trunc_udp),
	MALFORMED("truncated IPv6 header", in_trunc_ip6),
	MALFORMED("IPv6 payload length beyond the frame", in_plen6),
	MALFORMED("truncated IPv6 extension header", in_trunc_ext),
	MALFORMED("IPv6 extension chain longer than 6 headers", in_longchain),
	RT("app without a live guest: standby tap, frame untouched", in_idle, XDP_REDIRECT,
	   EMBER_V_TO_STANDBY, 3, NULL),

	GT("IPv4 TCP reply: reverse NAT, out through the uplink", 0, g_v4tcp, XDP_REDIRECT,
	   EMBER_V_TO_CLIENT, T_EGRESS, 0, o_v4tcp),
	GT("IPv6 UDP reply: reverse NAT, out through the uplink", 0, g_v6udp, XDP_REDIRECT,
	   EMBER_V_TO_CLIENT, T_EGRESS, 0, o_v6udp),
	GT("IPv6 TCP reply: reverse NAT, out through the uplink", 0, g_v6tcp, XDP_REDIRECT,
	   EMBER_V_TO_CLIENT, T_EGRESS, 0, o_v6tcp),
	GT("IPv4 UDP reply without checksum keeps 0", 0, g_v4udp0, XDP_REDIRECT, EMBER_V_TO_CLIENT,
	   T_EGRESS, 0, o_v4udp0),
	GT("reply to an unresolved neighbour: NATed, passed", 0, g_noneigh, XDP_PASS,
	   EMBER_V_PASS_NO_NEIGH, T_NONE, 0, o_noneigh),
	GT("ARP request for the gateway is answered", 0, g_arp, XDP_TX, EMBER_V_GW_ANSWER, T_NONE,
	   0, o_arp),
	GT("neighbour solicitation for the gateway is answered", 0, g_ns, XDP_TX, EMBER_V_GW_ANSWER,
	   T_NONE, 0, o_na),
	GDROP("spoofed source MAC", g_spoof_mac, EMBER_DROP_SPOOF_MAC),
	GDROP("spoofed source IPv4", g_spoof_ip, EMBER_DROP_SPOOF_IP),
	GDROP("spoofed source IPv6", g_spoof_ip6, EMBER_DROP_SPOOF_IP),
	GDROP("ARP with a spoofed sender address", g_arp_spoof, EMBER_DROP_SPOOF_IP),
	GDROP("ARP for another address", g_arp_other, EMBER_DROP_BAD_L2),
	GDROP("to the host's own address", g_to_host, EMBER_DROP_TO_HOST),
	GDROP("to another tenant's VIP", g_to_tenant, EMBER_DROP_TO_TENANT),
	GDROP("to the inside address", g_to_self, EMBER_DROP_TO_TENANT),
	GDROP("not a reply to any flow", g_noflow, EMBER_DROP_NO_FLOW),
	GDROP("ICMP from a guest", g_icmp, EMBER_DROP_NO_FLOW),
	GDROP("802.1Q-tagged frame from a guest", g_vlan, EMBER_DROP_BAD_L2),
	GDROP("truncated frame from a guest", g_trunc, EMBER_DROP_BAD_L2),
	GT("frame on a tap without a guest", 5, g_on_tap5, XDP_DROP, EMBER_V_DROP, T_NONE,
	   EMBER_DROP_UNKNOWN_TAP, NULL),
};

static int target_ifindex(struct harness *h, int t)
{
	return t == T_EGRESS ? h->egress : t == T_NONE ? 0 : h->tap[t];
}

/* Runs (f) once; 0 when action, decision and output frame are as expected.
 * (flags) gets the decision's EMBER_DBG_F_* path flags. */
static int run_once(struct harness *h, const struct fixture *f, uint32_t *flags)
{
	static uint8_t in[FRAME_MAX], out[FRAME_MAX], want[FRAME_MAX];
	size_t inlen = f->in(h, in), outlen = sizeof(out), wantlen;
	uint32_t ifx = f->prog == ROUTER ? (uint32_t)h->egress : (uint32_t)h->tap[f->in_tap];
	struct ember_debug d;
	char why[160];
	int act;

	h_clear_last(h);
	act = h_run(h, f->prog == ROUTER ? h->router_fd : h->guest_fd, ifx, in, inlen, out,
		    &outlen);
	if (act != f->action) {
		FAIL("%s: action %d, want %d", f->desc, act, f->action);
		return -1;
	}
	if (h_last(h, &d) || d.verdict != (uint32_t)f->verdict ||
	    d.ifindex != (uint32_t)target_ifindex(h, f->target) ||
	    (f->verdict == EMBER_V_DROP && d.drop_reason != (uint32_t)f->reason)) {
		FAIL("%s: decision verdict %u ifindex %u reason %u, want %d %d %d", f->desc,
		     d.verdict, d.ifindex, d.drop_reason, f->verdict, target_ifindex(h, f->target),
		     f->reason);
		return -1;
	}
	*flags = d.flags;
	if (f->action == XDP_DROP)
		return 0;
	wantlen = f->out ? f->out(h, want) : (memcpy(want, in, inlen), inlen);
	if (outlen != wantlen || memcmp(out, want, wantlen)) {
		frame_diff(out, outlen, want, wantlen, why, sizeof(why));
		FAIL("%s: output frame differs: %s", f->desc, why);
		return -1;
	}
	if (frame_csum_ok(out, outlen, why, sizeof(why))) {
		FAIL("%s: %s", f->desc, why);
		return -1;
	}
	return 0;
}

/*
 * A fixture routed to a guest is a new flow: decided without the flow cache.
 * Its next packet must come out byte for byte the same, through the path
 * (f->again) names. A cache entry lives for the jiffy it was checked in, so
 * a packet that lands on the next jiffy legitimately takes the full path:
 * a few tries.
 */
static void run_fixture(struct harness *h, const struct fixture *f)
{
	uint32_t flags;
	int rc;

	if (run_once(h, f, &flags))
		return;
	if (f->again && flags) {
		FAIL("%s: a new flow was decided by path %#x, want the full path", f->desc, flags);
		return;
	}
	/* A SYN always takes the full path (it may reopen a closed flow). */
	for (int i = 0; f->again && i < 5; i++) {
		spec_later = 1;
		rc = run_once(h, f, &flags);
		spec_later = 0;
		if (rc)
			return;
		if (flags == f->again)
			break;
		if (flags) {
			FAIL("%s: next packet took path %#x, want %#x", f->desc, flags, f->again);
			return;
		}
	}
	if (f->again && flags != f->again) {
		FAIL("%s: next packets never came from the flow cache", f->desc);
		return;
	}
	printf("ok: %s%s\n", f->desc,
	       f->again == C_FAST ? " (again: fast path)"
	       : f->again	  ? " (again: flow cache)"
				  : "");
}

int main(void)
{
	struct harness h;
	int rc = h_open(&h, 200 * 1000 * 1000ull);

	if (rc)
		return rc;
	if (world_setup(&h)) {
		printf("FAIL: world setup\n");
		h_close(&h);
		return 1;
	}
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		run_fixture(&h, &fixtures[i]);
	test_fin(&h);
	test_wake(&h, 1000);
	test_stickiness(&h);
	test_drain(&h);
	test_slot_reuse(&h);
	test_syn_reopen(&h);
	test_unknown_close(&h);
	test_cached_fin(&h);
	test_cache_cross_cpu(&h);
	test_cache_collisions(&h);
	test_standby_rewrite(&h);
	test_zeroed_entries(&h);
	test_service_change(&h);
	h_close(&h);
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
