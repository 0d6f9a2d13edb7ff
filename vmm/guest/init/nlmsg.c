/* SPDX-License-Identifier: Apache-2.0 */
/* Pure builders of the rtnetlink requests ember-init sends (link, addr, neigh, route). */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "init.h"

struct attr {
	uint16_t type;
	uint16_t len;
	const void *data;
};

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/*
 * Append one message: header, family-specific struct @hdr, attributes.
 * The size is computed first so a full buffer is left untouched.
 */
static int put_msg(struct nlbuf *b, uint16_t type, uint16_t flags, const void *hdr, size_t hdrlen,
		   const struct attr *attrs, int nr)
{
	size_t total = NLMSG_SPACE(hdrlen), off;
	struct nlmsghdr *nh;
	struct rtattr *rta;
	int i;

	for (i = 0; i < nr; i++)
		total += RTA_SPACE(attrs[i].len);
	if (b->cap - b->len < total)
		return -ENOSPC;
	memset(b->data + b->len, 0, total);
	nh = (struct nlmsghdr *)(b->data + b->len);
	nh->nlmsg_len = (uint32_t)total;
	nh->nlmsg_type = type;
	nh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	nh->nlmsg_seq = b->seq++;
	memcpy(NLMSG_DATA(nh), hdr, hdrlen);
	off = NLMSG_SPACE(hdrlen);
	for (i = 0; i < nr; i++) {
		rta = (struct rtattr *)((uint8_t *)nh + off);
		rta->rta_type = attrs[i].type;
		rta->rta_len = (uint16_t)RTA_LENGTH(attrs[i].len);
		memcpy(RTA_DATA(rta), attrs[i].data, attrs[i].len);
		off += RTA_SPACE(attrs[i].len);
	}
	b->len += total;
	return 0;
}

int nl_link_up(struct nlbuf *b, int ifindex)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = IFF_UP,
		.ifi_change = IFF_UP,
	};

	return put_msg(b, RTM_NEWLINK, 0, &ifi, sizeof(ifi), NULL, 0);
}

int nl_link_mac(struct nlbuf *b, int ifindex, const uint8_t mac[6])
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct attr a = {IFLA_ADDRESS, 6, mac};

	return put_msg(b, RTM_NEWLINK, 0, &ifi, sizeof(ifi), &a, 1);
}

int nl_addr(struct nlbuf *b, int family, int ifindex, const void *addr, uint8_t prefix)
{
	/* No duplicate address detection: the VMM owns the link, and DAD would
	 * keep an IPv6 address tentative (unusable) for a second or more. */
	struct ifaddrmsg ifa = {
		.ifa_family = (uint8_t)family,
		.ifa_prefixlen = prefix,
		.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = (uint32_t)ifindex,
	};
	uint16_t len = (uint16_t)addr_len(family);
	struct attr a[2] = {
		{IFA_ADDRESS, len, addr},
		{IFA_LOCAL, len, addr},
	};

	/* IPv4 wants IFA_LOCAL (IFA_ADDRESS is the peer); IPv6 only IFA_ADDRESS. */
	return put_msg(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof(ifa), a,
		       family == AF_INET ? 2 : 1);
}

int nl_neigh(struct nlbuf *b, int family, int ifindex, const void *addr, const uint8_t mac[6])
{
	struct ndmsg nd = {
		.ndm_family = (uint8_t)family,
		.ndm_ifindex = ifindex,
		.ndm_state = NUD_PERMANENT,
	};
	struct attr a[2] = {
		{NDA_DST, (uint16_t)addr_len(family), addr},
		{NDA_LLADDR, 6, mac},
	};

	return put_msg(b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd, sizeof(nd), a, 2);
}

int nl_default_route(struct nlbuf *b, int family, int ifindex, const void *gw)
{
	struct rtmsg rt = {
		.rtm_family = (uint8_t)family,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_UNIVERSE,
		.rtm_type = RTN_UNICAST,
	};
	uint32_t oif = (uint32_t)ifindex;
	struct attr a[2] = {
		{RTA_GATEWAY, (uint16_t)addr_len(family), gw},
		{RTA_OIF, sizeof(oif), &oif},
	};

	return put_msg(b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof(rt), a, 2);
}
