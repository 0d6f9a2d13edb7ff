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

struct eapp *pool_app_by_name(struct emberd *d, const char *name)
{
	for (struct eapp *a = d->apps; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

struct eapp *pool_app_by_id(struct emberd *d, uint32_t id)
{
	for (struct eapp *a = d->apps; a; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

static void app_free(struct emberd *d, struct eapp *a);

static const struct app_spec *app_spec(const struct eapp *a)
{
	return &a->entry->spec;
}

/* Paused guests kept ready; 0: none, a wake restores one (tier 3). */
static unsigned int standby_target(const struct eapp *a)
{
	return app_spec(a)->standby;
}

unsigned int pool_count(const struct eapp *a, enum guest_state s)
{
	unsigned int n = 0;

	for (const struct guest *g = a->guests; g; g = g->next)
		n += g->state == s;
	return n;
}

int pool_slot_alloc(struct emberd *d)
{
	for (int i = 0; i < EMBER_MAX_GUESTS; i++) {
		if (!d->slot_used[i]) {
			d->slot_used[i] = 1;
			return i;
		}
	}
	return -1;
}

/* Takes (g) out of the dataplane's live set and frees its slot. */
static void guest_unroute(struct emberd *d, struct guest *g)
{
	if (g->slot < 0)
		return;
	meter_guest_unroute(d, g);
	if (dp_guest_del(d->dp, (uint32_t)g->slot))
		log_err("guest %u: dp_guest_del: %s", g->id, dp_errmsg(d->dp));
	d->slot_used[g->slot] = 0;
	g->slot = -1;
}

static int app_dp_set(struct emberd *d, struct eapp *a, int standby)
{
	static const uint8_t mac[6] = EMBERD_GUEST_MAC;
	struct dp_app cfg = {.standby_ifindex = standby};

	memcpy(cfg.guest_mac, mac, 6);
	inet_pton(AF_INET, EMBERD_GUEST_IP, cfg.guest_ip4);
	inet_pton(AF_INET6, EMBERD_GUEST_IP6, cfg.guest_ip6);
	if (dp_app_set(d->dp, a->id, &cfg)) {
		log_err("app %s: dp_app_set: %s", a->name, dp_errmsg(d->dp));
		return -EIO;
	}
	a->dp_app = true;
	a->standby_ifindex = standby;
	return 0;
}

/*
 * Keeps the app's standby tap on a paused guest: the current one while it is
 * paused, else any paused one; with none, the current tap while its guest
 * exists (live, or a tier-3 restore on the spare tap), else the spare tap
 * (standby 0), else none (packets then drop as NO_TARGET until a clone is
 * ready). A changed standby re-arms the wake.
 */
void pool_standby_sync(struct emberd *d, struct eapp *a)
{
	struct guest *cur = NULL, *paused = NULL;
	int want;

	if (!a->dp_app || a->state == APP_REMOVING)
		return;
	for (struct guest *g = a->guests; g; g = g->next) {
		if (g->ifindex == a->standby_ifindex && g->state != G_STOPPING)
			cur = g;
		if (g->state == G_PAUSED && !paused)
			paused = g;
	}
	if (cur && cur->state == G_PAUSED)
		return;
	want = paused ? paused->ifindex : cur ? cur->ifindex : a->spare_ifindex;
	if (want == a->standby_ifindex)
		return;
	if (app_dp_set(d, a, want))
		return;
	dp_app_rearm(d->dp, a->id);
	log_dbg("app %s: standby tap now ifindex %d", a->name, want);
}

static void deploy_fail(struct eapp *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void deploy_fail(struct eapp *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
	a->state = APP_FAILED;
	log_err("app %s: deploy failed: %s", a->name, a->error);
}

struct dp_service pool_dp_service(const struct app_service *x)
{
	struct dp_service svc = {.family = x->family, .port = x->port, .proto = x->proto};

	memcpy(svc.vip, x->vip, 16);
	return svc;
}

int pool_services_add(struct emberd *d, struct eapp *a)
{
	const struct app_spec *s = app_spec(a);

	for (unsigned int i = 0; i < s->nservices; i++) {
		struct dp_service svc = pool_dp_service(&s->services[i]);

		if (dp_service_add(d->dp, &svc, a->id)) {
			log_err("app %s: registering service %u: %s", a->name, i, dp_errmsg(d->dp));
			return -EIO;
		}
	}
	a->dp_svc = true;
	return 0;
}

static void app_ready(struct emberd *d, struct eapp *a)
{
	if (pool_services_add(d, a)) {
		deploy_fail(a, "registering its services: %s", dp_errmsg(d->dp));
		return;
	}
	a->state = APP_READY;
	a->last_used = mono_ns();
	state_app_save(a);
	log_info("app %s: ready (id %u, standby tap ifindex %d)", a->name, a->id,
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
		if (a->prev)
			version_fail(d, a, why);
		else
			deploy_fail(a, "%s", why);
		return;
	}
	log_info("app %s: snapshot of version %" PRIu64 " written by guest %u", a->name, g->version,
		 g->id);
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

void pool_guest_paused(struct emberd *d, struct guest *g)
{
	struct eapp *a = g->app;

	if (g->state == G_RESTORING) {
		a->failures = 0;
		log_dbg("app %s: guest %u restored and paused", a->name, g->id);
	}
	g->state = G_PAUSED;
	if (g->t3_recv) { /* a wake waits for this clone (tier 3): resume it now */
		uint64_t event = g->t3_event, recv = g->t3_recv;

		g->t3_recv = 0;
		if (!guest_activate(d, g, event, recv)) {
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
	pool_standby_sync(d, a);
	if (a->state == APP_DEPLOYING && a->standby_ifindex)
		app_ready(d, a);
}

int pool_activate_scale(struct emberd *d, struct guest *g)
{
	int rc = guest_activate(d, g, 0, mono_ns());

	if (!rc)
		g->wake->scale = true;
	return rc;
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
		} else if (g->state == G_LIVE && guest_route(d, g, g->slot)) {
			guest_stop(d, g);
		}
	}
	a->prune = true;
	pool_standby_sync(d, a);
	app_ready(d, a);
}

/* Idle: out of the live set first, then paused (a standby guest again) if
 * the pool has room, else stopped. */
void pool_guest_sleep(struct emberd *d, struct eapp *a, struct guest *g)
{
	guest_unroute(d, g);
	if (pool_count(a, G_PAUSED) + pool_count(a, G_RESTORING) < standby_target(a) &&
	    !guest_ctl(g, CTL_PAUSE)) {
		g->state = G_PAUSED;
		state_guest_save(d, g);
		log_info("app %s: guest %u idle: paused, standby again", a->name, g->id);
	} else {
		guest_stop(d, g);
		log_info("app %s: guest %u idle: stopped (standby pool full)", a->name, g->id);
	}
	pool_standby_sync(d, a);
}

static void tick_live(struct emberd *d, struct eapp *a, struct guest *g, uint64_t now)
{
	const struct app_spec *s = app_spec(a);
	struct dp_counters c = {0};
	uint64_t last;

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
	if (now > last && now - last > s->idle_timeout_ms * 1000000ull &&
	    pool_count(a, G_LIVE) > s->min_instances)
		pool_guest_sleep(d, a, g);
}

/*
 * Paused guests beyond the standby count (after a scale-in, a lowered
 * standby, or standby 0's first clone) are stopped, one per tick, the
 * standby tap's own last. An app with standby 0 gets its spare tap first,
 * so it always has somewhere for a wake's packets to wait.
 */
static void pool_trim(struct emberd *d, struct eapp *a)
{
	unsigned int want = standby_target(a);
	struct guest *victim = NULL;

	if ((!want || a->evicted) && a->spare_fd < 0 && spare_tap_open(d, a))
		return;
	if (a->evicted && want && pool_count(a, G_PAUSED) >= want)
		a->evicted = false; /* the pool is full again */
	if (pool_count(a, G_PAUSED) <= want)
		return;
	for (struct guest *g = a->guests; g; g = g->next)
		if (g->state == G_PAUSED && (!victim || victim->ifindex == a->standby_ifindex))
			victim = g;
	guest_stop(d, victim);
	log_info("app %s: guest %u stopped: %u paused guests, standby %u", a->name, victim->id,
		 pool_count(a, G_PAUSED) + 1, want);
	pool_standby_sync(d, a);
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
			log_err("app %s: guest %u not paused after %u s: stopped", a->name, g->id,
				EMBERD_RESTORE_MAX);
			a->failures++;
			guest_stop(d, g);
		}
		waking |= g->wake != NULL;
	}
	autoscale(d, a, now);
	version_tick(d, a, now);
	/* Out of paused guests (a burst of wakes, scale-outs): a spare tap, so
	 * that a wake before the refill restores a clone instead of missing. */
	if (!pool_count(a, G_PAUSED) && a->spare_fd < 0 && !spare_tap_open(d, a))
		pool_standby_sync(d, a);
	/* Refills wait until no wake of the app is in flight: a restore costs
	 * CPU the waking guest needs. One restore at a time. */
	if (waking || pool_count(a, G_RESTORING) || a->failures >= EMBERD_RETRY_MAX)
		return;
	if (pool_count(a, G_PAUSED) < standby_target(a) && !d->mem_low) {
		guest_restore(d, a, false);
		return;
	}
	pool_trim(d, a);
	if (pool_count(a, G_LIVE) < app_spec(a)->min_instances) {
		for (struct guest *g = a->guests; g; g = g->next)
			if (g->state == G_PAUSED) {
				if (!guest_activate(d, g, 0, now))
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
	tick_update(d);
}

static void app_free(struct emberd *d, struct eapp *a)
{
	spare_tap_close(a);
	if (a->dp_app && dp_app_del(d->dp, a->id))
		log_err("app %s: dp_app_del: %s", a->name, dp_errmsg(d->dp));
	app_registry_del(d->reg, a->name);
	for (struct eapp **p = &d->apps; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	if (a->deleted)
		state_app_dir_remove(a);
	log_info("app %s: removed", a->name);
	free(a);
}

static void pool_guest_exited(struct emberd *d, struct guest *g, int status)
{
	struct eapp *a = g->app;

	meter_guest_exited(d, g);

	guest_unroute(d, g);
	if (g->wake && d->fast_ticks)
		d->fast_ticks--; /* the next tick picks its period again */
	if (g->state != G_STOPPING) {
		log_err("app %s: guest %u (%s) exited unexpectedly (wait status 0x%x; see "
			"%s/g%u.log)",
			a->name, g->id, guest_state_name(g->state), status, a->dir, g->id);
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
	pool_standby_sync(d, a);
}

static void services_del(struct emberd *d, struct eapp *a)
{
	const struct app_spec *s = app_spec(a);

	if (!a->dp_svc)
		return;
	for (unsigned int i = 0; i < s->nservices; i++) {
		struct dp_service svc = pool_dp_service(&s->services[i]);

		dp_service_del(d->dp, &svc);
	}
	a->dp_svc = false;
}

void pool_remove_app(struct emberd *d, struct eapp *a)
{
	state_app_forget(a);
	a->deleted = true;
	services_del(d, a);
	a->state = APP_REMOVING;
	for (struct guest *g = a->guests; g; g = g->next) {
		guest_unroute(d, g);
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

		services_del(d, a);
		meter_save(a); /* its guests stop now: they count as gone at the next start */
		a->state = APP_REMOVING;
		for (struct guest *g = a->guests; g; g = g->next)
			guest_unroute(d, g);
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
	.resumed = pool_guest_resumed,
	.ctl_failed = pool_ctl_failed,
	.exited = pool_guest_exited,
	.app_adopted = pool_app_adopted,
};
