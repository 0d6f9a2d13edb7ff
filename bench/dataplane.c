// SPDX-License-Identifier: Apache-2.0
/* `make bench B=dataplane`: router packet rate vs a redirect-only program, wake latency, wake
 * dedup. */
#include "dataplane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.skel.h"

struct bench B;

void bench_fail(const char *what, int err)
{
	fprintf(stderr, "dataplane: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void cleanup(void)
{
	dp_close(B.dp);
	B.dp = NULL;
	if (B.pin_root[0])
		dp_unpin(B.pin_root);
	dataplane_bpf__destroy(B.skel);
	B.skel = NULL;
	ns_cleanup(&B.ns);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(1); /* runs cleanup() */
}

static double env_num(const char *name, double dflt)
{
	const char *v = getenv(name);

	return v && *v ? atof(v) : dflt;
}

void bench_target(uint16_t port, uint32_t nflows)
{
	struct gen_flow f = {.sport = 40000, .dport = port, .nflows = nflows};

	memcpy(f.dst_mac, B.rx0_mac, 6);
	memcpy(f.src_mac, B.gen0_mac, 6);
	inet_pton(AF_INET, CLIENT, &f.saddr);
	inet_pton(AF_INET, VIP, &f.daddr);
	gen_frame(&f, B.skel->bss->tmpl);
	B.skel->bss->nflows = nflows;
}

static void links(void)
{
	const char *n;
	int i = ns_add(&B.ns, "emb-bench"), err;

	if (i < 0)
		bench_fail("ip netns add", i);
	n = B.ns.names[i];
	if (sh("ip -n %s link add gen0 type veth peer name rx0", n) ||
	    sh("ip -n %s link add out0 type veth peer name sink0", n) ||
	    sh("for d in gen0 rx0 out0 sink0; do ip -n %s link set $d up; done", n))
		bench_fail("creating veths", EIO);
	err = ns_enter(&B.ns, i);
	if (err)
		bench_fail("setns", err);
	B.gen0 = if_index("gen0");
	B.rx0 = if_index("rx0");
	B.out0 = if_index("out0");
	B.sink0 = if_index("sink0");
	if (if_mac("rx0", B.rx0_mac) || if_mac("gen0", B.gen0_mac))
		bench_fail("reading MACs", EIO);
	B.stby_fd = tap_create("stby", &B.stby, 1);
	if (B.stby_fd < 0)
		bench_fail("standby tap", B.stby_fd);
}

/* The bench programs: sink on sink0, the redirect baselines aimed at out0. */
static void bench_progs(void)
{
	uint32_t key = 0, val = (uint32_t)B.out0;
	int err;

	B.skel = dataplane_bpf__open();
	if (!B.skel)
		bench_fail("opening bench programs", errno);
	B.skel->rodata->xb_ifindex_out = (uint32_t)B.out0;
	err = dataplane_bpf__load(B.skel);
	if (err)
		bench_fail("loading bench programs", err);
	err = bpf_map_update_elem(bpf_map__fd(B.skel->maps.bench_tx), &key, &val, 0);
	if (!err)
		err = bpf_xdp_attach(B.sink0, bpf_program__fd(B.skel->progs.bench_count_drop),
				     XDP_FLAGS_DRV_MODE, NULL);
	if (err)
		bench_fail("bench programs", err);
}

/* The dataplane: a live app whose guest "tap" is out0, an idle app whose
 * standby tap is stby. */
static void dataplane(void)
{
	struct dp_opts o = {.pin_root = B.pin_root};
	struct dp_service s = {.family = AF_INET, .proto = IPPROTO_UDP};
	struct dp_guest g = {.app_id = APP_LIVE, .tap_ifindex = B.out0};
	char err[1024];
	int rc;

	rc = dp_load(&B.dp, &o, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "dataplane: %s\n", err);
		exit(1);
	}
	inet_pton(AF_INET, VIP, s.vip);
	memcpy(g.mac, (uint8_t[6]){0x02, 0, 0, 0, 0, 0x0a}, 6);
	inet_pton(AF_INET, "10.0.2.15", g.ip4);
	struct dp_app live = {0}, idle = {.standby_ifindex = B.stby};

	memcpy(idle.guest_mac, g.mac, 6);
	memcpy(idle.guest_ip4, g.ip4, 4);
	rc = dp_app_set(B.dp, APP_LIVE, &live);
	rc = rc ? rc : dp_app_set(B.dp, APP_IDLE, &idle);
	s.port = PORT_LIVE;
	rc = rc ? rc : dp_service_add(B.dp, &s, APP_LIVE);
	s.port = PORT_IDLE;
	rc = rc ? rc : dp_service_add(B.dp, &s, APP_IDLE);
	rc = rc ? rc : dp_guest_add(B.dp, 0, &g);
	if (rc)
		bench_fail(dp_errmsg(B.dp), rc);
}

int main(void)
{
	char why[128];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!ns_env_ok(why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	B.rate_secs = env_num("EMBER_BENCH_SECS", 2.0);
	B.rate_rounds = (int)env_num("EMBER_BENCH_ROUNDS", 3);
	B.wake_samples = (int)env_num("EMBER_BENCH_WAKE_SAMPLES", 2000);
	B.burst = (int)env_num("EMBER_BENCH_BURST", 100000);
	B.only = getenv("EMBER_BENCH_ONLY");
	if (B.only && !*B.only)
		B.only = NULL;
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	snprintf(B.pin_root, sizeof(B.pin_root), "/sys/fs/bpf/ember-bench-%d", (int)getpid());

	links();
	bench_progs();
	dataplane();

	measure_rate();
	measure_wake_latency();
	measure_wake_burst();
	return 0;
}
