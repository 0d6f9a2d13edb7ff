// SPDX-License-Identifier: Apache-2.0
/* The checks of the netns integration test: round trips through XDP, and the lossless wake path. */
#include "dp_netns.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <ember/maps.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 3000

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_MS / 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Sends (msg) on a connected socket and reads the answer into (rsp). */
static int exchange(int fd, const char *msg, char *rsp, size_t len)
{
	ssize_t n;

	if (send(fd, msg, strlen(msg), 0) != (ssize_t)strlen(msg))
		return -errno;
	n = recv(fd, rsp, len - 1, 0);
	if (n < 0)
		return -errno;
	rsp[n] = '\0';
	return 0;
}

/* Waits for a non-blocking connect; 0 when connected, else -errno. */
static int connect_wait(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t l = sizeof(int);
	int err = 0;

	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l))
		return -errno;
	return -err;
}

static int family_of(const char *ip)
{
	return strchr(ip, ':') ? AF_INET6 : AF_INET;
}

/* Client in C -> VIP:port/tcp, must reach app A's guest and come back. */
static void tcp_roundtrip(const char *vip)
{
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_of(vip, PORT_A_TCP, &ss);
	char rsp[ECHO_MAX];
	int fd, rc;

	fd = socket_in(env.c, family_of(vip), SOCK_STREAM);
	set_timeouts(fd);
	rc = connect(fd, (struct sockaddr *)&ss, sl) ? -errno : 0;
	CHECK(rc == 0, "tcp connect %s:%d through the router (%s)", vip, PORT_A_TCP, strerror(-rc));
	if (!rc)
		rc = exchange(fd, "hello-tcp", rsp, sizeof(rsp));
	CHECK(rc == 0 && !strcmp(rsp, "A:hello-tcp"), "tcp round trip via %s answered by guest A",
	      vip);
	close(fd);
}

static void udp_roundtrip(const char *vip)
{
	struct sockaddr_storage ss, from;
	socklen_t sl = sockaddr_of(vip, PORT_UDP, &ss), fl = sizeof(from);
	char rsp[ECHO_MAX] = "";
	ssize_t n = -1;
	int fd;

	fd = socket_in(env.c, family_of(vip), SOCK_DGRAM);
	set_timeouts(fd);
	/* UDP has no retransmission: retry the request a few times so the test
	 * does not depend on the very first datagram (ARP/ND warm-up in the
	 * guest is not what is tested here). */
	for (int i = 0; i < 3 && n < 0; i++) {
		sendto(fd, "hello-udp", 9, 0, (struct sockaddr *)&ss, sl);
		n = recvfrom(fd, rsp, sizeof(rsp) - 1, 0, (struct sockaddr *)&from, &fl);
	}
	if (n >= 0)
		rsp[n] = '\0';
	CHECK(n > 0 && !strcmp(rsp, "A:hello-udp"), "udp round trip via %s answered by guest A",
	      vip);
	/* The answer must come from the VIP (reverse NAT), not the inside address. */
	CHECK(n > 0 && !memcmp(&from, &ss, sl), "udp answer's source is the VIP %s:%d", vip,
	      PORT_UDP);
	close(fd);
}

void case_roundtrips(const char *vip)
{
	tcp_roundtrip(vip);
	udp_roundtrip(vip);
}

struct wake_seen {
	int count;
	uint32_t app;
	int standby_ifindex;
	uint64_t at_ns;
};

static int on_wake(void *ctx, const struct dp_wake_event *ev)
{
	struct wake_seen *w = ctx;

	if (w->count++ == 0) {
		w->app = ev->app_id;
		w->standby_ifindex = ev->standby_ifindex;
		w->at_ns = now_ns();
	}
	return 0;
}

/* Reads the frames queued in the standby tap right now (non-blocking). */
static int first_queued_frame(uint8_t *buf, size_t len)
{
	ssize_t n = read(env.taps_fd, buf, len);

	return n < 0 ? -errno : (int)n;
}

/*
 * The wake path: app B has no live guest. The client's SYN must be queued in
 * the standby tap, ONE wake event must reach userspace while it waits there,
 * and after "resuming" the guest (forwarding the tap) the very same SYN is
 * answered: the connection completes without a single retransmission.
 */
