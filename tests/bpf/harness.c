// SPDX-License-Identifier: Apache-2.0
/* Test harness: a private netns with taps, both XDP programs loaded through their skeletons, map
 * shortcuts. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "router.skel.h"
#include "guest.skel.h"

const uint8_t H_GW_MAC[6] = {0x02, 0xee, 0, 0, 0, 0x01};
const uint8_t H_GW_IP4[4] = {10, 0, 0, 1};
const uint8_t H_GW_IP6[16] = {0xfd, 0, [15] = 1};

static int skip(const char *why)
{
	printf("SKIP: %s\n", why);
	return 77;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), rc;

	if (fd < 0)
		return -errno;
	rc = write(fd, s, strlen(s)) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* A non-persistent tap: it disappears when (fd) closes. */
static int tap_open(int *fd, int *ifindex)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};

	strcpy(ifr.ifr_name, "embt%d");
	*fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	*ifindex = (int)if_nametoindex(ifr.ifr_name);
	return *ifindex > 0 ? 0 : -ENODEV;
}

/* Uplink: 198.51.100.1/24 + 2001:db8:1::1/64, neighbours .2/::2 resolved,
 * default routes through them; .3/::3 on-link but unresolved. */
static int uplink_setup(int ifindex)
{
	char name[IF_NAMESIZE], cmd[1024];

	if (!if_indextoname((unsigned)ifindex, name))
		return -errno;
	snprintf(
		cmd, sizeof(cmd),
		"set -e; ip link set lo up; ip link set %1$s up;"
		"ip addr add 198.51.100.1/24 dev %1$s;"
		"ip -6 addr add 2001:db8:1::1/64 dev %1$s nodad;"
		"ip neigh replace 198.51.100.2 lladdr 02:aa:00:00:00:02 dev %1$s nud permanent;"
		"ip -6 neigh replace 2001:db8:1::2 lladdr 02:aa:00:00:00:02 dev %1$s nud permanent;"
		"ip route add default via 198.51.100.2;"
		"ip -6 route add default via 2001:db8:1::2",
		name);
	return system(cmd) == 0 ? 0 : -EIO;
}

static int mac_of(int ifindex, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0 || !if_indextoname((unsigned)ifindex, ifr.ifr_name))
		rc = -errno;
	else if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int share_maps(struct bpf_object *from, struct bpf_object *to)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, to)
	{
		struct bpf_map *src;

		bpf_map__set_pin_path(m, NULL); /* tests never pin */
		if (bpf_map__is_internal(m))
			continue;
		src = bpf_object__find_map_by_name(from, bpf_map__name(m));
		if (src && bpf_map__reuse_fd(m, bpf_map__fd(src)))
			return -errno;
	}
	return 0;
}

static int load(struct harness *h, uint64_t rearm)
{
	struct bpf_map *m;
	int rc;

	/* 1. Open both skeletons; 2. set the knobs; 3. load the router (it
	 * creates the maps) and hand its maps to the guest program. */
	h->router = router_bpf__open();
	h->guest = guest_bpf__open();
	if (!h->router || !h->guest)
		return -errno;
	h->router->rodata->debug = 1;
	h->router->rodata->wake_rearm_ns = rearm;
	memcpy((void *)h->router->rodata->gw_mac, H_GW_MAC, 6);
	h->guest->rodata->debug = 1;
	memcpy((void *)h->guest->rodata->gw_mac, H_GW_MAC, 6);
	memcpy((void *)h->guest->rodata->gw_ip4, H_GW_IP4, 4);
	memcpy((void *)h->guest->rodata->gw_ip6, H_GW_IP6, 16);
	bpf_object__for_each_map(m, h->router->obj) bpf_map__set_pin_path(m, NULL);
	/* One flow-cache region per CPU, as dp_load() sizes it. */
	rc = bpf_map__set_max_entries(h->router->maps.ember_fcache,
				      (uint32_t)libbpf_num_possible_cpus()
					      << EMBER_FLOW_CACHE_BITS);
	if (rc)
		return rc;
	rc = router_bpf__load(h->router);
	if (rc)
		return rc;
	rc = share_maps(h->router->obj, h->guest->obj);
	if (rc)
		return rc;
	rc = guest_bpf__load(h->guest);
	if (rc)
		return rc;
	h->router_fd = bpf_program__fd(h->router->progs.xdp_router);
	h->guest_fd = bpf_program__fd(h->guest->progs.xdp_guest);
	return 0;
}

