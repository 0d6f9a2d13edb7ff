// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Map definitions shared by router and guest objects (same names, pinned by name) plus counter
 * helpers. */
#ifndef EMBER_BPF_MAPS_H
#define EMBER_BPF_MAPS_H

#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EMBER_MAX_SERVICES);
	__type(key, struct ember_service_key);
	__type(value, struct ember_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_svc SEC(".maps");

/* Arrays, not hashes: ids are bounded and the verifier inlines array
 * lookups (no hashing). Free entries are zeroed, see maps.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMBER_MAX_APPS);
	__type(key, __u32);
	__type(value, struct ember_app);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_apps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMBER_MAX_GUESTS);
	__type(key, __u32);
	__type(value, struct ember_guest);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_guests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EMBER_MAX_GUESTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_tap_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, EMBER_MAX_TAPS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_taps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EMBER_MAX_FLOWS);
	__type(key, struct ember_flow_key);
	__type(value, struct ember_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EMBER_MAX_FLOWS);
	__type(key, struct ember_rnat_key);
	__type(value, struct ember_rnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_rnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMBER_MAX_GUESTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_load SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EMBER_MAX_HOST_ADDRS);
	__type(key, struct ember_addr_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_host_ip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EMBER_WAKE_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_wake SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EMBER_MAX_APPS);
	__type(key, __u32);
	__type(value, struct ember_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_app_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EMBER_MAX_GUESTS);
	__type(key, __u32);
	__type(value, struct ember_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_gst_ctr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EMBER_V_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ember_debug);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_dbg SEC(".maps");

/* The map ABI version of the maps pinned beside it; written by the loader, read by no program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_abi SEC(".maps");

/* Set by the loader (tests): record every decision in ember_dbg. */
const volatile __u8 debug = 0;

/* Counts the program's outcome and, in debug mode, records it; returns (action). */
static __always_inline int verdict(int action, __u32 v, __u32 ifindex, __u32 app_id, __u32 slot,
				   __u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&ember_verdicts, &v);
	__u32 zero = 0;

	if (n)
		*n += 1;
	if (debug) {
		struct ember_debug *d = bpf_map_lookup_elem(&ember_dbg, &zero);

		if (d) {
			d->verdict = v;
			d->ifindex = ifindex;
			d->app_id = app_id;
			d->slot = slot;
			d->drop_reason = reason;
			d->flags = 0;
		}
	}
	return action;
}

/* In debug mode, marks the decision verdict() just recorded with EMBER_DBG_F_*. */
static __always_inline void debug_flags(__u32 flags)
{
	__u32 zero = 0;
	struct ember_debug *d;

	if (!debug)
		return;
	d = bpf_map_lookup_elem(&ember_dbg, &zero);
	if (d)
		d->flags = flags;
}

/* The app (app_id), or NULL when the id is out of range or the entry is free. */
static __always_inline struct ember_app *app_get(__u32 app_id)
{
	struct ember_app *a = bpf_map_lookup_elem(&ember_apps, &app_id);

	return a && (a->flags & EMBER_APP_F_IN_USE) ? a : NULL;
}

/* The guest in (slot), or NULL when out of range or free (tap_ifindex 0). */
static __always_inline struct ember_guest *guest_get(__u32 slot)
{
	struct ember_guest *g = bpf_map_lookup_elem(&ember_guests, &slot);

	return g && g->tap_ifindex ? g : NULL;
}

/*
 * Coarse clock (jiffy resolution) for last_seen_ns: it only feeds idle
 * timeouts of seconds, and the precise clock costs a clocksource read.
 * Read once per packet and passed to every count().
 */
static __always_inline __u64 now_coarse(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* Adds one packet of (bytes) seen at (now) to a counter set; (new_flow) and
 * (drop) < 0 = none. */
static __always_inline void count(void *map, __u32 key, __u64 bytes, __u64 now, int new_flow,
				  int drop)
{
	struct ember_counters *c = bpf_map_lookup_elem(map, &key);

	if (!c)
		return;
	c->packets++;
	c->bytes += bytes;
	if (new_flow > 0)
		c->new_flows++;
	c->last_seen_ns = now;
	if (drop >= 0 && drop < EMBER_DROP_MAX)
		c->drops[drop]++;
}

/* The flow cache's share of count(): packets and bytes. Its caller refreshes
 * last_seen_ns through count() on the first packet of each jiffy, when the
 * coarse clock (which only moves once a jiffy) may have changed. */
static __always_inline void count_fast(void *map, __u32 key, __u64 bytes)
{
	struct ember_counters *c = bpf_map_lookup_elem(map, &key);

	if (!c)
		return;
	c->packets++;
	c->bytes += bytes;
}

#endif