void case_wake(void)
{
	struct wake_seen w = {0};
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_of(VIP4, PORT_B_TCP, &ss);
	struct tcp_info ti = {0};
	socklen_t til = sizeof(ti);
	struct dp_guest g = guest_b();
	uint8_t frame[2048];
	char rsp[ECHO_MAX] = "";
	int fd, rc, n;

	rc = dp_events_open(env.dp, on_wake, &w);
	if (rc)
		die(dp_errmsg(env.dp), rc);
	fd = socket_in(env.c, AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
	rc = connect(fd, (struct sockaddr *)&ss, sl);
	CHECK(rc < 0 && errno == EINPROGRESS, "non-blocking connect to the idle app started");

	rc = dp_events_poll(env.dp, 2000);
	CHECK(rc == 1 && w.count == 1 && w.app == APP_B,
	      "one wake event for app B (got %d, app %u)", w.count, w.app);
	CHECK(w.standby_ifindex == env.taps_idx,
	      "the event names the standby tap that holds the packets (ifindex %d, want %d)",
	      w.standby_ifindex, env.taps_idx);

	/* The event came first; the SYN must be waiting in the tap now. */
	n = first_queued_frame(frame, sizeof(frame));
	CHECK(n > 0 && frame_is_syn(frame, (size_t)n, PORT_B_TCP),
	      "the first frame queued in the standby tap is the client's SYN (%d bytes)", n);
	CHECK(!memcmp(frame, mac_b, 6), "the queued SYN is addressed to guest B's MAC");

	/* Resume: the guest becomes live on the standby tap, then its "VMM"
	 * starts draining the queue, oldest frame (the SYN) first. */
	rc = dp_guest_add(env.dp, 1, &g);
	if (rc)
		die(dp_errmsg(env.dp), rc);
	rc = fwd_start(&env.fwd_b, env.taps_fd, env.gtap_b_fd, PORT_B_TCP);
	if (rc)
		die("fwd_start", rc);
	/* After fwd_start(): it sets the guest fd the injection writes to. The
	 * SYN was already taken off the tap, so the pump cannot overtake it. */
	if (n > 0) {
		rc = fwd_inject(&env.fwd_b, frame, (size_t)n);
		CHECK(rc == 0, "the queued SYN was handed to guest B (%s)", strerror(-rc));
	}

	rc = connect_wait(fd, IO_TIMEOUT_MS);
	CHECK(rc == 0, "connection to the woken app completed (%s)", strerror(-rc));
	if (!rc) {
		int fl = 0;

		/* back to blocking mode for the exchange */
		set_timeouts(fd);
		fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		rc = exchange(fd, "wake", rsp, sizeof(rsp));
	}
	CHECK(rc == 0 && !strcmp(rsp, "B:wake"), "request answered by the woken guest B ('%s')",
	      rsp);
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &til);
	CHECK(ti.tcpi_total_retrans == 0, "zero retransmissions on the client (total_retrans %u)",
	      ti.tcpi_total_retrans);
	CHECK(atomic_load(&env.fwd_b.syns_to_guest) == 1,
	      "exactly one SYN reached guest B (saw %u)", atomic_load(&env.fwd_b.syns_to_guest));
	close(fd);

	/* No second event for the same wake. */
	dp_events_poll(env.dp, 100);
	CHECK(w.count == 1, "still exactly one wake event after the connection (%d)", w.count);
}

void case_counters(void)
{
	struct dp_counters c = {0};
	int rc = dp_app_counters(env.dp, APP_A, &c);

	CHECK(rc == 0, "read app A's per-CPU counters (%s)", strerror(-rc));
	/* Client->VIP only: per TCP round trip SYN, ACK, data, FIN at least; plus UDP. */
	CHECK(c.packets >= 5, "app A counted %llu packets", (unsigned long long)c.packets);
	CHECK(c.bytes > c.packets * 40, "app A counted %llu bytes", (unsigned long long)c.bytes);
}

static int count_service(void *ctx, const struct dp_service *svc, uint32_t app_id)
{
	(void)svc;
	(void)app_id;
	++*(int *)ctx;
	return 0;
}

