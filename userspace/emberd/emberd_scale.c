/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's autoscaler: guests added and removed from the dataplane's active-flow counts. */
#include <inttypes.h>
#include <stdio.h>

#include "emberd.h"

/*
 * The autoscaler, every tick while the app has live guests. The router
 * counts each live guest's active TCP flows (ember_load: +1 per new flow,
 * -1 at its first FIN/RST) and gives new flows to the less loaded of two
 * candidates, so adding a guest spreads new flows at once.
 * - Out: more than target_concurrency flows per live guest, fewer than
 *   max_instances live, a paused guest to resume: one more goes live (a
 *   resume, no wake event). One at a time: the next waits for its "ok".
 * - In: the flows would fit into one guest fewer at half the target, for
 *   EMBERD_SCALE_IN_MS, and a live guest has no active flow: that one goes
 *   (paused or stopped as on idle); never below min_instances or 1 (the
 *   last one goes by its idle timeout). A guest with flows is never taken:
 *   the dataplane cannot move an established TCP flow.
 */
void autoscale(struct emberd *d, struct eapp *a, uint64_t now)
{
	const struct app_spec *s = &a->entry->spec;
	struct guest *spare = NULL, *idlest = NULL;
	uint64_t total = 0, load, least = UINT64_MAX;
	unsigned int live = 0;

	for (struct guest *g = a->guests; g; g = g->next) {
		/* A paused guest other than the standby one keeps the standby tap still. */
		if (g->state == G_PAUSED && (!spare || spare->ifindex == a->standby_ifindex))
			spare = g;
		if (g->state != G_LIVE)
			continue;
		if (g->wake)
			return; /* a wake or a scale-out in flight: decide after it */
		app_guest_flows(d, g, &load);
		live++;
		total += load;
		if (load < least) {
			least = load;
			idlest = g;
		}
	}
	if (!live)
		return;
	if (total > (uint64_t)s->target_concurrency * live) {
		a->low_since = 0;
		if (live >= s->max_instances || !spare || wake_scale_out(d, spare))
			return;
		a->scale_outs++;
		log_info("app %s: scale out: %" PRIu64 " active flows on %u guest(s), target %u "
			 "each: guest %u live",
			 app_name(a), total, live, s->target_concurrency, spare->id);
		return;
	}
	if (live <= 1 || live <= s->min_instances || least ||
	    total * 2 > (uint64_t)s->target_concurrency * (live - 1)) {
		a->low_since = 0;
		return;
	}
	if (!a->low_since)
		a->low_since = now;
	if (now - a->low_since < EMBERD_SCALE_IN_MS * 1000000ull)
		return;
	a->low_since = 0;
	a->scale_ins++;
	log_info("app %s: scale in: %" PRIu64 " active flows on %u guest(s), target %u each: "
		 "guest %u out",
		 app_name(a), total, live, s->target_concurrency, idlest->id);
	app_guest_sleep(d, a, idlest);
}
