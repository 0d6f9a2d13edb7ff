// SPDX-License-Identifier: Apache-2.0
/* The fixture world: addresses, MACs, and the map contents every BPF test starts from. */
#include "fixtures.h"

#include <netinet/in.h>
#include <string.h>

const uint8_t VIP4_A1[16] = {203, 0, 113, 10};
const uint8_t VIP6_A1[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x10, [15] = 0x10};
const uint8_t VIP4_A2[16] = {203, 0, 113, 20};
const uint8_t VIP6_A2[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x20, [15] = 0x20};
const uint8_t VIP4_A3[16] = {203, 0, 113, 30};
const uint8_t CLIENT4[16] = {192, 0, 2, 7};
const uint8_t CLIENT6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 7};
const uint8_t CLIENT4_NONEIGH[16] = {198, 51, 100, 3};
const uint8_t HOST4[16] = {198, 51, 100, 1};
const uint8_t INSIDE4[16] = {10, 0, 0, 2};
const uint8_t INSIDE6[16] = {0xfd, [15] = 2};
const uint8_t MAC_CLIENT[6] = {0x02, 0xcc, 0, 0, 0, 0x07};
const uint8_t MAC_NIC[6] = {0x02, 0xbb, 0, 0, 0, 0x01};
const uint8_t MAC_G10[6] = {0x02, 0x10, 0, 0, 0, 0x10};
const uint8_t MAC_G11[6] = {0x02, 0x11, 0, 0, 0, 0x11};
const uint8_t MAC_G20[6] = {0x02, 0x20, 0, 0, 0, 0x20};
const uint8_t MAC_UPLINK_PEER[6] = {0x02, 0xaa, 0, 0, 0, 0x02};

int world_setup(struct harness *h)
{
	int rc = 0;

	rc = rc ?: h_app(h, APP1, h->tap[2]);
	rc = rc ?: h_app(h, APP2, h->tap[3]);
	rc = rc ?: h_app(h, APP3, 0);
	rc = rc ?: h_service(h, 4, VIP4_A1, 80, IPPROTO_TCP, APP1);
	rc = rc ?: h_service(h, 4, VIP4_A1, 53, IPPROTO_UDP, APP1);
	rc = rc ?: h_service(h, 6, VIP6_A1, 80, IPPROTO_TCP, APP1);
	rc = rc ?: h_service(h, 6, VIP6_A1, 53, IPPROTO_UDP, APP1);
	rc = rc ?: h_service(h, 4, VIP4_A2, 80, IPPROTO_TCP, APP2);
	rc = rc ?: h_service(h, 6, VIP6_A2, 53, IPPROTO_UDP, APP2);
	rc = rc ?: h_service(h, 4, VIP4_A3, 80, IPPROTO_TCP, APP3);
	rc = rc ?: h_guest_add(h, SLOT10, APP1, h->tap[0], MAC_G10, INSIDE4, INSIDE6);
	rc = rc ?: h_guest_add(h, SLOT20, APP3, h->tap[4], MAC_G20, INSIDE4, INSIDE6);
	rc = rc ?: h_host_addr(h, 4, HOST4);
	return rc;
}

int world_add_guest11(struct harness *h)
{
	return h_guest_add(h, SLOT11, APP1, h->tap[1], MAC_G11, INSIDE4, INSIDE6);
}

int spec_later;

struct fspec spec_in(int family, const uint8_t *vip, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct fspec s;

	memset(&s, 0, sizeof(s));
	memcpy(s.dmac, MAC_NIC, 6);
	memcpy(s.smac, MAC_CLIENT, 6);
	s.family = family;
	memcpy(s.src, family == 4 ? CLIENT4 : CLIENT6, 16);
	memcpy(s.dst, vip, 16);
	s.proto = proto;
	s.sport = sport;
	s.dport = dport;
	if (proto == IPPROTO_TCP)
		s.tcp_flags = spec_later ? 0x10 : 0x02; /* ACK : SYN */
	s.payload = 32;
	return s;
}

struct fspec spec_to_guest(const struct fspec *in, const uint8_t mac[6])
{
	struct fspec s = *in;

	memcpy(s.dmac, mac, 6);
	memcpy(s.smac, H_GW_MAC, 6);
	s.vlan = 0;
	memcpy(s.dst, s.family == 4 ? INSIDE4 : INSIDE6, 16);
	return s;
}

struct fspec spec_reply(const struct fspec *in, const uint8_t mac[6])
{
	struct fspec s = *in;

	memcpy(s.dmac, H_GW_MAC, 6);
	memcpy(s.smac, mac, 6);
	s.vlan = 0;
	memcpy(s.src, s.family == 4 ? INSIDE4 : INSIDE6, 16);
	memcpy(s.dst, in->src, 16);
	s.sport = in->dport;
	s.dport = in->sport;
	s.tcp_flags = in->proto == IPPROTO_TCP ? 0x12 : 0; /* SYN-ACK */
	return s;
}
