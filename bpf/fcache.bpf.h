// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The router's per-CPU flow cache in front of the ember_flows LRU: index, checked read, fill. */
#ifndef EMBER_BPF_FCACHE_H
#define EMBER_BPF_FCACHE_H

#include "maps.bpf.h"

/*
 * Why a cache: an ember_flows hit costs a jhash of the 40-byte key, a bucket
 * walk and a memcmp, about a quarter of the router's time per packet. A
 * direct-mapped array indexed by a multiplicative hash costs a few
 * instructions, touches one cache line and needs no lock.
 *
 * Why not a BPF_MAP_TYPE_PERCPU_ARRAY: its lookup first loads the entry's
 * per-CPU pointer from a table (a second dependent load, which missed the
 * cache as often as the entry itself under load), and per-CPU allocations are
 * only 8-byte aligned, so most 64-byte entries straddle two cache lines. A
 * plain array of per-CPU regions (entry = cpu << EMBER_FLOW_CACHE_BITS |
 * hash) is one address computation; BPF_F_MMAPABLE makes its values
 * page-aligned, so every entry is exactly one cache line, written by one CPU.
 * The loader sizes it: possible CPUs << EMBER_FLOW_CACHE_BITS entries (the
 * default here covers CPU 0; a CPU beyond the map just has no cache).
 * Only the router has it; pinned like every map so that bpftool shows it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EMBER_FLOW_CACHE_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ember_flow_cache);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ember_fcache SEC(".maps");

/* The flow key viewed as five words: hashed and compared word by word. */
union fkey {
	struct ember_flow_key k;
	__u64 w[5];
};
_Static_assert(sizeof(union fkey) == sizeof(struct ember_flow_key), "fkey covers the key");

#define fc_barrier() asm volatile("" ::: "memory")

/* What a usable cache entry says about its flow. */
struct fc_hit {
	__u32 slot;
	__u32 app_id;
	__u32 svc_gen;
};

/* This CPU's entry for (k), NULL when the map has no region for this CPU. */
static __always_inline struct ember_flow_cache *fc_entry(const union fkey *k)
{
	__u64 x = k->w[0] ^ k->w[1] ^ k->w[2] ^ k->w[3] ^ k->w[4];
	__u32 i = ((__u32)(x ^ (x >> 32)) * 0x9e3779b1u) >> (32 - EMBER_FLOW_CACHE_BITS);

	i |= bpf_get_smp_processor_id() << EMBER_FLOW_CACHE_BITS;
	return bpf_map_lookup_elem(&ember_fcache, &i);
}

/* Starts the load of entry (e) without waiting for it: a volatile read the
 * compiler keeps here, whose value nothing needs. */
static __always_inline void fc_touch(const struct ember_flow_cache *e)
{
	__u32 seq = *(volatile const __u32 *)&e->seq;

	asm volatile("" : : "r"(seq));
}

/*
 * 0 and (*hit) filled when (e) holds flow (k) and was checked against
 * ember_flows during the current jiffy (now_j). The sequence count guards
 * against a router run that interrupted this one on the same CPU (a
 * BPF_PROG_TEST_RUN is preemptible by the softirq that runs XDP): a copy is
 * used only if no write was in progress and none happened while reading.
 */
static __always_inline int fc_read(const struct ember_flow_cache *e, const union fkey *k,
				   __u64 now_j, struct fc_hit *hit)
{
	const __u64 *w = (const __u64 *)&e->key;
	__u32 seq = *(volatile const __u32 *)&e->seq;
	__u64 diff;

	fc_barrier();
	diff = (w[0] ^ k->w[0]) | (w[1] ^ k->w[1]) | (w[2] ^ k->w[2]) | (w[3] ^ k->w[3]) |
	       (w[4] ^ k->w[4]) | (e->jiffies ^ now_j) | (seq & 1);
	hit->slot = e->slot;
	hit->app_id = e->app_id;
	hit->svc_gen = e->svc_gen;
	fc_barrier();
	return diff || *(volatile const __u32 *)&e->seq != seq ? -1 : 0;
}

/* Records that flow (k) goes to (slot) of (app_id) under (svc_gen), checked
 * against ember_flows at jiffy (now_j). Skipped when this run interrupted a
 * write of the same entry on this CPU (that write completes it). */
/*
 * A hit that still holds: the entry is this jiffy's, its guest is still in
 * its app and the app's service generation is the one the flow was routed
 * under (the checks fast_app() makes). Counts packets and bytes only.
 * Returns the guest, or NULL: take the ember_flows path.
 */
static __always_inline struct ember_guest *fc_use(const struct ember_flow_cache *e,
						  const union fkey *k, __u64 now_j,
						  __u32 bytes, struct fc_hit *h)
{
	struct ember_guest *g;
	struct ember_app *app;

	if (fc_read(e, k, now_j, h))
		return NULL;
	g = guest_get(h->slot);
	if (!g || g->app_id != h->app_id)
		return NULL;
	app = app_get(h->app_id);
	if (!app || app->svc_gen != h->svc_gen)
		return NULL;
	count_fast(&ember_app_ctr, h->app_id, bytes);
	count_fast(&ember_gst_ctr, h->slot, bytes);
	return g;
}

static __always_inline void fc_fill(struct ember_flow_cache *e, const union fkey *k, __u64 now_j,
				    __u32 slot, __u32 app_id, __u32 svc_gen)
{
	__u64 *w = (__u64 *)&e->key;
	__u32 seq = e->seq;

	if (seq & 1)
		return;
	*(volatile __u32 *)&e->seq = seq + 1;
	fc_barrier();
	for (int i = 0; i < 5; i++)
		w[i] = k->w[i];
	e->slot = slot;
	e->app_id = app_id;
	e->svc_gen = svc_gen;
	e->jiffies = now_j;
	fc_barrier();
	*(volatile __u32 *)&e->seq = seq + 2;
}

#endif
