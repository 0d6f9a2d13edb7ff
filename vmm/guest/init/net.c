/* SPDX-License-Identifier: Apache-2.0 */
/* Guest network setup over one rtnetlink socket: one batch out, one ack per request back. */
#include <errno.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"

#define LOOPBACK_IFINDEX 1 /* fixed by the kernel since 3.7 */
#define NET_MAX_MSGS	 8

struct batch {
	struct nlbuf b;
	const char *what[NET_MAX_MSGS]; /* indexed by sequence number */
	uint8_t data[2048];
};

/* Record @ret of a builder under @what so a failing ack can be named. */
static int add(struct batch *bt, int ret, const char *what)
{
	if (ret == 0)
		bt->what[bt->b.seq - 1] = what;
	return ret;
}

static int build(struct batch *bt, const struct init_cfg *c, int eth)
{
	int ret = add(bt, nl_link_up(&bt->b, LOOPBACK_IFINDEX), "bring up lo");

	if (eth <= 0)
		return ret;
	ret = ret ?: add(bt, nl_link_up(&bt->b, eth), "bring up " INIT_IFNAME);
	if (c->has_ip)
		ret = ret ?: add(bt, nl_addr(&bt->b, AF_INET, eth, &c->ip, c->prefix), "ember.ip");
	if (c->has_ip6)
		ret = ret
			      ?: add(bt, nl_addr(&bt->b, AF_INET6, eth, &c->ip6, c->prefix6),
				     "ember.ip6");
	if (c->has_gwmac && c->has_gw)
		ret = ret
			      ?: add(bt, nl_neigh(&bt->b, AF_INET, eth, &c->gw, c->gwmac),
				     "ember.gwmac (IPv4 neighbour)");
	if (c->has_gwmac && c->has_gw6)
		ret = ret
			      ?: add(bt, nl_neigh(&bt->b, AF_INET6, eth, &c->gw6, c->gwmac),
				     "ember.gwmac (IPv6 neighbour)");
	if (c->has_gw)
		ret = ret ?: add(bt, nl_default_route(&bt->b, AF_INET, eth, &c->gw), "ember.gw");
	if (c->has_gw6)
		ret = ret ?: add(bt, nl_default_route(&bt->b, AF_INET6, eth, &c->gw6), "ember.gw6");
	return ret;
}

/*
 * The kernel handles every message of the batch and acks each one (errors
 * included), so read exactly one ack per request; report the first failure.
 */
static int read_acks(int fd, struct batch *bt, char *err, size_t errlen)
{
	uint8_t buf[4096] __attribute__((aligned(4)));
	uint32_t pending = bt->b.seq, first_err = 0;
	const char *what = NULL;
	ssize_t n;

	while (pending) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "netlink recv: %s", n ? strerror(errno) : "EOF");
			return -EIO;
		}
		for (struct nlmsghdr *nh = (void *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			struct nlmsgerr *e = NLMSG_DATA(nh);

			if (nh->nlmsg_type != NLMSG_ERROR || nh->nlmsg_seq >= bt->b.seq)
				continue;
			pending--;
			if (e->error && !first_err) {
				first_err = (uint32_t)-e->error;
				what = bt->what[nh->nlmsg_seq];
			}
		}
	}
	if (!first_err)
		return 0;
	snprintf(err, errlen, "%s: %s", what ? what : "netlink", strerror((int)first_err));
	return -(int)first_err;
}

/* Index of eth0, asked on the netlink socket itself (no extra socket). */
static int eth_index(int fd, char *err, size_t errlen)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, INIT_IFNAME);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		snprintf(err, errlen, "%s: %s (is there a virtio-net device?)", INIT_IFNAME,
			 strerror(errno));
		return -errno;
	}
	return ifr.ifr_ifindex;
}

/* Send the batch and collect its acks. */
static int run_batch(int fd, struct batch *bt, char *err, size_t errlen)
{
	if (send(fd, bt->b.data, bt->b.len, 0) != (ssize_t)bt->b.len) {
		snprintf(err, errlen, "netlink send: %s", strerror(errno));
		return -errno;
	}
	return read_acks(fd, bt, err, errlen);
}

static int nl_open(struct batch *bt, char *err, size_t errlen)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	bt->b.data = bt->data;
	bt->b.cap = sizeof(bt->data);
	if (fd < 0)
		snprintf(err, errlen, "netlink socket: %s", strerror(errno));
	return fd < 0 ? -errno : fd;
}

int net_setup(const struct init_cfg *cfg, char *err, size_t errlen)
{
	struct batch bt = {0};
	int fd, eth = 0, ret;

	fd = nl_open(&bt, err, errlen);
	if (fd < 0)
		return fd;
	if (cfg->has_ip || cfg->has_ip6) {
		eth = eth_index(fd, err, errlen);
		if (eth < 0) {
			ret = eth;
			goto out;
		}
	}
	ret = build(&bt, cfg, eth);
	if (ret)
		snprintf(err, errlen, "netlink batch too large");
	else
		ret = run_batch(fd, &bt, err, errlen);
out:
	close(fd);
	return ret;
}

int net_set_mac(const uint8_t mac[6], char *err, size_t errlen)
{
	struct batch bt = {0};
	int fd, eth, ret;

	fd = nl_open(&bt, err, errlen);
	if (fd < 0)
		return fd;
	eth = ret = eth_index(fd, err, errlen);
	if (eth > 0)
		ret = add(&bt, nl_link_mac(&bt.b, eth, mac), "set the MAC of " INIT_IFNAME);
	if (!ret)
		ret = run_batch(fd, &bt, err, errlen);
	close(fd);
	return ret;
}
