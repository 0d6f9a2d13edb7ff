// SPDX-License-Identifier: Apache-2.0
/*
 * The BPF map ABI of ember's XDP dataplane: map names, key and value layouts,
 * shared by the BPF programs (bpf/) and userspace (userspace/, tests, bench).
 *
 * Rules that keep it usable from both worlds: only fixed-width types, no
 * kernel-only or libc-only headers, every struct size pinned by a
 * _Static_assert, explicit padding (userspace must zero keys: padding is part
 * of a hash key). Addresses and ports are in network byte order; an IPv4
 * address sits in the first 4 bytes of a 16-byte address, the rest zero.
 * docs/dataplane.md documents every map and who writes it.
 */
#ifndef EMBER_MAPS_H
#define EMBER_MAPS_H

#ifdef __BPF__
/* BPF objects get the fixed-width types from vmlinux.h or linux/types.h. */
typedef __u8 ember_u8;
typedef __u16 ember_u16;
typedef __u32 ember_u32;
typedef __u64 ember_u64;
#else
#include <stdint.h>
typedef uint8_t ember_u8;
typedef uint16_t ember_u16;
typedef uint32_t ember_u32;
typedef uint64_t ember_u64;
#endif

/* Default bpffs directory every map (and both programs) is pinned under. */
#define EMBER_PIN_ROOT "/sys/fs/bpf/ember"

/* Sizes; override at build time with -D (both sides must agree). */
#ifndef EMBER_MAX_SERVICES
#define EMBER_MAX_SERVICES 4096
#endif
#ifndef EMBER_MAX_APPS /* app ids are 0 .. EMBER_MAX_APPS-1 */
#define EMBER_MAX_APPS 4096
#endif
#ifndef EMBER_MAX_GUESTS /* guest slots are 0 .. EMBER_MAX_GUESTS-1 */
#define EMBER_MAX_GUESTS 16384
#endif
#ifndef EMBER_MAX_GUESTS_PER_APP
#define EMBER_MAX_GUESTS_PER_APP 16
#endif
#ifndef EMBER_MAX_FLOWS
#define EMBER_MAX_FLOWS 262144
#endif
#ifndef EMBER_MAX_TAPS /* guest taps + standby taps */
#define EMBER_MAX_TAPS 32768
#endif
#ifndef EMBER_MAX_HOST_ADDRS
#define EMBER_MAX_HOST_ADDRS 256
#endif
#ifndef EMBER_FLOW_CACHE_BITS /* router's flow cache: 1 << bits entries per CPU */
#define EMBER_FLOW_CACHE_BITS 12
#endif
#define EMBER_FLOW_CACHE_SLOTS (1u << EMBER_FLOW_CACHE_BITS)
#ifndef EMBER_WAKE_RING_BYTES /* power of two, multiple of the page size */
#define EMBER_WAKE_RING_BYTES (256 * 1024)
#endif

/*
 * The version of this map ABI. A set of pinned maps carries the version of
 * the build that created it (EMBER_MAP_ABI); the dataplane library refuses
 * to reuse or open pins of another version, naming both, instead of letting
 * new code misread old maps. Bump it with any change that alters what a
 * pinned map's bytes mean or which maps exist: a key or value layout (even
 * one the sizes do not show: a field renamed, reordered or given another
 * unit), a flag's meaning, a map added, removed or retyped. docs/dataplane.md
 * ("Map ABI version") keeps the history.
 */
#define EMBER_MAP_ABI_VERSION 1

