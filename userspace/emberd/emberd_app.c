/* SPDX-License-Identifier: Apache-2.0 */
/* An app's guests as the dataplane sees them: lookups, counts, slots, routes, standby tap,
 * services. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "emberd.h"

struct eapp *app_by_name(struct emberd *d, const char *name)
{
	for (struct eapp *a = d->apps; a; a = a->next)
		if (!strcmp(app_name(a), name))
			return a;
	return NULL;
}

struct eapp *app_by_id(struct emberd *d, uint32_t id)
{
	for (struct eapp *a = d->apps; a; a = a->next)
		if (app_id(a) == id)
			return a;
	return NULL;
}

unsigned int app_count(const struct eapp *a, enum guest_state s)
{
	unsigned int n = 0;

	for (const struct guest *g = a->guests; g; g = g->next)
		n += g->state == s;
	return n;
}

int app_slot_alloc(struct emberd *d)
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
void app_unroute_guest(struct emberd *d, struct guest *g)
{
	if (g->slot < 0)
		return;
	meter_guest_unroute(d, g);
	if (dp_guest_del(d->dp, (uint32_t)g->slot))
		log_err("guest %u: dp_guest_del: %s", g->id, dp_errmsg(d->dp));
	d->slot_used[g->slot] = 0;
	g->slot = -1;
}

/* (g) into its app's live set in the dataplane, on (slot). */
int app_route_guest(struct emberd *d, struct guest *g, int slot)
{
	static const uint8_t mac[6] = EMBERD_GUEST_MAC;
	struct dp_guest dg = {.app_id = app_id(g->app), .tap_ifindex = g->ifindex};

	memcpy(dg.mac, mac, 6);
	inet_pton(AF_INET, EMBERD_GUEST_IP, dg.ip4);
	inet_pton(AF_INET6, EMBERD_GUEST_IP6, dg.ip6);
	meter_guest_route(d, g, slot);
	if (dp_guest_add(d->dp, (uint32_t)slot, &dg)) {
		log_err("guest %u: dp_guest_add: %s", g->id, dp_errmsg(d->dp));
		return -EIO;
	}
	return 0;
}

int app_dp_set(struct emberd *d, struct eapp *a, int standby)
{
	static const uint8_t mac[6] = EMBERD_GUEST_MAC;
	struct dp_app cfg = {.standby_ifindex = standby};

	memcpy(cfg.guest_mac, mac, 6);
	inet_pton(AF_INET, EMBERD_GUEST_IP, cfg.guest_ip4);
	inet_pton(AF_INET6, EMBERD_GUEST_IP6, cfg.guest_ip6);
	if (dp_app_set(d->dp, app_id(a), &cfg)) {
		log_err("app %s: dp_app_set: %s", app_name(a), dp_errmsg(d->dp));
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
void app_standby_sync(struct emberd *d, struct eapp *a)
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
	dp_app_rearm(d->dp, app_id(a));
	log_dbg("app %s: standby tap now ifindex %d", app_name(a), want);
}

struct dp_service app_dp_service(const struct app_service *x)
{
	struct dp_service svc = {.family = x->family, .port = x->port, .proto = x->proto};

	memcpy(svc.vip, x->vip, 16);
	return svc;
}

int app_services_add(struct emberd *d, struct eapp *a)
{
	const struct app_spec *s = app_spec_of(a);

	for (unsigned int i = 0; i < s->nservices; i++) {
		struct dp_service svc = app_dp_service(&s->services[i]);

		if (dp_service_add(d->dp, &svc, app_id(a))) {
			log_err("app %s: registering service %u: %s", app_name(a), i,
				dp_errmsg(d->dp));
			return -EIO;
		}
	}
	a->dp_svc = true;
	return 0;
}

void app_services_del(struct emberd *d, struct eapp *a)
{
	const struct app_spec *s = app_spec_of(a);

	if (!a->dp_svc)
		return;
	for (unsigned int i = 0; i < s->nservices; i++) {
		struct dp_service svc = app_dp_service(&s->services[i]);

		dp_service_del(d->dp, &svc);
	}
	a->dp_svc = false;
}

/* Idle: out of the live set first, then paused (a standby guest again) if
 * the pool has room, else stopped. */
void app_guest_sleep(struct emberd *d, struct eapp *a, struct guest *g)
{
	app_unroute_guest(d, g);
	if (app_count(a, G_PAUSED) + app_count(a, G_RESTORING) < app_spec_of(a)->standby &&
	    !guest_ctl(g, CTL_PAUSE)) {
		g->state = G_PAUSED;
		state_guest_save(d, g);
		log_info("app %s: guest %u idle: paused, standby again", app_name(a), g->id);
	} else {
		guest_stop(d, g);
		log_info("app %s: guest %u idle: stopped (standby pool full)", app_name(a), g->id);
	}
	app_standby_sync(d, a);
}

/* The router's count of open TCP flows on (g)'s slot: the autoscaler's load,
 * shown by the API and the metrics too. */
int app_guest_flows(struct emberd *d, const struct guest *g, uint64_t *n)
{
	if (g->slot >= 0 && !dp_guest_load(d->dp, (uint32_t)g->slot, n))
		return 0;
	*n = 0;
	return -1;
}
