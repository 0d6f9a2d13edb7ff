// SPDX-License-Identifier: Apache-2.0
/* Setup half of the netns integration test: namespaces, veth, dataplane, taps, guests. */
#include "dp_netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#define SH(...)                                                                                    \
	do {                                                                                       \
		if (sh(__VA_ARGS__) != 0)                                                          \
			die("setup command failed", EIO);                                          \
	} while (0)

static int ns_or_die(const char *prefix)
{
	int i = ns_add(&env.ns, prefix);

	if (i < 0)
		die("ip netns add", i);
	return i;
}

/* Client <-> host veth, addresses, routes to the VIPs, forwarding in H (the
 * guest program's bpf_fib_lookup refuses to work without it). */
void setup_namespaces(void)
{
	const char *h, *c;
	uint8_t cli_mac[6];
	int err, cli_idx;

	env.h = ns_or_die("emb-h");
	env.c = ns_or_die("emb-c");
	env.ga = ns_or_die("emb-ga");
	env.gb = ns_or_die("emb-gb");
	h = env.ns.names[env.h];
	c = env.ns.names[env.c];
	SH("ip -n %s link add rtr0 type veth peer name cli0 netns %s", h, c);
	SH("ip -n %s addr add 10.99.0.1/24 dev rtr0 && ip -n %s addr add fd99::1/64 dev rtr0 nodad",
	   h, h);
	SH("ip -n %s addr add 10.99.0.2/24 dev cli0 && ip -n %s addr add fd99::2/64 dev cli0 nodad",
	   c, c);
	SH("ip -n %s link set rtr0 up && ip -n %s link set cli0 up", h, c);
	SH("ip -n %s route add 10.200.0.0/24 via 10.99.0.1", c);
	SH("ip -n %s -6 route add fd00:200::/64 via fd99::1", c);
	SH("ip netns exec %s sysctl -qw net.ipv4.conf.all.forwarding=1 "
	   "net.ipv6.conf.all.forwarding=1",
	   h);

	/* The router's replies leave through rtr0 by XDP_REDIRECT; a veth takes
	 * that (native) path only when its peer runs XDP too. */
	err = ns_enter(&env.ns, env.c);
	if (err)
		die("setns client", err);
	cli_idx = if_index("cli0");
	if (cli_idx < 0 || if_mac("cli0", cli_mac))
		die("cli0", cli_idx < 0 ? cli_idx : EIO);
	err = if_tx_csum_off("cli0");
	if (err)
		die("switching off TX checksum offload on cli0", err);
	err = xdp_pass_attach(cli_idx);
	if (err)
		die("XDP_PASS on cli0", err);

	err = ns_enter(&env.ns, env.h);
	if (err)
		die("setns host", err);
	env.rtr0_idx = if_index("rtr0");
	/* Known neighbours: the test checks XDP forwarding, not ARP timing. */
	SH("ip -n %s neigh replace 10.99.0.2 lladdr %02x:%02x:%02x:%02x:%02x:%02x dev rtr0 "
	   "nud permanent",
	   h, cli_mac[0], cli_mac[1], cli_mac[2], cli_mac[3], cli_mac[4], cli_mac[5]);
	SH("ip -n %s neigh replace fd99::2 lladdr %02x:%02x:%02x:%02x:%02x:%02x dev rtr0 "
	   "nud permanent",
	   h, cli_mac[0], cli_mac[1], cli_mac[2], cli_mac[3], cli_mac[4], cli_mac[5]);
}

static struct dp_service svc(const char *vip, uint16_t port, uint8_t proto)
{
	struct dp_service s = {.port = port, .proto = proto};

	s.family = inet_pton(AF_INET, vip, s.vip) == 1 ? AF_INET : AF_INET6;
	if (s.family == AF_INET6)
		inet_pton(AF_INET6, vip, s.vip);
	return s;
}