int h_open(struct harness *h, uint64_t wake_rearm_ns)
{
	cpu_set_t cpus;
	int rc;

	memset(h, 0, sizeof(*h));
	for (int i = 0; i < H_NTAPS; i++)
		h->tap_fd[i] = -1;
	if (geteuid() != 0)
		return skip("needs root (BPF, network namespaces)");
	if (unshare(CLONE_NEWNET))
		return skip("cannot create a network namespace");
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		return perror("sched_setaffinity"), 1;
	/* bpf_fib_lookup only forwards when the ingress device forwards. */
	write_file("/proc/sys/net/ipv4/ip_forward", "1");
	write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	write_file("/proc/sys/net/ipv6/conf/default/forwarding", "1");
	for (int i = 0; i < H_NTAPS; i++)
		if (tap_open(&h->tap_fd[i], &h->tap[i]))
			return skip("cannot create tap devices (/dev/net/tun)");
	h->egress = h->tap[H_NTAPS - 1];
	if (mac_of(h->egress, h->egress_mac))
		return fprintf(stderr, "cannot read the uplink MAC\n"), 1;
	if (uplink_setup(h->egress))
		return fprintf(stderr, "uplink setup failed\n"), 1;
	h->ncpu = libbpf_num_possible_cpus();
	rc = load(h, wake_rearm_ns);
	if (rc == -EPERM)
		return skip("BPF not permitted");
	if (rc) {
		fprintf(stderr, "loading the XDP programs failed: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}

void h_close(struct harness *h)
{
	guest_bpf__destroy(h->guest);
	router_bpf__destroy(h->router);
	for (int i = 0; i < H_NTAPS; i++)
		if (h->tap_fd[i] >= 0)
			close(h->tap_fd[i]);
}

int h_run(struct harness *h, int prog_fd, uint32_t ifindex, const void *in, size_t inlen, void *out,
	  size_t *outlen)
{
	struct xdp_md ctx = {.data_end = (uint32_t)inlen, .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (uint32_t)inlen,
		    .data_out = out, .data_size_out = (uint32_t)*outlen, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	(void)h;
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*outlen = o.data_size_out;
	return (int)o.retval;
}

int h_map(struct harness *h, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(h->router->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

int h_last(struct harness *h, struct ember_debug *d)
{
	struct ember_debug v[h->ncpu];
	uint32_t zero = 0;

	int cpu = sched_getcpu();

	if (bpf_map_lookup_elem(h_map(h, EMBER_MAP_DEBUG), &zero, v))
		return -errno;
	*d = v[cpu >= 0 && cpu < h->ncpu ? cpu : 0]; /* test runs run on the caller's CPU */
	return 0;
}

void h_clear_last(struct harness *h)
{
	struct ember_debug v[h->ncpu];
	uint32_t zero = 0;

	memset(v, 0, sizeof(v));
	bpf_map_update_elem(h_map(h, EMBER_MAP_DEBUG), &zero, v, BPF_ANY);
}

int h_service(struct harness *h, int family, const uint8_t *vip, uint16_t port, uint8_t proto,
	      uint32_t app_id)
{
	struct ember_service_key k;
	struct ember_service v = {.app_id = app_id};

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, vip, family == 4 ? 4 : 16);
	k.port = htons(port);
	k.proto = proto;
	k.family = (uint8_t)family;
	return bpf_map_update_elem(h_map(h, EMBER_MAP_SERVICES), &k, &v, BPF_ANY) ? -errno : 0;
}

static int tap_in_devmap(struct harness *h, int ifindex)
{
	uint32_t k = (uint32_t)ifindex, v = (uint32_t)ifindex;

	return bpf_map_update_elem(h_map(h, EMBER_MAP_TAPS), &k, &v, BPF_ANY) ? -errno : 0;
}

int h_app(struct harness *h, uint32_t app_id, int standby_ifindex)
{
	struct ember_app a;

	memset(&a, 0, sizeof(a));
	a.flags = EMBER_APP_F_IN_USE; /* ember_apps is an array: the bit makes it an app */
	a.standby_ifindex = (uint32_t)standby_ifindex;
	if (standby_ifindex && tap_in_devmap(h, standby_ifindex))
		return -errno;
	return bpf_map_update_elem(h_map(h, EMBER_MAP_APPS), &app_id, &a, BPF_ANY) ? -errno : 0;
}

int h_guest_add(struct harness *h, uint32_t slot, uint32_t app_id, int tap_ifindex,
		const uint8_t mac[6], const uint8_t ip4[4], const uint8_t ip6[16])
{
	struct ember_guest g;
	struct ember_app a;
	uint32_t ifx = (uint32_t)tap_ifindex;

	memset(&g, 0, sizeof(g));
	g.app_id = app_id;
	g.tap_ifindex = ifx;
	memcpy(g.mac, mac, 6);
	memcpy(g.ip4, ip4, 4);
	memcpy(g.ip6, ip6, 16);
	if (tap_in_devmap(h, tap_ifindex) ||
	    bpf_map_update_elem(h_map(h, EMBER_MAP_GUESTS), &slot, &g, BPF_ANY) ||
	    bpf_map_update_elem(h_map(h, EMBER_MAP_TAP_SLOTS), &ifx, &slot, BPF_ANY) ||
	    bpf_map_lookup_elem(h_map(h, EMBER_MAP_APPS), &app_id, &a))
		return -errno;
	if (a.nlive >= EMBER_MAX_GUESTS_PER_APP)
		return -ENOSPC;
	a.live[a.nlive++] = slot;
	a.waking_since_ns = 0;
	return bpf_map_update_elem(h_map(h, EMBER_MAP_APPS), &app_id, &a, BPF_EXIST) ? -errno : 0;
}

int h_host_addr(struct harness *h, int family, const uint8_t *addr)
{
	struct ember_addr_key k;
	uint32_t one = 1;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, addr, family == 4 ? 4 : 16);
	k.family = (uint8_t)family;
	return bpf_map_update_elem(h_map(h, EMBER_MAP_HOST_ADDRS), &k, &one, BPF_ANY) ? -errno : 0;
}

int h_counters(struct harness *h, const char *map, uint32_t key, struct ember_counters *out)
{
	struct ember_counters v[h->ncpu];

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(h_map(h, map), &key, v))
		return -errno;
	for (int i = 0; i < h->ncpu; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
		out->new_flows += v[i].new_flows;
		for (int d = 0; d < EMBER_DROP_MAX; d++)
			out->drops[d] += v[i].drops[d];
		if (v[i].last_seen_ns > out->last_seen_ns)
			out->last_seen_ns = v[i].last_seen_ns;
	}
	return 0;
}

uint64_t h_verdicts(struct harness *h, uint32_t v)
{
	uint64_t n[h->ncpu], sum = 0;

	if (bpf_map_lookup_elem(h_map(h, EMBER_MAP_VERDICTS), &v, n))
		return 0;
	for (int i = 0; i < h->ncpu; i++)
		sum += n[i];
	return sum;
}

struct wake_ctx {
	uint32_t *ids;
	int max, n;
};

static int on_wake(void *ctx, void *data, size_t len)
{
	struct wake_ctx *w = ctx;
	const struct ember_wake_event *ev = data;

	if (len < sizeof(*ev))
		return -EINVAL;
	if (w->ids && w->n < w->max)
		w->ids[w->n] = ev->app_id;
	w->n++;
	return 0;
}

int h_drain_wake(struct harness *h, uint32_t *app_ids, int max)
{
	struct wake_ctx w = {.ids = app_ids, .max = max};
	struct ring_buffer *rb =
		ring_buffer__new(h_map(h, EMBER_MAP_WAKE_EVENTS), on_wake, &w, NULL);
	int rc;

	if (!rb)
		return -errno;
	rc = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return rc < 0 ? rc : w.n;
}
