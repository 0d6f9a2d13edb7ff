// SPDX-License-Identifier: Apache-2.0
/* Unit tests of ember-init's readiness probe (/proc/net/tcp parser) and rtnetlink builders. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "init.h"

/* Captured from a Linux 6.x host (trailing blanks trimmed). */
static const char tcp4[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode\n"
	"   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0 "
	"       0 132 1 00000000a2d86247 100 0 0 10 0\n"
	"   1: 0100007F:A058 0100007F:0050 06 00000000:00000000 03:00001183 00000000     0 "
	"       0 0 3 000000007df86c77\n"
	"   2: 0200000A:1F90 0100000A:C350 01 00000000:00000000 00:00000000 00000000     0 "
	"       0 4242 1 0000000000000000 20 4 30 10 -1\n";

static const char tcp6[] =
	"  sl  local_address                         remote_address                        st "
	"tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A "
	"00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 "
	"10 0\n";

/* /proc/net/udp: a server bound on 53 (07), a connected client socket (01). */
static const char udp4[] =
	"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	"timeout inode ref pointer drops\n"
	"  236: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0 "
	"       0 4321 2 0000000000000000 0\n"
	"  300: 0200000A:9C40 0800000A:0035 01 00000000:00000000 00:00000000 00000000     0 "
	"       0 4322 2 0000000000000000 0\n";

static void test_scan_udp(void **state)
{
	(void)state;
	assert_int_equal(listen_scan(udp4, strlen(udp4), 53, true), 1);
	/* 0x9C40 = 40000 is a connected client's port, not a server's. */
	assert_int_equal(listen_scan(udp4, strlen(udp4), 40000, true), 0);
	/* The TCP states do not count for UDP, nor UDP's for TCP. */
	assert_int_equal(listen_scan(tcp4, strlen(tcp4), 0x07e8, true), 0);
	assert_int_equal(listen_scan(udp4, strlen(udp4), 53, false), 0);
}

static void test_scan_ipv4(void **state)
{
	(void)state;
	assert_int_equal(listen_scan(tcp4, strlen(tcp4), 0x07e8, false), 1);
	/* 0x0050 is only a remote port (TIME_WAIT line): not listening. */
	assert_int_equal(listen_scan(tcp4, strlen(tcp4), 80, false), 0);
	/* 0x1F90 = 8080 is ESTABLISHED, not LISTEN. */
	assert_int_equal(listen_scan(tcp4, strlen(tcp4), 8080, false), 0);
	assert_int_equal(listen_scan(tcp4, strlen(tcp4), 0xa058, false), 0);
}

static void test_scan_ipv6(void **state)
{
	(void)state;
	assert_int_equal(listen_scan(tcp6, strlen(tcp6), 80, false), 1);
	assert_int_equal(listen_scan(tcp6, strlen(tcp6), 81, false), 0);
}

static void test_scan_edges(void **state)
{
	static const char garbage[] = "garbage\n   0: 00000000:0050 00000000:0000 0A\n";
	static const char junk[] = "  sl local\n junk line here\n   1: 00000000:0050 "
				   "00000000:0000 0A 0\n";
	char buf[sizeof(tcp6)];
	size_t hdr = strchr(tcp4, '\n') - tcp4 + 1;

	(void)state;
	/* Header only: a guest with no sockets yet. */
	assert_int_equal(listen_scan(tcp4, hdr, 0x07e8, false), 0);
	assert_int_equal(listen_scan("", 0, 80, false), -EINVAL);
	assert_int_equal(listen_scan(garbage, strlen(garbage), 80, false), -EINVAL);
	/* Last line without its newline (the read stopped there). */
	memcpy(buf, tcp6, sizeof(tcp6));
	assert_int_equal(listen_scan(buf, strlen(buf) - 1, 80, false), 1);
	/* Cut inside the state field: no match, no overrun. */
	assert_int_equal(listen_scan(tcp6, strstr(tcp6, " 0A ") - tcp6 + 2, 80, false), 0);
	/* Cut inside the port: must not read past @len. */
	assert_int_equal(listen_scan(tcp6, strstr(tcp6, ":0050") - tcp6 + 3, 80, false), 0);
	/* Malformed lines are skipped, later ones still count. */
	assert_int_equal(listen_scan(junk, strlen(junk), 80, false), 1);
}

/* The live probe against this host's own /proc/net/tcp (our netns). */
static void test_probe_live(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	struct listen_watch w;
	int fd;

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (void *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (void *)&sa, &len), 0);
	assert_int_equal(listen_open(&w, ntohs(sa.sin_port), false), 0);
	/* Bound but not listening yet. */
	assert_int_equal(listen_check(&w), 0);
	assert_int_equal(listen(fd, 1), 0);
	/* The same open files, read again from offset 0. */
	assert_int_equal(listen_check(&w), 1);
	assert_int_equal(listen_check(&w), 1);
	close(fd);
	assert_int_equal(listen_check(&w), 0);
	listen_close(&w);
}

