/* SPDX-License-Identifier: Apache-2.0 */
/* emberd under memory pressure: paused guests of the least recently used apps are stopped first. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "emberd.h"

/*
 * Paused guests are what fills a host's memory: each costs its private
 * pages (PSS, `docs/benchmarks.md`). While MemAvailable is below
 * --min-avail-mib, emberd stops one paused guest every EMBERD_MEM_EVICT_MS,
 * taken from the app that went live least recently (LRU), and makes no
 * refills. An app whose paused guests were all taken keeps a spare tap as
 * its standby tap, so its next wake restores a clone (tier 3) instead of
 * being missed; the pool fills up again once memory is back.
 */

static uint64_t mem_available_kib(void)
{
	unsigned long long kib = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return UINT64_MAX; /* unknown: never evict on a guess */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib ? kib : UINT64_MAX;
}

static struct guest *victim_of(struct eapp *a)
{
	struct guest *v = NULL;

	for (struct guest *g = a->guests; g; g = g->next)
		if (g->state == G_PAUSED && (!v || v->ifindex == a->standby_ifindex))
			v = g;
	return v;
}

void mem_tick(struct emberd *d, uint64_t now)
{
	uint64_t every = (d->mem_low ? EMBERD_MEM_EVICT_MS : EMBERD_MEM_CHECK_MS) * 1000000ull;
	uint64_t avail;
	struct eapp *lru = NULL;
	struct guest *v;

	if (!d->o.min_avail_mib || now - d->mem_check_ns < every)
		return;
	d->mem_check_ns = now;
	avail = mem_available_kib();
	if ((avail < d->o.min_avail_mib * 1024ull) != d->mem_low) {
		d->mem_low = !d->mem_low;
		log_info("memory %s: MemAvailable %" PRIu64 " MiB, threshold %u MiB%s",
			 d->mem_low ? "pressure" : "pressure over", avail / 1024,
			 d->o.min_avail_mib,
			 d->mem_low ? ": stopping paused guests, least recently used apps first"
				    : "");
	}
	if (!d->mem_low)
		return;
	for (struct eapp *a = d->apps; a; a = a->next)
		if (a->state == APP_READY && victim_of(a) &&
		    (!lru || a->last_used < lru->last_used))
			lru = a;
	if (!lru || (lru->spare_fd < 0 && spare_tap_open(d, lru)))
		return;
	v = victim_of(lru);
	lru->evicted = true;
	guest_stop(d, v);
	app_standby_sync(d, lru);
	log_info("memory pressure: app %s: paused guest %u stopped (app idle the longest)",
		 app_name(lru), v->id);
}
