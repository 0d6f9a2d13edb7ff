/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's pool: deploy progress, standby guests, refills, idle scale-to-zero, teardown. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emberd.h"

static void app_free(struct emberd *d, struct eapp *a);

static void deploy_fail(struct eapp *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void deploy_fail(struct eapp *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
	a->state = APP_FAILED;
	log_err("app %s: deploy failed: %s", app_name(a), a->error);
}

static void app_ready(struct emberd *d, struct eapp *a)
{
	if (app_services_add(d, a)) {
		deploy_fail(a, "registering its services: %s", dp_errmsg(d->dp));
		return;
	}
	a->state = APP_READY;
	a->last_used = mono_ns();
	state_app_save(a);
	log_info("app %s: ready (id %u, standby tap ifindex %d)", app_name(a), app_id(a),
		 a->standby_ifindex);
}

/* pool_events.boot_done: a deploy (or a redeploy) has its snapshot, or failed. */
static void pool_boot_done(struct emberd *d, struct guest *g, int status)
{
	struct eapp *a = g->app;

	meter_guest_exited(d, g);
	char snap[PATH_MAX + 32], state[PATH_MAX + 48];

	if (a->state == APP_REMOVING) {
		if (!a->guests)
			app_free(d, a);
		return;
	}
	app_snap_dir(a, g->version, snap, sizeof(snap));
	snprintf(state, sizeof(state), "%s/state", snap);
	if (!WIFEXITED(status) || WEXITSTATUS(status) || access(state, R_OK)) {
		char why[PATH_MAX + 128];

		snprintf(why, sizeof(why),
			 "the boot VMM exited with %s %d before a snapshot (see %s/g%u.log)",
			 WIFEXITED(status) ? "status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), a->dir, g->id);
		/* Once more, as a failed restore is: a boot costs seconds, and a
		 * transient failure (under nested TCG a guest now and then resets
		 * before its first console byte, docs/testing.md) should not fail
		 * a deploy; a bad image fails the second boot the same way. */
		if (a->boot_failures++ < EMBERD_BOOT_RETRIES) {
			log_err("app %s: %s: booting again", app_name(a), why);
			if (!guest_boot(d, a))
				return;
		}
		a->boot_failures = 0;
		if (a->prev)
			version_fail(d, a, why);
		else
			deploy_fail(a, "%s", why);
		return;
	}
	a->boot_failures = 0;
	log_info("app %s: snapshot of version %" PRIu64 " written by guest %u", app_name(a),
		 g->version, g->id);
	if (a->prev) {
		version_boot_done(d, a, g->version);
		return;
	}
	if (app_dp_set(d, a, 0)) {
		deploy_fail(a, "dataplane: %s", dp_errmsg(d->dp));
		return;
	}
	if (guest_restore(d, a, false))
		deploy_fail(a, "cannot start a paused clone");
}

static void pool_guest_paused(struct emberd *d, struct guest *g)
{
	struct eapp *a = g->app;

	if (g->state == G_RESTORING) {
		a->failures = 0;
		log_dbg("app %s: guest %u restored and paused", app_name(a), g->id);
	}
	g->state = G_PAUSED;
	if (g->t3_recv) { /* a wake waits for this clone (tier 3): resume it now */
		uint64_t event = g->t3_event, recv = g->t3_recv;

		g->t3_recv = 0;
		if (!wake_activate(d, g, event, recv)) {
			g->wake->restore = g->started;
			g->wake->restored = mono_ns();
			return;
		}
	}
	state_guest_save(d, g);
	if (a->switching && g->version == a->version) {
		version_switch(d, a, g);
		return;
	}
	app_standby_sync(d, a);
	if (a->state == APP_DEPLOYING && a->standby_ifindex)
		app_ready(d, a);
}

/* pool_events.app_adopted: its routes and standby pool as the recorded state says. */
static void pool_app_adopted(struct emberd *d, struct eapp *a)
{
	meter_restore(a);
	if (app_dp_set(d, a, 0)) {
		deploy_fail(a, "dataplane: %s", dp_errmsg(d->dp));
		return;
	}
	/* Live guests are normally still in the pinned live set: re-adding
	 * them is a no-op then, and repairs a set that lost them. Guests of an
	 * older version (a switch was under way) drain or stop. */
	for (struct guest *g = a->guests; g; g = g->next) {
		if (g->version != a->version && g->state == G_PAUSED) {
			guest_stop(d, g);
		} else if (g->version != a->version && g->state == G_LIVE) {
			dp_guest_drain(d->dp, (uint32_t)g->slot);
			g->state = G_DRAINING;
			g->drain_since = mono_ns();
		} else if (g->state == G_LIVE && app_route_guest(d, g, g->slot)) {
			guest_stop(d, g);
		}
	}
	a->prune = true;
	app_standby_sync(d, a);
	app_ready(d, a);
}

static void tick_live(struct emberd *d, struct eapp *a, struct guest *g, uint64_t now)
{
	const struct app_spec *s = app_spec_of(a);
	struct dp_counters c = {0};
	uint64_t last, flows;

	dp_guest_counters(d->dp, (uint32_t)g->slot, &c);
	if (g->wake) {
		if (!g->wake->first && c.packets > g->wake->pkts0)
			g->wake->first = now;
		if (((g->wake->first || g->wake->scale) && g->wake->ok) ||
		    now - g->wake->recv > EMBERD_FIRST_MAX * 1000000ull)
			wake_report(d, g);
		return;
	}
	last = c.last_seen_ns > g->live_since ? c.last_seen_ns : g->live_since;
	if (now <= last || now - last <= s->idle_timeout_ms * 1000000ull ||
	    app_count(a, G_LIVE) <= s->min_instances)
		return;
	/* Silence is not idleness while a connection is open: a request the
	 * guest is still working on sends nothing until its answer. Such a
	 * guest sleeps only after EMBERD_BUSY_IDLE_MS without a packet (a
	 * client gone without FIN or RST must not pin it live for ever). The
	 * map is read only for a guest silent past its idle timeout. */
	if (now - last <= EMBERD_BUSY_IDLE_MS * 1000000ull && !app_guest_flows(d, g, &flows) &&
	    flows)
		return;
	app_guest_sleep(d, a, g);
}

/*
 * Paused guests beyond the standby count (after a scale-in, a lowered
 * standby, or standby 0's first clone) are stopped, one per tick, the
 * standby tap's own last. An app with standby 0 gets its spare tap first,
 * so it always has somewhere for a wake's packets to wait.
 */
static void pool_trim(struct emberd *d, struct eapp *a)
{
	unsigned int want = app_spec_of(a)->standby;
	struct guest *victim = NULL;

	if ((!want || a->evicted) && a->spare_fd < 0 && spare_tap_open(d, a))
		return;
	if (a->evicted && want && app_count(a, G_PAUSED) >= want)
		a->evicted = false; /* the pool is full again */
	if (app_count(a, G_PAUSED) <= want)
		return;
	for (struct guest *g = a->guests; g; g = g->next)
		if (g->state == G_PAUSED && (!victim || victim->ifindex == a->standby_ifindex))
			victim = g;
	guest_stop(d, victim);
	log_info("app %s: guest %u stopped: %u paused guests, standby %u", app_name(a), victim->id,
		 app_count(a, G_PAUSED) + 1, want);
	app_standby_sync(d, a);
}

static void tick_app(struct emberd *d, struct eapp *a, uint64_t now)
{
	bool waking = false;

	for (struct guest *g = a->guests, *nx; g; g = nx) {
		nx = g->next;
		if (g->state == G_LIVE)
			tick_live(d, a, g, now);
		if (g->state == G_RESTORING &&
		    now - g->started > EMBERD_RESTORE_MAX * 1000000000ull) {
			log_err("app %s: guest %u not paused after %u s: stopped", app_name(a),
				g->id, EMBERD_RESTORE_MAX);
			a->failures++;
			guest_stop(d, g);
		}
		waking |= g->wake != NULL;
	}
	autoscale(d, a, now);
	version_tick(d, a, now);
	/* Out of paused guests (a burst of wakes, scale-outs): a spare tap, so
	 * that a wake before the refill restores a clone instead of missing. */
	if (!app_count(a, G_PAUSED) && a->spare_fd < 0 && !spare_tap_open(d, a))
		app_standby_sync(d, a);
	/* Refills wait until no wake of the app is in flight: a restore costs
	 * CPU the waking guest needs. One restore at a time. */
	if (waking || app_count(a, G_RESTORING) || a->failures >= EMBERD_RETRY_MAX)
		return;
	if (app_count(a, G_PAUSED) < app_spec_of(a)->standby && !d->mem_low) {
		guest_restore(d, a, false);
		return;
	}
	pool_trim(d, a);
	if (app_count(a, G_LIVE) < app_spec_of(a)->min_instances) {
		for (struct guest *g = a->guests; g; g = g->next)
			if (g->state == G_PAUSED) {
				if (!wake_activate(d, g, 0, now))
					g->wake->scale = true;
				break;
			}
	}
}

/*
 * A boot that never reaches its ready point (a hung guest) fails the deploy.
 * A first clone that failed (exited while it restored, or was stopped for its
 * control replies) is followed by another, until EMBERD_RETRY_MAX failures
 * in a row fail the deploy (counted where they happen).
 */
static void tick_deploy(struct emberd *d, struct eapp *a, uint64_t now)
{
	for (struct guest *g = a->guests; g; g = g->next) {
		if (g->state != G_BOOTING || now - g->started < EMBERD_BOOT_MAX * 1000000000ull)
			continue;
		deploy_fail(a, "no snapshot %u s after the boot started (see %s/boot.console)",
			    EMBERD_BOOT_MAX, a->dir);
		guest_stop(d, g);
	}
	if (a->state == APP_DEPLOYING && !a->guests && a->failures &&
	    a->failures < EMBERD_RETRY_MAX && guest_restore(d, a, false))
		deploy_fail(a, "cannot start a paused clone");
}

void pool_tick(struct emberd *d)
{
	uint64_t now = mono_ns();

	for (struct eapp *a = d->apps; a; a = a->next) {
		if (a->state == APP_READY)
			tick_app(d, a, now);
		else if (a->state == APP_DEPLOYING)
			tick_deploy(d, a, now);
	}
	mem_tick(d, now);
	meter_tick(d);
	wake_tick_update(d);
}

static void app_free(struct emberd *d, struct eapp *a)
{
	spare_tap_close(a);
	if (a->dp_app && dp_app_del(d->dp, app_id(a)))
		log_err("app %s: dp_app_del: %s", app_name(a), dp_errmsg(d->dp));
	for (struct eapp **p = &d->apps; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	if (a->deleted)
		state_app_dir_remove(a);
	log_info("app %s: removed", app_name(a));
	app_registry_del(d->reg, app_name(a)); /* last: the name is the entry's */
	free(a);
}

static void pool_guest_exited(struct emberd *d, struct guest *g, int status)
{
	struct eapp *a = g->app;

	meter_guest_exited(d, g);

	app_unroute_guest(d, g);
	if (g->wake && d->fast_ticks)
		d->fast_ticks--; /* the next tick picks its period again */
	if (g->state != G_STOPPING) {
		log_err("app %s: guest %u (%s) exited unexpectedly (wait status 0x%x; see "
			"%s/g%u.log)",
			app_name(a), g->id, guest_state_name(g->state), status, a->dir, g->id);
		if (g->state == G_RESTORING && ++a->failures >= EMBERD_RETRY_MAX &&
		    a->state == APP_DEPLOYING)
			deploy_fail(a, "%u restores in a row failed", a->failures);
	}
	if (a->state == APP_REMOVING) {
		if (!a->guests)
			app_free(d, a);
		return;
	}
	g->state = G_STOPPING; /* not a candidate for standby_sync any more */
	g->ifindex = 0;
	app_standby_sync(d, a);
}

void pool_remove_app(struct emberd *d, struct eapp *a)
{
	state_app_forget(a);
	a->deleted = true;
	app_services_del(d, a);
	a->state = APP_REMOVING;
	for (struct guest *g = a->guests; g; g = g->next) {
		app_unroute_guest(d, g);
		if (g->wake && d->fast_ticks)
			d->fast_ticks--;
		free(g->wake);
		g->wake = NULL;
		guest_stop(d, g);
	}
	if (!a->guests)
		app_free(d, a);
}

void pool_shutdown(struct emberd *d)
{
	while (d->apps) {
		struct eapp *a = d->apps;

		app_services_del(d, a);
		meter_save(a); /* its guests stop now: they count as gone at the next start */
		a->state = APP_REMOVING;
		for (struct guest *g = a->guests; g; g = g->next)
			app_unroute_guest(d, g);
		guest_reap_all(d, a);
		app_free(d, a);
	}
}

/* pool_events.ctl_failed: a failed restore, like a VMM that exits while it restores. */
static void pool_ctl_failed(struct emberd *d, struct guest *g, const char *why)
{
	struct eapp *a = g->app;

	if (g->state == G_RESTORING && ++a->failures >= EMBERD_RETRY_MAX &&
	    a->state == APP_DEPLOYING)
		deploy_fail(a, "%u restores in a row failed, the last: %s", a->failures, why);
	guest_stop(d, g);
}

/* How the supervision layer's reports reach the pool (struct guest_events). */
const struct guest_events pool_events = {
	.boot_done = pool_boot_done,
	.paused = pool_guest_paused,
	.resumed = wake_resumed,
	.ctl_failed = pool_ctl_failed,
	.exited = pool_guest_exited,
	.app_adopted = pool_app_adopted,
};