/* Loads and pins the programs, attaches them, creates both apps. Runs in H. */
void setup_dataplane(void)
{
	struct dp_opts o = {.pin_root = env.pin_root, .gw_mac = {0x02, 0, 0, 0, 0, 0x01}};
	struct dp_service s;
	enum dp_xdp_mode used;
	char err[1024];
	int rc;

	inet_pton(AF_INET, GATEWAY_IP4, o.gw_ip4);
	inet_pton(AF_INET6, GATEWAY_IP6, o.gw_ip6);
	rc = dp_load(&env.dp, &o, err, sizeof(err));
	if (rc) {
		printf("FAIL: dp_load: %s\n", err);
		exit(1);
	}
	rc = dp_attach_router(env.dp, env.rtr0_idx, DP_XDP_AUTO, &used);
	if (rc)
		die(dp_errmsg(env.dp), rc);
	CHECK(used == DP_XDP_NATIVE, "router attached to the veth in %s mode", dp_mode_name(used));

	env.tapa_fd = tap_create("tapa", &env.tapa_idx, 1);
	env.taps_fd = tap_create("taps", &env.taps_idx, 1);
	if (env.tapa_fd < 0 || env.taps_fd < 0)
		die("tap_create", env.tapa_fd < 0 ? env.tapa_fd : env.taps_fd);
	rc = dp_attach_guest(env.dp, env.tapa_idx, DP_XDP_AUTO, &used);
	if (!rc)
		rc = dp_attach_guest(env.dp, env.taps_idx, DP_XDP_AUTO, &used);
	if (rc)
		die(dp_errmsg(env.dp), rc);

	/* App B's standby frames are rewritten to the inside MAC/addresses its
	 * (not yet running) guests will have. */
	struct dp_app app_a = {0}, app_b = {.standby_ifindex = env.taps_idx};
	memcpy(app_b.guest_mac, mac_b, 6);
	inet_pton(AF_INET, GUEST_IP4, app_b.guest_ip4);
	inet_pton(AF_INET6, GUEST_IP6, app_b.guest_ip6);
	if (dp_app_set(env.dp, APP_A, &app_a) || dp_app_set(env.dp, APP_B, &app_b))
		die(dp_errmsg(env.dp), EIO);
	const char *vips[] = {VIP4, VIP6};
	for (int i = 0; i < 2; i++) {
		s = svc(vips[i], PORT_A_TCP, IPPROTO_TCP);
		rc = dp_service_add(env.dp, &s, APP_A);
		s = svc(vips[i], PORT_UDP, IPPROTO_UDP);
		rc = rc ? rc : dp_service_add(env.dp, &s, APP_A);
		s = svc(vips[i], PORT_B_TCP, IPPROTO_TCP);
		rc = rc ? rc : dp_service_add(env.dp, &s, APP_B);
		if (rc)
			die(dp_errmsg(env.dp), rc);
	}
}

/* A guest namespace: its eth0 is a tap the test holds (the "virtio-net" side),
 * with the inside address every clone shares and the gateway as next hop. */
static int setup_guest_ns(int idx, const uint8_t mac[6])
{
	const char *g = env.ns.names[idx];
	int fd, ifidx, err;

	err = ns_enter(&env.ns, idx);
	if (err)
		die("setns guest", err);
	fd = tap_create("eth0", &ifidx, 0);
	ns_enter(&env.ns, env.h);
	if (fd < 0)
		die("guest tap", fd);
	SH("ip -n %s link set eth0 address %02x:%02x:%02x:%02x:%02x:%02x", g, mac[0], mac[1],
	   mac[2], mac[3], mac[4], mac[5]);
	SH("ip -n %s addr add " GUEST_IP4 "/24 dev eth0 && ip -n %s addr add " GUEST_IP6
	   "/64 dev eth0 nodad",
	   g, g);
	SH("ip -n %s route add default via " GATEWAY_IP4, g);
	SH("ip -n %s -6 route add default via " GATEWAY_IP6, g);
	return fd;
}

/* Listening sockets inside a guest namespace, dual-stack. */
static void start_server(struct echo *e, int idx, uint16_t tcp_port, uint16_t udp_port,
			 const char *tag)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	int one = 1, t, u, err;

	t = socket_in(idx, AF_INET6, SOCK_STREAM);
	u = socket_in(idx, AF_INET6, SOCK_DGRAM);
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin6_port = htons(tcp_port);
	if (bind(t, (struct sockaddr *)&a, sizeof(a)) || listen(t, 16))
		die("guest tcp listen", errno);
	a.sin6_port = htons(udp_port);
	if (bind(u, (struct sockaddr *)&a, sizeof(a)))
		die("guest udp bind", errno);
	err = echo_start(e, t, u, tag);
	if (err)
		die("echo_start", err);
}

static struct dp_guest guest(uint32_t app, int tap, const uint8_t mac[6])
{
	struct dp_guest g = {.app_id = app, .tap_ifindex = tap};

	memcpy(g.mac, mac, 6);
	inet_pton(AF_INET, GUEST_IP4, g.ip4);
	inet_pton(AF_INET6, GUEST_IP6, g.ip6);
	return g;
}

/* Guest A is live from the start, in slot 0. */
struct dp_guest guest_a(void)
{
	return guest(APP_A, env.tapa_idx, mac_a);
}

/* Guest B is what a wake resumes: it owns the standby tap. */
struct dp_guest guest_b(void)
{
	return guest(APP_B, env.taps_idx, mac_b);
}

void setup_guests(void)
{
	struct dp_guest g = guest_a();
	int err;

	env.gtap_a_fd = setup_guest_ns(env.ga, mac_a);
	env.gtap_b_fd = setup_guest_ns(env.gb, mac_b);
	start_server(&env.echo_a, env.ga, PORT_A_TCP, PORT_UDP, "A");
	start_server(&env.echo_b, env.gb, PORT_B_TCP, PORT_UDP, "B");

	err = dp_guest_add(env.dp, 0, &g);
	if (err)
		die(dp_errmsg(env.dp), err);
	err = fwd_start(&env.fwd_a, env.tapa_fd, env.gtap_a_fd, 0);
	if (err)
		die("fwd_start", err);
}
