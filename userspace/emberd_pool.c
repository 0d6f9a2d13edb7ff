/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's pool: deploy progress, standby guests, the wake path, idle scale-to-zero, teardown. */
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

static struct eapp *app_by_id(struct emberd *d, uint32_t id)
{
	for (struct eapp *a = d->apps; a; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

static void app_free(struct emberd *d, struct eapp *a);

static const struct app_spec *app_spec(struct emberd *d, const struct eapp *a)
{
	return &app_registry_get(d->reg, a->name)->spec;
}

/* Paused guests kept ready. standby 0 would need a restore on the wake path
 * (tier 3), which is not built: one is kept anyway (docs/emberd.md). */
static unsigned int standby_target(struct emberd *d, const struct eapp *a)
{
	unsigned int n = app_spec(d, a)->standby;

	return n ? n : 1;
}

static unsigned int count(const struct eapp *a, enum guest_state s)
{
	unsigned int n = 0;

	for (const struct guest *g = a->guests; g; g = g->next)
		n += g->state == s;
	return n;
}

static int slot_alloc(struct emberd *d)
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
 * exists (it is live: nothing queues there), else none (packets then drop
 * as NO_TARGET until a clone is ready). A changed standby re-arms the wake.
 */
static void standby_sync(struct emberd *d, struct eapp *a)
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
	want = paused ? paused->ifindex : cur ? cur->ifindex : 0;
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

/* The first paused clone exists: services go into the dataplane. */
static void app_ready(struct emberd *d, struct eapp *a)
{
	const struct app_spec *s = app_spec(d, a);

	for (unsigned int i = 0; i < s->nservices; i++) {
		struct dp_service svc = {.family = s->services[i].family,
					 .port = s->services[i].port,
					 .proto = s->services[i].proto};

		memcpy(svc.vip, s->services[i].vip, 16);
		if (dp_service_add(d->dp, &svc, a->id)) {
			deploy_fail(a, "registering service %u: %s", i, dp_errmsg(d->dp));
			return;
		}
	}
	a->dp_svc = true;
	a->state = APP_READY;
	log_info("app %s: ready (id %u, standby tap ifindex %d)", a->name, a->id,
		 a->standby_ifindex);
}

void pool_boot_done(struct emberd *d, struct guest *g, int status)
{
	struct eapp *a = g->app;
	char state[PATH_MAX + 16];

	if (a->state == APP_REMOVING) {
		if (!a->guests)
			app_free(d, a);
		return;
	}
	snprintf(state, sizeof(state), "%s/snap/state", a->dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) || access(state, R_OK)) {
		deploy_fail(a, "the boot VMM exited with %s %d before a snapshot (see %s/g%u.log)",
			    WIFEXITED(status) ? "status" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), a->dir,
			    g->id);
		return;
	}
	log_info("app %s: snapshot written by guest %u", a->name, g->id);
	if (app_dp_set(d, a, 0)) {
		deploy_fail(a, "dataplane: %s", dp_errmsg(d->dp));
		return;
	}
	if (guest_restore(d, a))
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
	standby_sync(d, a);
	if (a->state == APP_DEPLOYING && a->standby_ifindex)
		app_ready(d, a);
}

static uint64_t us(uint64_t from, uint64_t to)
{
	return to > from ? (to - from) / 1000 : 0;
}

static void wake_report(struct emberd *d, struct guest *g)
{
	struct wake_times *w = g->wake;
	struct eapp *a = g->app;

	log_info("wake app=%s guest=%u tier=paused event->recv=%" PRIu64
		 "us recv->resume_sent=%" PRIu64 "us sent->running=%" PRIu64
		 "us running->ok=%" PRIu64 "us event->first_pkt=%s%" PRIu64 "us",
		 a->name, g->id, us(w->event, w->recv), us(w->recv, w->sent),
		 us(w->sent, w->running), us(w->running, w->ok), w->first ? "" : "none/",
		 us(w->event, w->first));
	a->last_wake = *w;
	free(g->wake);
	g->wake = NULL;
	if (d->fast_ticks && !--d->fast_ticks)
		tick_set(d, EMBERD_TICK_MS);
}

/* Resumes (g) and makes it a live guest. The dataplane entry is written
 * right after the resume command: frames that reach the tap in between
 * queue in the guest's RX ring either way. */
static int guest_activate(struct emberd *d, struct guest *g, uint64_t event, uint64_t recv)
{
	static const uint8_t mac[6] = EMBERD_GUEST_MAC;
	struct dp_guest dg = {.app_id = g->app->id, .tap_ifindex = g->ifindex};
	struct dp_counters c = {0};
	int slot = slot_alloc(d);

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
	memcpy(dg.mac, mac, 6);
	inet_pton(AF_INET, EMBERD_GUEST_IP, dg.ip4);
	if (dp_guest_add(d->dp, (uint32_t)slot, &dg)) {
		log_err("guest %u: dp_guest_add: %s", g->id, dp_errmsg(d->dp));
		d->slot_used[slot] = 0;
		guest_stop(d, g);
		return -EIO;
	}
	dp_guest_counters(d->dp, (uint32_t)slot, &c);
	g->wake->pkts0 = c.packets;
	g->slot = slot;
	g->state = G_LIVE;
	g->live_since = mono_ns();
	d->fast_ticks++;
	tick_set(d, EMBERD_FAST_MS);
	return 0;
}