/*
 * emberd restarts: every fd this process holds on the dataplane is closed.
 * The netlink attachments and the pins keep routing alive meanwhile, and a
 * new process finds the whole configuration again with dp_open().
 */
void case_restart(void)
{
	char err[512];
	int rc, n = 0;

	dp_close(env.dp);
	env.dp = NULL;
	tcp_roundtrip(VIP4); /* with no userspace handle open at all */
	rc = dp_open(&env.dp, env.pin_root, err, sizeof(err));
	CHECK(rc == 0, "dp_open() re-opened the pinned dataplane (%s)", rc ? err : "ok");
	if (rc)
		die("dp_open", rc);
	rc = dp_foreach_service(env.dp, count_service, &n);
	CHECK(rc == 0 && n == 6, "all 6 services are still configured after the restart (%d)", n);
}

/* Entry (key) of the pinned array map (name), as the router sees it. */
static void pinned_entry(const char *name, uint32_t key, void *val)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", env.pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &key, val))
		die(name, -errno);
	close(fd);
}

/* ember_abi's version, written straight into the pinned map as an older build would have. */
static void abi_set(uint32_t v)
{
	char path[512];
	uint32_t zero = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", env.pin_root, EMBER_MAP_ABI);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_update_elem(fd, &zero, &v, BPF_ANY))
		die(EMBER_MAP_ABI, -errno);
	close(fd);
}

/* dp_open() and dp_load() on the test's pins must both fail with (want) in the message. */
static void abi_refused(const char *what, const char *want)
{
	struct dp_opts o = {.pin_root = env.pin_root};
	struct dp *dp = NULL;
	char err[512] = "";
	int rc;

	rc = dp_open(&dp, env.pin_root, err, sizeof(err));
	CHECK(rc == -EPROTO && strstr(err, want), "dp_open() refuses %s: %s", what, err);
	dp_close(rc ? NULL : dp);
	err[0] = 0;
	rc = dp_load(&dp, &o, err, sizeof(err));
	CHECK(rc == -EPROTO && strstr(err, want), "dp_load() refuses %s: %s", what, err);
	dp_close(rc ? NULL : dp);
}

/*
 * The pinned maps carry the map ABI version of the build that made them;
 * pins of another version, or of none, are refused with both versions named,
 * and the refusal touches nothing: routing goes on.
 */
void case_abi_version(void)
{
	char path[512], want[128];
	uint32_t v = 0, zero = 0, one = EMBER_MAP_ABI_VERSION;
	struct dp *dp = NULL;
	char err[512];
	int fd, rc;

	pinned_entry(EMBER_MAP_ABI, 0, &v);
	CHECK(v == EMBER_MAP_ABI_VERSION, "the pins carry map ABI version %u (%u)",
	      EMBER_MAP_ABI_VERSION, v);
	abi_set(EMBER_MAP_ABI_VERSION + 98);
	snprintf(want, sizeof(want), "map ABI version %u, this build has version %u",
		 EMBER_MAP_ABI_VERSION + 98, EMBER_MAP_ABI_VERSION);
	abi_refused("pins of another map ABI version", want);
	tcp_roundtrip(VIP4);

	/* Pins from before versions: no ember_abi at all. Nothing but the pin
	 * holds the map, so unpinning frees it; a new one is pinned after. */
	snprintf(path, sizeof(path), "%s/%s", env.pin_root, EMBER_MAP_ABI);
	if (unlink(path))
		die("unlink ember_abi", -errno);
	abi_refused("pins without a map ABI version", "have no map ABI version");
	tcp_roundtrip(VIP4);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, EMBER_MAP_ABI, 4, 4, 1, NULL);
	if (fd < 0 || bpf_map_update_elem(fd, &zero, &one, BPF_ANY) || bpf_obj_pin(fd, path))
		die("re-pinning ember_abi", -errno);
	close(fd);
	rc = dp_open(&dp, env.pin_root, err, sizeof(err));
	CHECK(rc == 0, "dp_open() opens the pins again once the version is right (%s)",
	      rc ? err : "ok");
	dp_close(rc ? NULL : dp);
}

/*
 * Deleting a service stops its established flows at once (the router's fast
 * path for established flows must notice: dp_service_del() bumps the app's
 * service generation), and adding it back routes new connections again.
 */
