// SPDX-License-Identifier: Apache-2.0
/* Builds test frames byte by byte and verifies their checksums from scratch (no kernel headers
 * involved). */
#include "frames.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint16_t inet_csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	for (; len > 1; len -= 2, p += 2)
		s += get16(p);
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Sum of the pseudo header (not complemented), for TCP/UDP/ICMPv6. */
static uint32_t pseudo_sum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			   size_t l4len)
{
	int alen = family == 4 ? 4 : 16;
	uint32_t s = 0;

	for (int i = 0; i < alen; i += 2)
		s += get16(src + i) + get16(dst + i);
	return s + proto + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
}

static size_t put_eth(uint8_t *b, const struct fspec *s, uint16_t type)
{
	memcpy(b, s->dmac, 6);
	memcpy(b + 6, s->smac, 6);
	if (s->vlan) {
		put16(b + 12, 0x8100);
		put16(b + 14, (uint16_t)s->vlan);
		put16(b + 16, type);
		return 18;
	}
	put16(b + 12, type);
	return 14;
}

static size_t l4_header(uint8_t *l4, const struct fspec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		memset(l4, 0, 20);
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		l4[7] = 1; /* seq 1 */
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 65535);
		return 20;
	case IPPROTO_UDP:
		memset(l4, 0, 8);
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		return 8;
	default: /* ICMP / ICMPv6 echo request */
		memset(l4, 0, 8);
		l4[0] = s->proto == IPPROTO_ICMP ? 8 : 128;
		put16(l4 + 4, s->sport);
		put16(l4 + 6, s->dport);
		return 8;
	}
}

static void l4_csum(uint8_t *l4, size_t l4len, const struct fspec *s)
{
	int off = s->proto == IPPROTO_TCP ? 16 : s->proto == IPPROTO_UDP ? 6 : 2;
	uint32_t ps = 0;
	uint16_t c;

	if (s->proto == IPPROTO_UDP && s->family == 4 && s->udp_nocsum)
		return;
	if (s->proto != IPPROTO_ICMP)
		ps = pseudo_sum(s->family, s->src, s->dst, s->proto, l4len);
	put16(l4 + off, 0);
	c = inet_csum(l4, l4len, ps);
	if (s->proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	put16(l4 + off, c);
}

size_t frame_build(uint8_t *buf, const struct fspec *s)
{
	size_t off = put_eth(buf, s, s->family == 4 ? 0x0800 : 0x86dd), ipoff = off, hl, l4len;
	uint8_t *ip = buf + off, *l4;
	uint8_t next = s->proto;

	if (s->family == 4) {
		hl = 20 + 4 * (size_t)s->ip4_opts;
		memset(ip, 0, hl);
		memset(ip + 20, 1, hl - 20); /* NOP options */
		ip[0] = 0x40 | (uint8_t)(hl / 4);
		ip[6] = s->ip4_frag ? 0x20 : 0x40; /* MF or DF */
		ip[8] = 64;
		ip[9] = s->proto;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
	} else {
		hl = 40 + 8 * (size_t)s->ip6_ext + (s->ip6_frag ? 8 : 0);
		memset(ip, 0, hl);
		ip[0] = 0x60;
		ip[7] = 64;
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
		/* Chain: [dest opts]* [fragment] L4, built back to front. */
		size_t eo = hl;
		if (s->ip6_frag) {
			eo -= 8;
			ip[eo] = next;
			next = 44;
		}
		for (int i = 0; i < s->ip6_ext; i++) {
			eo -= 8;
			ip[eo] = next;
			ip[eo + 2] = 1; /* PadN option filling the header */
			ip[eo + 3] = 4;
			next = 60;
		}
		ip[6] = next;
	}
	l4 = ip + hl;
	l4len = l4_header(l4, s);
	for (size_t i = 0; i < s->payload; i++)
		l4[l4len + i] = (uint8_t)('a' + i % 26);
	l4len += s->payload;
	if (s->proto == IPPROTO_UDP)
		put16(l4 + 4, (uint16_t)l4len);
	l4_csum(l4, l4len, s);
	if (s->family == 4) {
		put16(ip + 2, (uint16_t)(hl + l4len));
		put16(ip + 10, inet_csum(ip, hl, 0));
	} else {
		put16(ip + 4, (uint16_t)(hl - 40 + l4len));
	}
	return ipoff + hl + l4len;
}

static size_t arp(uint8_t *b, uint16_t op, const uint8_t *dmac, const uint8_t *smac,
		  const uint8_t *sip, const uint8_t *tha, const uint8_t *tip)
{
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	put16(b + 12, 0x0806);
	put16(b + 14, 1);
	put16(b + 16, 0x0800);
	b[18] = 6;
	b[19] = 4;
	put16(b + 20, op);
	memcpy(b + 22, smac, 6);
	memcpy(b + 28, sip, 4);
	memcpy(b + 32, tha, 6);
	memcpy(b + 38, tip, 4);
	return 42;
}

size_t frame_arp_request(uint8_t *buf, const uint8_t smac[6], const uint8_t sip[4],
			 const uint8_t tip[4])
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6];

	return arp(buf, 1, bcast, smac, sip, zero, tip);
}

