// SPDX-License-Identifier: Apache-2.0
/* Dataplane library: loads, pins, attaches and drives ember's XDP programs. */
#ifndef EMBER_USERSPACE_DP_H
#define EMBER_USERSPACE_DP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Life cycle. The XDP programs and every map are pinned under a bpffs
 * directory (default DP_PIN_ROOT) and attached with netlink (not bpf_link), so
 * routing keeps working after the process that set it up exits: emberd can
 * restart, re-open the pinned maps with dp_open() and carry on.
 *
 *   dp_load()  first start: open the skeletons, set the rodata knobs, load,
 *              reuse any maps already pinned (state survives a reload), pin.
 *   dp_open()  any later process (CLI, restarted daemon): pinned maps and
 *              programs only, nothing is loaded.
 *   dp_close() frees this process's handle; pins and attachments stay.
 *   dp_unpin() removes the pins (the maps die with their last user).
 *
 * Error convention: functions return 0 (or a count) on success and -errno on
 * failure; dp_load()/dp_open() also write a sentence into (err). The library
 * never prints; dp_errmsg() gives the last failure's sentence for a handle.
 */

#define DP_PIN_ROOT "/sys/fs/bpf/ember" /* = EMBER_PIN_ROOT of <ember/maps.h> */

struct dp;

/* Runtime knobs, written into the programs' rodata before load. Zero = the
 * program's built-in default. */
struct dp_opts {
	const char *pin_root;	/* NULL = DP_PIN_ROOT */
	uint64_t wake_rearm_ns; /* a pending wake may re-fire after this long */
	/* The gateway every guest sees (the guest program answers ARP/ND for
	 * it; the router writes its MAC as the source of frames to guests). */
	uint8_t gw_mac[6];
	uint8_t gw_ip4[4];
	uint8_t gw_ip6[16];
	int verbose; /* keep libbpf's debug output in dp_errmsg() */
};

enum dp_xdp_mode {
	DP_XDP_AUTO = 0, /* native when the driver supports it, else generic */
	DP_XDP_NATIVE,
	DP_XDP_GENERIC,
};