/* The app's service generation. */
static uint32_t svc_gen_of(uint32_t app_id)
{
	struct ember_app a = {0};

	pinned_entry("ember_apps", app_id, &a);
	return a.svc_gen;
}

void case_service_del(void)
{
	uint32_t gen;
	struct dp_service s = {.family = AF_INET, .port = PORT_A_TCP, .proto = IPPROTO_TCP};
	struct timeval tv = {.tv_sec = 1};
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_of(VIP4, PORT_A_TCP, &ss);
	char rsp[ECHO_MAX] = "";
	int fd, rc;

	inet_pton(AF_INET, VIP4, s.vip);
	fd = socket_in(env.c, AF_INET, SOCK_STREAM);
	set_timeouts(fd);
	rc = connect(fd, (struct sockaddr *)&ss, sl) ? -errno : 0;
	if (!rc)
		rc = exchange(fd, "before", rsp, sizeof(rsp));
	CHECK(rc == 0 && !strcmp(rsp, "A:before"), "established flow answered by guest A ('%s')",
	      rsp);
	gen = svc_gen_of(APP_A);
	rc = dp_service_del(env.dp, &s);
	CHECK(rc == 0, "service %s:%d/tcp deleted (%s)", VIP4, PORT_A_TCP, strerror(-rc));
	CHECK(svc_gen_of(APP_A) != gen,
	      "deleting the service bumped app A's service generation (fast path invalidated)");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rsp[0] = '\0';
	rc = exchange(fd, "after", rsp, sizeof(rsp));
	CHECK(rc != 0 || strcmp(rsp, "A:after"),
	      "the established flow no longer reaches the guest once its service is gone ('%s')",
	      rsp);
	close(fd);
	gen = svc_gen_of(APP_A);
	rc = dp_service_add(env.dp, &s, APP_A);
	CHECK(rc == 0, "service added back (%s)", strerror(-rc));
	CHECK(svc_gen_of(APP_A) == gen, "adding a service does not invalidate app A's flows");
	tcp_roundtrip(VIP4);
}

/*
 * A slot's gen tells its successive guests apart (flows of a dead guest must
 * not reach the next one in its slot). Adding the same guest again, as
 * emberd does when it adopts its live guests after a restart, keeps the gen
 * and the guest's established connections; a guest added to the slot after
 * dp_guest_del() gets the next gen, and the free slot keeps the old one.
 */
void case_slot_gen(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = sockaddr_of(VIP4, PORT_A_TCP, &ss);
	struct dp_guest a = guest_a();
	struct ember_guest g = {0};
	char rsp[ECHO_MAX] = "";
	uint32_t gen;
	int fd, rc;

	/* Connected (SYN, SYN-ACK, ACK through the router) before the re-add,
	 * the request and answer after it. */
	fd = socket_in(env.c, AF_INET, SOCK_STREAM);
	set_timeouts(fd);
	rc = connect(fd, (struct sockaddr *)&ss, sl) ? -errno : 0;
	CHECK(rc == 0, "a connection to guest A (%s)", strerror(-rc));
	pinned_entry("ember_guests", 0, &g);
	gen = g.gen;
	rc = dp_guest_add(env.dp, 0, &a);
	pinned_entry("ember_guests", 0, &g);
	CHECK(rc == 0 && g.gen == gen, "guest A added again keeps its slot's gen (%u -> %u)", gen,
	      g.gen);
	rc = exchange(fd, "kept", rsp, sizeof(rsp));
	CHECK(rc == 0 && !strcmp(rsp, "A:kept"), "and its connection ('%s')", rsp);
	close(fd);
	rc = dp_guest_del(env.dp, 0);
	pinned_entry("ember_guests", 0, &g);
	CHECK(rc == 0 && !g.tap_ifindex && g.gen == gen,
	      "dp_guest_del frees slot 0 and keeps its gen (tap %u, gen %u)", g.tap_ifindex, g.gen);
	rc = dp_guest_add(env.dp, 0, &a);
	pinned_entry("ember_guests", 0, &g);
	CHECK(rc == 0 && g.gen == gen + 1, "the slot's next guest gets gen %u (%u)", gen + 1,
	      g.gen);
	tcp_roundtrip(VIP4);
}