int pool_wake(void *ctx, const struct dp_wake_event *ev)
{
	uint64_t recv = mono_ns();
	struct emberd *d = ctx;
	struct eapp *a = app_by_id(d, ev->app_id);
	struct guest *pick = NULL;

	if (!a || a->state != APP_READY) {
		log_dbg("wake for app id %u, which is not ready", ev->app_id);
		return 0;
	}
	a->wakes++;
	for (struct guest *g = a->guests; g; g = g->next) {
		if (g->state != G_PAUSED)
			continue;
		if (!pick || g->ifindex == a->standby_ifindex)
			pick = g;
	}
	if (!pick || guest_activate(d, pick, ev->ts_ns, recv)) {
		a->wakes_missed++;
		log_err("app %s: wake with no paused guest to resume (the router re-arms)",
			a->name);
		return 0;
	}
	return 0;
}

void pool_guest_resumed(struct emberd *d, struct guest *g, const char *reply)
{
	const char *m = strstr(reply, "mono_ns=");

	if (!g->wake)
		return;
	g->wake->ok = mono_ns();
	g->wake->running = m ? strtoull(m + 8, NULL, 10) : 0;
	if (g->wake->first)
		wake_report(d, g);
}

/* Idle: out of the live set first, then paused (a standby guest again) if
 * the pool has room, else stopped. */
static void guest_sleep(struct emberd *d, struct eapp *a, struct guest *g)
{
	guest_unroute(d, g);
	if (count(a, G_PAUSED) + count(a, G_RESTORING) < standby_target(d, a) &&
	    !guest_ctl(g, CTL_PAUSE)) {
		g->state = G_PAUSED;
		log_info("app %s: guest %u idle: paused, standby again", a->name, g->id);
	} else {
		guest_stop(d, g);
		log_info("app %s: guest %u idle: stopped (standby pool full)", a->name, g->id);
	}
	standby_sync(d, a);
}

static void tick_live(struct emberd *d, struct eapp *a, struct guest *g, uint64_t now)
{
	const struct app_spec *s = app_spec(d, a);
	struct dp_counters c = {0};
	uint64_t last;

	dp_guest_counters(d->dp, (uint32_t)g->slot, &c);
	if (g->wake) {
		if (!g->wake->first && c.packets > g->wake->pkts0)
			g->wake->first = now;
		if ((g->wake->first && g->wake->ok) ||
		    now - g->wake->recv > EMBERD_FIRST_MAX * 1000000ull)
			wake_report(d, g);
		return;
	}
	last = c.last_seen_ns > g->live_since ? c.last_seen_ns : g->live_since;
	if (now > last && now - last > s->idle_timeout_ms * 1000000ull &&
	    count(a, G_LIVE) > s->min_instances)
		guest_sleep(d, a, g);
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
	/* Refills wait until no wake of the app is in flight: a restore costs
	 * CPU the waking guest needs. One restore at a time. */
	if (waking || count(a, G_RESTORING) || a->failures >= EMBERD_RETRY_MAX)
		return;
	if (count(a, G_PAUSED) < standby_target(d, a)) {
		guest_restore(d, a);
		return;
	}
	if (count(a, G_LIVE) < app_spec(d, a)->min_instances) {
		for (struct guest *g = a->guests; g; g = g->next)
			if (g->state == G_PAUSED) {
				guest_activate(d, g, 0, now);
				break;
			}
	}
}

/* A boot that never reaches its ready point (a hung guest) fails the deploy. */
static void tick_deploy(struct emberd *d, struct eapp *a, uint64_t now)
{
	for (struct guest *g = a->guests; g; g = g->next) {
		if (g->state != G_BOOTING || now - g->started < EMBERD_BOOT_MAX * 1000000000ull)
			continue;
		deploy_fail(a, "no snapshot %u s after the boot started (see %s/boot.console)",
			    EMBERD_BOOT_MAX, a->dir);
		guest_stop(d, g);
	}
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
}

static void app_free(struct emberd *d, struct eapp *a)
{
	if (a->dp_app && dp_app_del(d->dp, a->id))
		log_err("app %s: dp_app_del: %s", a->name, dp_errmsg(d->dp));
	app_registry_del(d->reg, a->name);
	for (struct eapp **p = &d->apps; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	log_info("app %s: removed", a->name);
	free(a);
}

void pool_guest_exited(struct emberd *d, struct guest *g, int status)
{
	struct eapp *a = g->app;

	guest_unroute(d, g);
	if (g->wake && d->fast_ticks && !--d->fast_ticks)
		tick_set(d, EMBERD_TICK_MS);
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
	standby_sync(d, a);
}

static void services_del(struct emberd *d, struct eapp *a)
{
	const struct app_spec *s = app_spec(d, a);

	if (!a->dp_svc)
		return;
	for (unsigned int i = 0; i < s->nservices; i++) {
		struct dp_service svc = {.family = s->services[i].family,
					 .port = s->services[i].port,
					 .proto = s->services[i].proto};

		memcpy(svc.vip, s->services[i].vip, 16);
		dp_service_del(d->dp, &svc);
	}
	a->dp_svc = false;
}

void pool_remove_app(struct emberd *d, struct eapp *a)
{
	services_del(d, a);
	a->state = APP_REMOVING;
	for (struct guest *g = a->guests; g; g = g->next) {
		guest_unroute(d, g);
		if (g->wake && d->fast_ticks && !--d->fast_ticks)
			tick_set(d, EMBERD_TICK_MS);
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
		a->state = APP_REMOVING;
		for (struct guest *g = a->guests; g; g = g->next)
			guest_unroute(d, g);
		guest_reap_all(d, a);
		app_free(d, a);
	}
}
