/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's wake path: a ring-buffer event resumes a paused guest, or restores one (tier 3). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emberd.h"

const char *const wake_tier_names[WAKE_TIERS] = {
	[WAKE_PAUSED] = "paused", [WAKE_RESTORE] = "restore"};

static uint64_t us(uint64_t from, uint64_t to)
{
	return to > from ? (to - from) / 1000 : 0;
}

/* The tick: 1 ms while a wake waits for its first packet, the autoscaler's
 * period while any guest is live, else EMBERD_TICK_MS (refills, timeouts). */
void wake_tick_update(struct emberd *d)
{
	bool live = false;

	for (struct eapp *a = d->apps; a && !live; a = a->next)
		for (struct guest *g = a->guests; g && !live; g = g->next)
			live = g->state == G_LIVE;
	tick_set(d, d->fast_ticks ? EMBERD_FAST_MS : live ? d->o.scale_ms : EMBERD_TICK_MS);
}

void wake_report(struct emberd *d, struct guest *g)
{
	struct wake_times *w = g->wake;
	struct eapp *a = g->app;

	if (w->scale) {
		log_info("scale-out app=%s guest=%u sent->running=%" PRIu64
			 "us running->ok=%" PRIu64 "us",
			 app_name(a), g->id, us(w->sent, w->running), us(w->running, w->ok));
	} else {
		char t3[96] = "";

		if (w->restore) /* tier 3: recv -> restore -> paused -> resume sent */
			snprintf(t3, sizeof(t3), " restore->paused=%" PRIu64 "us",
				 us(w->restore, w->restored));
		log_info("wake app=%s guest=%u tier=%s event->recv=%" PRIu64
			 "us recv->resume_sent=%" PRIu64 "us%s sent->running=%" PRIu64
			 "us running->ok=%" PRIu64 "us event->first_pkt=%s%" PRIu64 "us",
			 app_name(a), g->id, wake_tier_names[wake_tier_of(w)],
			 us(w->event, w->recv), us(w->recv, w->sent), t3, us(w->sent, w->running),
			 us(w->running, w->ok), w->first ? "" : "none/", us(w->event, w->first));
		a->last_wake = *w;
		meter_wake(a, w);
	}
	free(g->wake);
	g->wake = NULL;
	if (d->fast_ticks)
		d->fast_ticks--;
	wake_tick_update(d);
}

/* Resumes (g) and makes it a live guest. The dataplane entry is written
 * right after the resume command: frames that reach the tap in between
 * queue in the guest's RX ring either way. */
int wake_activate(struct emberd *d, struct guest *g, uint64_t event, uint64_t recv)
{
	struct dp_counters c = {0};
	int slot = app_slot_alloc(d);

	if (slot < 0)
		return -ENOSPC;
	g->wake = calloc(1, sizeof(*g->wake));
	if (g->wake) /* before the write: the VMM may run before it returns */
		g->wake->sent = mono_ns();
	if (!g->wake || guest_ctl(g, CTL_RESUME)) {
		d->slot_used[slot] = 0;
		free(g->wake);
		g->wake = NULL;
		return -EIO;
	}
	g->wake->event = event ? event : recv;
	g->wake->recv = recv;
	g->wake->guest = g->id;
	if (app_route_guest(d, g, slot)) {
		d->slot_used[slot] = 0;
		guest_stop(d, g);
		return -EIO;
	}
	dp_guest_counters(d->dp, (uint32_t)slot, &c);
	g->wake->pkts0 = c.packets;
	g->slot = slot;
	g->state = G_LIVE;
	g->live_since = mono_ns();
	g->app->last_used = g->live_since;
	state_guest_save(d, g);
	d->fast_ticks++;
	wake_tick_update(d);
	return 0;
}

/* Tier 3: no paused guest. A clone is restored onto the spare tap, where
 * the wake's packets wait; pool_guest_paused() resumes it. 1: restoring,
 * 2: a restore for an earlier event is under way (the router re-armed
 * meanwhile), 0: no spare tap or the restore failed. */
static int wake_restore(struct emberd *d, struct eapp *a, uint64_t event, uint64_t recv)
{
	for (struct guest *g = a->guests; g; g = g->next)
		if (g->t3_recv)
			return 2;
	if (a->spare_fd < 0 || guest_restore(d, a, true))
		return 0;
	a->guests->t3_event = event ? event : recv;
	a->guests->t3_recv = recv;
	log_dbg("app %s: wake: restoring guest %u onto the spare tap %s", app_name(a),
		a->guests->id, a->guests->tap);
	return 1;
}

int wake_event(void *ctx, const struct dp_wake_event *ev)
{
	uint64_t recv = mono_ns();
	struct emberd *d = ctx;
	struct eapp *a = app_by_id(d, ev->app_id);
	struct guest *pick = NULL;

	if (!a || a->state != APP_READY) {
		log_dbg("wake for app id %u, which is not ready", ev->app_id);
		return 0;
	}
	/* The paused guest on the tap where the router queued the packets, so
	 * they are its first; else any paused one (the router says which tap:
	 * it is what the packets met, whatever emberd last wrote). */
	for (struct guest *g = a->guests; g; g = g->next) {
		if (g->state != G_PAUSED)
			continue;
		if (!pick || (ev->standby_ifindex && g->ifindex == ev->standby_ifindex))
			pick = g;
	}
	if (pick && !wake_activate(d, pick, ev->ts_ns, recv)) {
		a->wakes++;
		return 0;
	}
	switch (pick ? 0 : wake_restore(d, a, ev->ts_ns, recv)) {
	case 1:
		a->wakes++;
		a->wakes_restore++;
		return 0;
	case 2:
		log_dbg("app %s: wake event while its tier-3 restore runs", app_name(a));
		return 0;
	}
	a->wakes++;
	a->wakes_missed++;
	log_err("app %s: wake with no paused guest to resume and no spare tap to restore on "
		"(the router re-arms)",
		app_name(a));
	return 0;
}

void wake_resumed(struct emberd *d, struct guest *g, const struct ctl_reply *r)
{
	if (!g->wake)
		return;
	g->wake->ok = mono_ns();
	g->wake->running = r->mono_ns;
	if (g->wake->first || g->wake->scale)
		wake_report(d, g);
}

int wake_scale_out(struct emberd *d, struct guest *g)
{
	int rc = wake_activate(d, g, 0, mono_ns());

	if (!rc)
		g->wake->scale = true;
	return rc;
}
