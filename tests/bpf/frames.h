// SPDX-License-Identifier: Apache-2.0
/* Test frame builders and a from-scratch checksum verifier for the BPF packet fixtures. */
#ifndef EMBER_TESTS_BPF_FRAMES_H
#define EMBER_TESTS_BPF_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX 9216 /* a jumbo frame fits */

/* One TCP/UDP/ICMP frame, described field by field. Addresses are 16 bytes
 * in network order (IPv4 in the first 4); ports in host order. */
struct fspec {
	uint8_t dmac[6], smac[6];
	int vlan;   /* 0 = untagged, else the VLAN id */
	int family; /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint8_t proto; /* IPPROTO_TCP / UDP / ICMP / ICMPV6 */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	size_t payload; /* bytes of payload (pattern-filled) */
	int udp_nocsum; /* IPv4 UDP sent with checksum 0 */
	int ip4_opts;	/* 4-byte multiples of IPv4 options (NOPs) */
	int ip6_ext;	/* number of IPv6 destination-options headers */
	int ip6_frag;	/* add an IPv6 fragment header */
	int ip4_frag;	/* set IPv4 MF */
};

/* Builds the frame described by (s) into (buf) with correct checksums. Returns its length. */
size_t frame_build(uint8_t *buf, const struct fspec *s);

/* An ARP request from (smac, sip) for (tip). Returns its length. */
size_t frame_arp_request(uint8_t *buf, const uint8_t smac[6], const uint8_t sip[4],
			 const uint8_t tip[4]);
/* An ARP reply from (gw_mac, gw_ip) to (mac, ip). */
size_t frame_arp_reply(uint8_t *buf, const uint8_t gw_mac[6], const uint8_t gw_ip[4],
		       const uint8_t mac[6], const uint8_t ip[4]);
/* A neighbour solicitation from (smac, sip) for (target), with the SLLA option. */
size_t frame_ns(uint8_t *buf, const uint8_t smac[6], const uint8_t sip[16],
		const uint8_t target[16]);
/* The matching advertisement from (gw_mac, gw_ip) to (mac, ip). */
size_t frame_na(uint8_t *buf, const uint8_t gw_mac[6], const uint8_t gw_ip[16],
		const uint8_t mac[6], const uint8_t ip[16]);

/* Recomputes every checksum of an IPv4/IPv6 frame from scratch (IP header,
 * TCP, UDP, ICMP, ICMPv6). Returns 0 when all are right, else -1 and a
 * sentence in (why). Non-IP frames are fine (0). */
int frame_csum_ok(const uint8_t *buf, size_t len, char *why, size_t whylen);

/* RFC 1071 checksum of (len) bytes plus (sum). */
uint16_t inet_csum(const void *data, size_t len, uint32_t sum);

/* Hex dump of the first difference between two frames, for failure messages. */
void frame_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, char *out,
		size_t outlen);

#endif