/* Map names: the BPF variable names, also the pin file names under the root. */
#define EMBER_MAP_ABI	      "ember_abi"      /* array[1]: 0 -> u32 EMBER_MAP_ABI_VERSION */
#define EMBER_MAP_SERVICES    "ember_svc"      /* hash: service_key -> service */
#define EMBER_MAP_APPS	      "ember_apps"     /* array: u32 app id -> ember_app */
#define EMBER_MAP_GUESTS      "ember_guests"   /* array: u32 slot -> ember_guest */
#define EMBER_MAP_TAP_SLOTS   "ember_tap_slot" /* hash: u32 tap ifindex -> u32 slot */
#define EMBER_MAP_TAPS	      "ember_taps"     /* devmap_hash: u32 ifindex -> u32 ifindex */
#define EMBER_MAP_FLOWS	      "ember_flows"    /* lru_hash: flow_key -> flow */
#define EMBER_MAP_FLOW_CACHE  "ember_fcache"   /* array: cpu, hash -> flow_cache (router only) */
#define EMBER_MAP_RNAT	      "ember_rnat"     /* lru_hash: rnat_key -> rnat */
#define EMBER_MAP_GUEST_LOAD  "ember_load"     /* array: u32 slot -> u64 active flows */
#define EMBER_MAP_HOST_ADDRS  "ember_host_ip"  /* hash: addr_key -> u32 (1) */
#define EMBER_MAP_WAKE_EVENTS "ember_wake"     /* ringbuf of ember_wake_event */
#define EMBER_MAP_APP_STATS   "ember_app_ctr"  /* percpu_array: u32 app id -> counters */
#define EMBER_MAP_GUEST_STATS "ember_gst_ctr"  /* percpu_array: u32 slot -> counters */
#define EMBER_MAP_VERDICTS    "ember_verdicts" /* percpu_array: u32 verdict -> u64 */
#define EMBER_MAP_DEBUG	      "ember_dbg"      /* percpu_array[1]: last redirect (tests) */

#define EMBER_FAMILY_V4 4
#define EMBER_FAMILY_V6 6

/* ember_svc key: what a client addresses. */
struct ember_service_key {
	ember_u8 addr[16]; /* VIP */
	ember_u16 port;	   /* network order */
	ember_u8 proto;	   /* IPPROTO_TCP / IPPROTO_UDP */
	ember_u8 family;   /* EMBER_FAMILY_V4 / _V6 */
};
_Static_assert(sizeof(struct ember_service_key) == 20, "ember_service_key ABI");

struct ember_service {
	ember_u32 app_id;
	ember_u32 flags; /* reserved, 0 */
};
_Static_assert(sizeof(struct ember_service) == 8, "ember_service ABI");

/* ember_app flags */
#define EMBER_APP_F_NO_ICMP_ECHO (1u << 0) /* pass echo requests to the host instead */
/* ember_apps is an array (every id has an entry): only entries with this bit
 * are apps. A zeroed entry is an absent app; deleting an app = writing zeros. */
#define EMBER_APP_F_IN_USE (1u << 31)

/*
 * Per-app state. Userspace owns every field except waking_since_ns, which the
 * router sets with a compare-and-swap from 0 (or from a stale stamp older
 * than the re-arm timeout) to "now" when it emits a wake event. Userspace
 * ends a wake by writing 0 (or by adding a live guest).
 */
struct ember_app {
	ember_u32 standby_ifindex; /* tap that queues packets while nlive == 0 */
	ember_u32 nlive;	   /* valid entries in live[] */
	ember_u64 waking_since_ns; /* bpf_ktime_get_ns() of the pending wake, 0 = none */
	ember_u32 flags;	   /* EMBER_APP_F_* */
	ember_u32 max_guests;	   /* autoscaler's limit (informational for BPF) */
	ember_u32 live[EMBER_MAX_GUESTS_PER_APP]; /* guest slots */
	/* What frames queued in the standby tap are rewritten to (every clone
	 * of the app shares them); all zero = leave standby frames untouched. */
	ember_u8 guest_mac[6];
	ember_u8 pad0[2];
	ember_u8 guest_ip4[4];
	ember_u8 guest_ip6[16];
	/* Bumped by userspace when a service of this app is deleted or moved to
	 * another app, and when a guest of the app is removed: flows (and their
	 * per-CPU cache entries) remember it and take the fast path (no ember_svc
	 * lookup) only while it is unchanged. */
	ember_u32 svc_gen;
};
_Static_assert(sizeof(struct ember_app) == 56 + 4 * EMBER_MAX_GUESTS_PER_APP, "ember_app ABI");

enum ember_guest_state {
	EMBER_GUEST_LIVE = 0,	  /* running or resumable: routable */
	EMBER_GUEST_DRAINING = 1, /* keeps its flows, gets no new ones */
};