int dp_load(struct dp **out, const struct dp_opts *opts, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int dp_open(struct dp **out, const char *pin_root, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void dp_close(struct dp *dp);
/* Removes every pin under (pin_root) (NULL = default). Returns 0 or -errno. */
int dp_unpin(const char *pin_root);
/* The last failure's sentence for (dp) (never NULL). */
const char *dp_errmsg(const struct dp *dp);
/* The pin root (dp) works under. */
const char *dp_pin_root(const struct dp *dp);

/*
 * Attach the router to an ingress device or the guest program to a tap. With
 * DP_XDP_AUTO, native mode is tried first and generic used when the driver
 * refuses; (used) says which one is in place. Replaces an XDP program that
 * is already attached. Returns 0 or -errno.
 */
int dp_attach_router(struct dp *dp, int ifindex, enum dp_xdp_mode mode, enum dp_xdp_mode *used);
int dp_attach_guest(struct dp *dp, int ifindex, enum dp_xdp_mode mode, enum dp_xdp_mode *used);
/* Removes the XDP program from (ifindex), whichever mode it is in. */
int dp_detach(int ifindex);
/* The mode of the XDP program on (ifindex): 0 none, else DP_XDP_NATIVE or
 * DP_XDP_GENERIC; (prog_id) may be NULL. -errno on error. */
int dp_xdp_query(int ifindex, uint32_t *prog_id);

const char *dp_mode_name(enum dp_xdp_mode mode);

/*
 * Configuration. Addresses are 16 bytes in network byte order, IPv4 in the
 * first 4 bytes with (family) AF_INET; ports are in host byte order.
 */
struct dp_service {
	int family;
	uint8_t vip[16];
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

struct dp_guest {
	uint32_t app_id;
	int tap_ifindex;
	uint8_t mac[6];	 /* the guest's own MAC (frames to it carry it) */
	uint8_t ip4[4];	 /* inside IPv4 address (all clones share it) */
	uint8_t ip6[16]; /* inside IPv6 address, all-zero = none */
};

/* Service (VIP, port, proto) -> app. add replaces an existing mapping. */
int dp_service_add(struct dp *dp, const struct dp_service *svc, uint32_t app_id);
int dp_service_del(struct dp *dp, const struct dp_service *svc);

/* An app's own configuration. */
struct dp_app {
	int standby_ifindex;   /* tap holding packets while no guest is live, 0 = none */
	uint8_t guest_mac[6];  /* what queued frames are rewritten to: the inside */
	uint8_t guest_ip4[4];  /* MAC/addresses every clone of the app shares; */
	uint8_t guest_ip6[16]; /* all zero = leave standby frames untouched */
};

/* Creates or updates app (app_id). Keeps its live guest set and wake state. */
int dp_app_set(struct dp *dp, uint32_t app_id, const struct dp_app *cfg);
/* Removes the app (its services and guests must be gone first: -EBUSY). */
int dp_app_del(struct dp *dp, uint32_t app_id);
/* Ends a wake: the next packet to a guest-less app raises a new event. */
int dp_app_rearm(struct dp *dp, uint32_t app_id);

/* Adds guest (slot) as a live guest of its app: tap into the devmap, slot
 * config, then (last, so no packet sees a half-built guest) the app's live set. */
int dp_guest_add(struct dp *dp, uint32_t slot, const struct dp_guest *g);
/* Takes the guest out of its app's live set first, then removes slot and tap. */
int dp_guest_del(struct dp *dp, uint32_t slot);
/* Draining: out of the app's live set (no new flow picks it) but slot and
 * tap stay, so the flows it has keep reaching it until dp_guest_del(). */
int dp_guest_drain(struct dp *dp, uint32_t slot);

/* Per-app / per-guest counters, summed over every CPU by the library (the
 * maps are per-CPU so the fast path never shares a cache line). */
struct dp_counters {
	uint64_t packets, bytes, new_flows;
	uint64_t drops;	       /* all drop reasons together */
	uint64_t last_seen_ns; /* CLOCK_MONOTONIC; the maximum, not the sum */
};

/* A wake event: app (app_id) got a packet while it had no live guest. */
struct dp_wake_event {
	uint32_t app_id;
	int standby_ifindex; /* the tap the router queues the app's packets on, 0 = none */
	uint64_t ts_ns;	     /* bpf_ktime_get_ns() in the router (CLOCK_MONOTONIC) */
};

/* The host's own addresses: guests may not send to them (anti-spoofing).
 * (family) AF_INET or AF_INET6, (addr) 4 or 16 bytes, network order. */
int dp_host_addr_add(struct dp *dp, int family, const void *addr);
int dp_host_addr_del(struct dp *dp, int family, const void *addr);

/* Counters, summed over every CPU (the maps are per-CPU so the fast path
 * never shares a cache line). last_seen_ns is the maximum, not the sum. */
int dp_app_counters(struct dp *dp, uint32_t app_id, struct dp_counters *out);
int dp_guest_counters(struct dp *dp, uint32_t slot, struct dp_counters *out);
/* Active TCP flows of guest (slot) as the router counts them (+1 per new
 * flow, -1 at its first FIN/RST): what the autoscaler compares with the
 * app's target concurrency. Reset to 0 by dp_guest_del(). */
int dp_guest_load(struct dp *dp, uint32_t slot, uint64_t *active);

/* What `ember dp show` lists. The callbacks return 0 to go on, anything else
 * stops the walk and is returned. */
struct dp_app_info {
	uint32_t app_id;
	int standby_ifindex;
	uint32_t nlive;		  /* live guests */
	uint64_t waking_since_ns; /* 0 = not waking */
};
typedef int (*dp_service_fn)(void *ctx, const struct dp_service *svc, uint32_t app_id);
typedef int (*dp_app_fn)(void *ctx, const struct dp_app_info *app);
typedef int (*dp_guest_fn)(void *ctx, uint32_t slot, const struct dp_guest *g);
int dp_foreach_service(struct dp *dp, dp_service_fn fn, void *ctx);
int dp_foreach_app(struct dp *dp, dp_app_fn fn, void *ctx);
int dp_foreach_guest(struct dp *dp, dp_guest_fn fn, void *ctx);

/* Wake events: (fn) is called for every event dp_events_poll() consumes; a
 * negative return (-errno) stops the poll and is returned. */
typedef int (*dp_wake_fn)(void *ctx, const struct dp_wake_event *ev);
int dp_events_open(struct dp *dp, dp_wake_fn fn, void *ctx);
/* An fd that turns readable when events are waiting (for epoll/poll). */
int dp_events_fd(const struct dp *dp);
/* Consumes waiting events, waiting up to (timeout_ms) (-1 = forever, 0 =
 * don't wait). Returns the number consumed or -errno. */
int dp_events_poll(struct dp *dp, int timeout_ms);
void dp_events_close(struct dp *dp);

/*
 * How dp_events_poll() waits. Blocking in epoll (spin_us 0, the default)
 * costs no CPU, but each event then pays the kernel's wakeup of the
 * consumer: an interrupt to run the ring buffer's notification, and on an
 * idle CPU the exit from its idle state (tens of microseconds on a VM).
 * With (spin_us) > 0, dp_events_poll() first busy-polls the ring (no system
 * call, a pause between reads) for up to (spin_us) microseconds of its
 * timeout, and blocks only after that. DP_EVENTS_SPIN_ALWAYS never blocks:
 * a dedicated consumer thread then sees an event within about a microsecond
 * of the router's write, at the price of one CPU kept busy (pin the thread
 * to a core set aside for it). Returns 0.
 */
#define DP_EVENTS_SPIN_ALWAYS UINT32_MAX
int dp_events_set_spin(struct dp *dp, uint32_t spin_us);

/*
 * Makes the calling thread a dedicated consumer for DP_EVENTS_SPIN_ALWAYS:
 * pins it to (cpu) (< 0 leaves its affinity alone) and, with (rt_priority)
 * > 0, runs it SCHED_FIFO at that priority, so that no ordinary task on that
 * CPU can delay it. Those tasks then get only what the kernel's real-time
 * throttling leaves them (sched_rt_runtime_us: 5% by default): give the
 * thread a CPU of its own. Returns 0 or -errno.
 */
int dp_events_thread_dedicate(int cpu, int rt_priority);

#endif