size_t frame_arp_reply(uint8_t *buf, const uint8_t gw_mac[6], const uint8_t gw_ip[4],
		       const uint8_t mac[6], const uint8_t ip[4])
{
	return arp(buf, 2, mac, gw_mac, gw_ip, mac, ip);
}

static size_t nd(uint8_t *b, uint8_t type, const uint8_t *dmac, const uint8_t *smac,
		 const uint8_t *sip, const uint8_t *dip, const uint8_t *target, uint8_t opt,
		 uint32_t flags)
{
	uint8_t *ip = b + 14, *m = ip + 40;

	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	put16(b + 12, 0x86dd);
	memset(ip, 0, 40 + 32);
	ip[0] = 0x60;
	put16(ip + 4, 32);
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 255;
	memcpy(ip + 8, sip, 16);
	memcpy(ip + 24, dip, 16);
	m[0] = type;
	m[4] = flags >> 24;
	memcpy(m + 8, target, 16);
	m[24] = opt;
	m[25] = 1;
	memcpy(m + 26, smac, 6);
	put16(m + 2, inet_csum(m, 32, pseudo_sum(6, sip, dip, IPPROTO_ICMPV6, 32)));
	return 14 + 40 + 32;
}

size_t frame_ns(uint8_t *buf, const uint8_t smac[6], const uint8_t sip[16],
		const uint8_t target[16])
{
	/* Solicited-node multicast address and MAC of the target. */
	uint8_t dip[16] = {0xff, 0x02, [11] = 1, [12] = 0xff};
	uint8_t dmac[6] = {0x33, 0x33, 0xff};

	memcpy(dip + 13, target + 13, 3);
	memcpy(dmac + 3, target + 13, 3);
	return nd(buf, 135, dmac, smac, sip, dip, target, 1, 0);
}

size_t frame_na(uint8_t *buf, const uint8_t gw_mac[6], const uint8_t gw_ip[16],
		const uint8_t mac[6], const uint8_t ip[16])
{
	return nd(buf, 136, mac, gw_mac, gw_ip, ip, gw_ip, 2, 0x60000000);
}

static int l4_ok(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		 const uint8_t *l4, size_t l4len, char *why, size_t wl)
{
	uint32_t ps = proto == IPPROTO_ICMP ? 0 : pseudo_sum(family, src, dst, proto, l4len);

	if ((proto == IPPROTO_UDP && l4len < 8) || (proto == IPPROTO_TCP && l4len < 20))
		return 0; /* truncated L4 header: nothing a checksum could cover */
	if (proto == IPPROTO_UDP && family == 4 && get16(l4 + 6) == 0)
		return 0; /* no checksum */
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_ICMP &&
	    proto != IPPROTO_ICMPV6)
		return 0;
	if (inet_csum(l4, l4len, ps) != 0) {
		snprintf(why, wl, "bad L4 (proto %u) checksum", proto);
		return -1;
	}
	return 0;
}

int frame_csum_ok(const uint8_t *b, size_t len, char *why, size_t wl)
{
	size_t off = 14;
	uint16_t type;

	if (len < 14)
		return 0;
	type = get16(b + 12);
	if (type == 0x8100 && len >= 18) {
		type = get16(b + 16);
		off = 18;
	}
	if (type == 0x0800 && len >= off + 20) {
		const uint8_t *ip = b + off;
		size_t hl = (size_t)(ip[0] & 15) * 4, tot = get16(ip + 2);

		if (hl < 20 || off + tot > len || tot < hl)
			return 0; /* malformed input passes through unchanged */
		if (inet_csum(ip, hl, 0) != 0) {
			snprintf(why, wl, "bad IPv4 header checksum");
			return -1;
		}
		if (get16(ip + 6) & 0x3fff)
			return 0; /* fragment: L4 checksum covers the whole datagram */
		return l4_ok(4, ip + 12, ip + 16, ip[9], ip + hl, tot - hl, why, wl);
	}
	if (type == 0x86dd && len >= off + 40) {
		const uint8_t *ip = b + off;
		size_t plen = get16(ip + 4), eo = 40;
		uint8_t next = ip[6];

		if (off + 40 + plen > len)
			return 0;
		while ((next == 0 || next == 43 || next == 60 || next == 44) &&
		       eo + 8 <= 40 + plen) {
			if (next == 44)
				return 0; /* fragment */
			uint8_t n = ip[eo];
			eo += ((size_t)ip[eo + 1] + 1) * 8;
			next = n;
		}
		if (eo > 40 + plen)
			return 0;
		return l4_ok(6, ip + 8, ip + 24, next, ip + eo, 40 + plen - eo, why, wl);
	}
	return 0;
}

void frame_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, char *out,
		size_t outlen)
{
	size_t i, n = alen < blen ? alen : blen;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	if (i == n && alen == blen) {
		snprintf(out, outlen, "identical");
		return;
	}
	snprintf(out, outlen, "lengths %zu/%zu, first difference at byte %zu: got %02x want %02x",
		 alen, blen, i, i < alen ? a[i] : 0, i < blen ? b[i] : 0);
}