/*
 * Per-guest slot; userspace writes it before putting the slot in live[].
 * ember_guests is an array: a slot is in use iff tap_ifindex != 0 (no
 * interface has index 0); freeing a slot = writing zeros except gen.
 * (app_id 0 is a valid app: it does not mark a free slot.)
 *
 * gen tells the guests that used a slot one after another apart: every new
 * guest in the slot gets the previous gen + 1 (re-adding the same guest, same
 * app and tap, keeps it). A flow remembers its guest's gen, so a late packet
 * of a flow whose guest died is not delivered to, nor counted against, the
 * next guest in that slot; it is routed as a new flow instead.
 */
struct ember_guest {
	ember_u32 app_id;
	ember_u32 tap_ifindex;
	ember_u8 mac[6]; /* the guest's own MAC */
	ember_u8 state;	 /* enum ember_guest_state */
	ember_u8 pad0;
	ember_u8 ip4[4];  /* inside IPv4, network order */
	ember_u8 ip6[16]; /* inside IPv6, all zero = none */
	ember_u32 gen;	  /* this slot's incarnation (above) */
};
_Static_assert(sizeof(struct ember_guest) == 40, "ember_guest ABI");

/* ember_flows key: the 5-tuple as the client sent it (dst = VIP). */
struct ember_flow_key {
	ember_u8 src[16];
	ember_u8 dst[16];
	ember_u16 sport, dport;
	ember_u8 proto, family;
	ember_u8 pad[2];
};
_Static_assert(sizeof(struct ember_flow_key) == 40, "ember_flow_key ABI");

/* FIN/RST seen: no longer in the active count. A SYN (without ACK) on a
 * closed entry is a new connection that reuses the 5-tuple: routed anew. */
#define EMBER_FLOW_F_CLOSED (1u << 0)

/* app_id and svc_gen are the app and its ember_app.svc_gen when the router
 * last resolved the flow through ember_svc: an established flow skips the
 * service lookup while its guest, app and svc_gen are all unchanged.
 * guest_gen is the gen of the guest in (slot) when the flow was given to it:
 * the flow belongs to that guest only while the slot's gen is the same. */
struct ember_flow {
	ember_u32 slot;
	ember_u32 flags; /* EMBER_FLOW_F_* */
	ember_u32 app_id;
	ember_u32 svc_gen;
	ember_u32 guest_gen;
	ember_u32 pad; /* 0 */
};
_Static_assert(sizeof(struct ember_flow) == 24, "ember_flow ABI");

/*
 * ember_fcache: the router's per-CPU, direct-mapped cache in front of
 * ember_flows: an array of one region of EMBER_FLOW_CACHE_SLOTS entries per
 * possible CPU (entry = cpu << EMBER_FLOW_CACHE_BITS | a hash of the key;
 * the loader sets max_entries to possible CPUs << EMBER_FLOW_CACHE_BITS).
 * Internal to the router: nothing else writes it, and an entry is only
 * used while it matches the key, its guest still belongs to app_id, the
 * app's svc_gen is unchanged and `jiffies` is the current jiffy (so every
 * entry is re-checked against ember_flows at least once per jiffy, which also
 * keeps busy flows recent in the LRU). A zeroed entry (family 0) is empty.
 */
struct ember_flow_cache {
	struct ember_flow_key key;
	ember_u32 slot;
	ember_u32 app_id;
	ember_u32 svc_gen;
	ember_u32 seq;	   /* odd while the router rewrites the entry */
	ember_u64 jiffies; /* bpf_jiffies64() of the last check against ember_flows */
};
_Static_assert(sizeof(struct ember_flow_cache) == 64, "ember_flow_cache ABI");

/* ember_rnat key: a reply as the guest sends it, qualified by its app (every
 * clone has the same inside address; the app also covers standby flows,
 * whose guest is not known when the router sees them). */
struct ember_rnat_key {
	ember_u8 client[16];
	ember_u16 client_port, guest_port;
	ember_u32 app_id;
	ember_u8 proto, family;
	ember_u8 pad[2];
};
_Static_assert(sizeof(struct ember_rnat_key) == 28, "ember_rnat_key ABI");

struct ember_rnat {
	ember_u8 vip[16];
};
_Static_assert(sizeof(struct ember_rnat) == 16, "ember_rnat ABI");