/* The same with a UDP socket: ready once it is bound. */
static void test_probe_live_udp(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	struct listen_watch w;
	int fd, probe;

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* A free port: bound, read, closed, then watched before the server binds it. */
	probe = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(probe, (void *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(probe, (void *)&sa, &len), 0);
	close(probe);
	assert_int_equal(listen_open(&w, ntohs(sa.sin_port), true), 0);
	assert_int_equal(listen_check(&w), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (void *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen_check(&w), 1);
	close(fd);
	assert_int_equal(listen_check(&w), 0);
	listen_close(&w);
}

/* Find attribute @type in the rtattrs of @nh after a @hdrlen family header. */
static struct rtattr *find_attr(struct nlmsghdr *nh, size_t hdrlen, uint16_t type)
{
	struct rtattr *rta = (void *)((uint8_t *)NLMSG_DATA(nh) + NLMSG_ALIGN(hdrlen));
	int len = (int)nh->nlmsg_len - (int)NLMSG_SPACE(hdrlen);

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == type)
			return rta;
	return NULL;
}

static void check_attr(struct nlmsghdr *nh, size_t hdrlen, uint16_t type, const void *data,
		       size_t len)
{
	struct rtattr *rta = find_attr(nh, hdrlen, type);

	assert_non_null(rta);
	assert_int_equal(RTA_PAYLOAD(rta), len);
	assert_memory_equal(RTA_DATA(rta), data, len);
}

static void test_nl_builders(void **state)
{
	uint8_t data[1024];
	struct nlbuf b = {.data = data, .cap = sizeof(data)};
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct in_addr ip, gw;
	struct in6_addr ip6;
	struct nlmsghdr *nh;
	int len, i = 0;
	uint32_t oif = 2;

	(void)state;
	inet_pton(AF_INET, "192.0.2.2", &ip);
	inet_pton(AF_INET, "192.0.2.1", &gw);
	inet_pton(AF_INET6, "fd00::2", &ip6);
	assert_int_equal(nl_link_up(&b, 2), 0);
	assert_int_equal(nl_addr(&b, AF_INET, 2, &ip, 24), 0);
	assert_int_equal(nl_addr(&b, AF_INET6, 2, &ip6, 64), 0);
	assert_int_equal(nl_neigh(&b, AF_INET, 2, &gw, mac), 0);
	assert_int_equal(nl_default_route(&b, AF_INET, 2, &gw), 0);
	assert_int_equal(b.seq, 5);

	len = (int)b.len;
	for (nh = (void *)data; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len), i++) {
		assert_int_equal(nh->nlmsg_seq, i);
		assert_true(nh->nlmsg_flags & NLM_F_REQUEST);
		assert_true(nh->nlmsg_flags & NLM_F_ACK);
		if (i == 0) {
			struct ifinfomsg *ifi = NLMSG_DATA(nh);

			assert_int_equal(nh->nlmsg_type, RTM_NEWLINK);
			assert_int_equal(ifi->ifi_index, 2);
			assert_int_equal(ifi->ifi_flags & IFF_UP, IFF_UP);
			assert_int_equal(ifi->ifi_change, IFF_UP);
		} else if (i == 1 || i == 2) {
			struct ifaddrmsg *ifa = NLMSG_DATA(nh);

			assert_int_equal(nh->nlmsg_type, RTM_NEWADDR);
			assert_int_equal(ifa->ifa_index, 2);
			if (i == 1) {
				assert_int_equal(ifa->ifa_family, AF_INET);
				assert_int_equal(ifa->ifa_prefixlen, 24);
				check_attr(nh, sizeof(*ifa), IFA_LOCAL, &ip, 4);
			} else {
				assert_int_equal(ifa->ifa_family, AF_INET6);
				assert_int_equal(ifa->ifa_prefixlen, 64);
				assert_true(ifa->ifa_flags & IFA_F_NODAD);
				check_attr(nh, sizeof(*ifa), IFA_ADDRESS, &ip6, 16);
			}
		} else if (i == 3) {
			struct ndmsg *nd = NLMSG_DATA(nh);

			assert_int_equal(nh->nlmsg_type, RTM_NEWNEIGH);
			assert_int_equal(nd->ndm_state, NUD_PERMANENT);
			assert_int_equal(nd->ndm_ifindex, 2);
			check_attr(nh, sizeof(*nd), NDA_DST, &gw, 4);
			check_attr(nh, sizeof(*nd), NDA_LLADDR, mac, 6);
		} else {
			struct rtmsg *rt = NLMSG_DATA(nh);

			assert_int_equal(nh->nlmsg_type, RTM_NEWROUTE);
			assert_int_equal(rt->rtm_dst_len, 0);
			assert_int_equal(rt->rtm_table, RT_TABLE_MAIN);
			assert_int_equal(rt->rtm_type, RTN_UNICAST);
			check_attr(nh, sizeof(*rt), RTA_GATEWAY, &gw, 4);
			check_attr(nh, sizeof(*rt), RTA_OIF, &oif, 4);
		}
	}
	assert_int_equal(i, 5);
	assert_int_equal(len, 0); /* lengths add up exactly */
}

static void test_nl_full(void **state)
{
	uint8_t data[40];
	struct nlbuf b = {.data = data, .cap = sizeof(data)};
	struct in_addr gw = {0};

	(void)state;
	assert_int_equal(nl_link_up(&b, 1), 0); /* 16 + 16 bytes */
	assert_int_equal(nl_default_route(&b, AF_INET, 1, &gw), -ENOSPC);
	assert_int_equal(b.len, 32);
	assert_int_equal(b.seq, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_ipv4),   cmocka_unit_test(test_scan_ipv6),
		cmocka_unit_test(test_scan_edges),  cmocka_unit_test(test_probe_live),
		cmocka_unit_test(test_scan_udp),    cmocka_unit_test(test_probe_live_udp),
		cmocka_unit_test(test_nl_builders), cmocka_unit_test(test_nl_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