/* ember_host_ip key: an address of the host itself (guests may not send to it). */
struct ember_addr_key {
	ember_u8 addr[16];
	ember_u8 family;
	ember_u8 pad[3];
};
_Static_assert(sizeof(struct ember_addr_key) == 20, "ember_addr_key ABI");

/* Ring-buffer record: app (app_id) got a packet while it had no live guest. */
struct ember_wake_event {
	ember_u32 app_id;
	ember_u32 standby_ifindex;
	ember_u64 ts_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when XDP saw the packet */
};
_Static_assert(sizeof(struct ember_wake_event) == 16, "ember_wake_event ABI");

/* Why a packet was dropped (index into ember_counters.drops). */
enum ember_drop_reason {
	EMBER_DROP_NO_TARGET = 0,   /* app has no live guest and no standby tap */
	EMBER_DROP_SPOOF_MAC = 1,   /* guest sent from a MAC that is not its own */
	EMBER_DROP_SPOOF_IP = 2,    /* guest sent from an address that is not its own */
	EMBER_DROP_TO_HOST = 3,	    /* guest sent to one of the host's addresses */
	EMBER_DROP_TO_TENANT = 4,   /* guest sent to a VIP / inside address of a guest */
	EMBER_DROP_NO_FLOW = 5,	    /* guest sent something that is not a reply */
	EMBER_DROP_BAD_L2 = 6,	    /* guest sent a non-IP, non-ARP frame or bad ARP/ND */
	EMBER_DROP_FIB = 7,	    /* no route out for a reply */
	EMBER_DROP_UNKNOWN_TAP = 8, /* frame on a tap with no guest slot */
	EMBER_DROP_MAX = 16,
};

/* Per-app and per-guest counters, one copy per CPU. */
struct ember_counters {
	ember_u64 packets;
	ember_u64 bytes;
	ember_u64 new_flows;
	ember_u64 last_seen_ns;
	ember_u64 drops[EMBER_DROP_MAX];
};
_Static_assert(sizeof(struct ember_counters) == 32 + 8 * EMBER_DROP_MAX, "ember_counters ABI");

/* ember_verdicts index: every program outcome is counted (per CPU). */
enum ember_verdict {
	EMBER_V_PASS_NOT_IP = 0,    /* router: not IPv4/IPv6 */
	EMBER_V_PASS_NOT_VIP = 1,   /* router: no service for (dst, dport, proto) */
	EMBER_V_PASS_MALFORMED = 2, /* truncated / bad header: left to the kernel */
	EMBER_V_PASS_FRAGMENT = 3,  /* IPv4/IPv6 fragment: left to the kernel */
	EMBER_V_TO_GUEST = 4,	    /* router: redirected to a live guest */
	EMBER_V_TO_STANDBY = 5,	    /* router: redirected to the standby tap */
	EMBER_V_ECHO_REPLY = 6,	    /* router: ICMP(v6) echo to a VIP answered (XDP_TX) */
	EMBER_V_DROP = 7,	    /* counted by reason in the counters */
	EMBER_V_GW_ANSWER = 8,	    /* guest: ARP / NS for the gateway answered */
	EMBER_V_TO_CLIENT = 9,	    /* guest: reverse-NATed reply redirected out */
	EMBER_V_PASS_NO_NEIGH = 10, /* guest: next hop unresolved, kernel resolves */
	EMBER_V_MAX = 16,
};

/* ember_dbg[0]: the last decision of this CPU, written only when the
 * programs' rodata knob `debug` is set (the packet fixtures use it). */
struct ember_debug {
	ember_u32 verdict; /* enum ember_verdict */
	ember_u32 ifindex; /* redirect target (tap or egress device), 0 = none */
	ember_u32 app_id;
	ember_u32 slot; /* guest slot, ~0 = standby / none */
	ember_u32 drop_reason;
	ember_u32 flags; /* EMBER_DBG_F_*: which router path decided */
};
#define EMBER_DBG_F_FLOW_CACHE (1u << 0) /* established flow found in ember_fcache */
#define EMBER_DBG_F_FAST_V4    (1u << 1) /* ... by the in-place IPv4 fast path */
_Static_assert(sizeof(struct ember_debug) == 24, "ember_debug ABI");

#endif /* EMBER_MAPS_H */
