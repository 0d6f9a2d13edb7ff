/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's redeploy: a new version boots and snapshots beside the old one, takes over, old guests
 * drain. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emberd.h"

/*
 * PUT /v1/apps/NAME on a ready app (docs/emberd.md, Redeploy):
 *
 * 1. version_deploy: the registry takes the new spec (version + 1), the old
 *    one is kept in a->prev; the new version boots to its ready point and
 *    snapshots into snap-vN, while the old version's guests go on serving
 *    (wakes, refills, idle, autoscaling all unchanged).
 * 2. version_boot_done: clones are restored from the new snapshot from now
 *    on (a->version); the first one is restored paused.
 * 3. version_switch, once it is paused: services move to the new spec's;
 *    if old guests were live, the new clone goes live at once (new flows go
 *    to it: the router picks among live guests only); old paused guests
 *    stop; old live guests *drain*: out of the live set, slot and tap kept,
 *    so their established flows still reach them.
 * 4. version_tick: a draining guest stops when its active flows are 0, or
 *    after EMBERD_DRAIN_MAX_MS; an old snapshot is removed once no guest
 *    runs from it.
 *
 * A failure before the switch (boot, snapshot, first restore) puts the old
 * spec and version back: the app keeps serving the old version, with the
 * reason in its `error`.
 */

int version_deploy(struct emberd *d, struct eapp *a, const struct app_spec *spec, const char *run,
		   size_t runlen, struct app_err *err)
{
	struct app_entry *e = a->entry;
	const struct app_entry *ne;
	struct app_spec *prev;
	int rc;

	if (a->state != APP_READY || a->prev) {
		app_fail(err, "", "app %s is %s: a new version can be deployed once it is ready",
			 app_name(a), a->prev ? "deploying a new version" : "not ready");
		return -EBUSY;
	}
	prev = malloc(sizeof(*prev));
	if (!prev) {
		app_fail(err, "", "out of memory");
		return -ENOMEM;
	}
	*prev = e->spec;
	a->prev_version = e->version;
	rc = app_registry_replace(d->reg, spec, &ne, err);
	if (rc) {
		free(prev);
		return rc;
	}
	a->prev = prev;
	a->error[0] = 0;
	rc = state_snap_prepare(a, ne->version);
	if (!rc && run) {
		char snap[PATH_MAX + 32];

		app_snap_dir(a, ne->version, snap, sizeof(snap));
		rc = image_app_initrd(d, &a->entry->spec, snap, run, runlen, a->error,
				      sizeof(a->error));
	}
	if (!rc)
		rc = guest_boot(d, a);
	if (rc) {
		version_fail(d, a, a->error[0] ? a->error : strerror(-rc));
		app_fail(err, "", "%s", a->error);
		return -EIO;
	}
	log_info("app %s: deploying version %" PRIu64 " (version %" PRIu64 " serves meanwhile)",
		 app_name(a), ne->version, a->prev_version);
	return 0;
}

void version_fail(struct emberd *d, struct eapp *a, const char *why)
{
	struct app_entry *e = a->entry;
	uint64_t failed = e->version;

	snprintf(a->error, sizeof(a->error), "version %" PRIu64 " not deployed: %.200s", failed,
		 why);
	log_err("app %s: %s; version %" PRIu64 " goes on serving", app_name(a), a->error,
		a->prev_version);
	e->spec = *a->prev;
	e->version = a->prev_version;
	a->version = a->prev_version;
	a->switching = false;
	free(a->prev);
	a->prev = NULL;
	/* Its guests (a boot or restore still running) stop; prune removes
	 * the snapshot once they are gone. */
	for (struct guest *g = a->guests; g; g = g->next)
		if (g->version == failed)
			guest_stop(d, g);
	a->prune = true;
}

void version_boot_done(struct emberd *d, struct eapp *a, uint64_t version)
{
	a->version = version;
	a->switching = true;
	if (guest_restore(d, a, false))
		version_fail(d, a, "cannot start a paused clone of the new snapshot");
}

/* The old spec's services the new one does not have go; the new ones are
 * added (an unchanged one is rewritten in place: never missing). */
static void services_switch(struct emberd *d, struct eapp *a)
{
	const struct app_spec *now = &a->entry->spec;

	for (unsigned int i = 0; i < a->prev->nservices; i++) {
		bool kept = false;

		for (unsigned int j = 0; j < now->nservices && !kept; j++)
			kept = app_service_equal(&a->prev->services[i], &now->services[j]);
		if (!kept) {
			struct dp_service svc = app_dp_service(&a->prev->services[i]);

			dp_service_del(d->dp, &svc);
		}
	}
	if (app_services_add(d, a))
		log_err("app %s: the new version's services: %s", app_name(a), dp_errmsg(d->dp));
}

void version_switch(struct emberd *d, struct eapp *a, struct guest *g)
{
	uint64_t now = mono_ns();
	unsigned int live = 0, drained = 0;

	a->switching = false;
	services_switch(d, a);
	for (struct guest *x = a->guests; x; x = x->next)
		live += x->version != a->version && x->state == G_LIVE;
	if (live && wake_scale_out(d, g))
		log_err("app %s: the new version's guest %u did not go live", app_name(a), g->id);
	for (struct guest *x = a->guests; x; x = x->next) {
		if (x->version == a->version)
			continue;
		if (x->state == G_PAUSED || x->state == G_RESTORING) {
			guest_stop(d, x);
		} else if (x->state == G_LIVE) {
			if (dp_guest_drain(d->dp, (uint32_t)x->slot))
				log_err("guest %u: dp_guest_drain: %s", x->id, dp_errmsg(d->dp));
			x->state = G_DRAINING;
			x->drain_since = now;
			drained++;
		}
	}
	free(a->prev);
	a->prev = NULL;
	a->prune = true;
	app_standby_sync(d, a);
	state_app_save(a);
	log_info("app %s: version %" PRIu64 " serves (guest %u %s); %u guest(s) of older versions "
		 "draining",
		 app_name(a), a->version, g->id, live ? "live" : "paused", drained);
}

/* Snapshots of versions no guest runs from any more, other than the one
 * clones come from, are removed. */
static void prune(struct eapp *a)
{
	struct dirent *de;
	bool busy = false;
	DIR *dh;

	for (struct guest *g = a->guests; g; g = g->next)
		if (g->version != a->version)
			busy = true; /* the next tick looks again */
	if (busy || !(dh = opendir(a->dir)))
		return;
	while ((de = readdir(dh))) {
		uint64_t v;

		if (sscanf(de->d_name, "snap-v%" SCNu64, &v) == 1 && v != a->version) {
			state_snap_remove(a, v);
			log_dbg("app %s: snapshot of version %" PRIu64 " removed", app_name(a), v);
		}
	}
	closedir(dh);
	a->prune = false;
}

void version_tick(struct emberd *d, struct eapp *a, uint64_t now)
{
	for (struct guest *g = a->guests; g; g = g->next) {
		uint64_t load;

		if (g->state == G_BOOTING && a->prev &&
		    now - g->started > EMBERD_BOOT_MAX * 1000000000ull) {
			guest_stop(d, g);
			version_fail(d, a, "no snapshot within the boot time limit");
			continue;
		}
		if (g->state != G_DRAINING)
			continue;
		app_guest_flows(d, g, &load);
		if (load && now - g->drain_since < EMBERD_DRAIN_MAX_MS * 1000000ull)
			continue;
		log_info("app %s: guest %u of version %" PRIu64 " drained (%" PRIu64
			 " flows left): stopped",
			 app_name(a), g->id, g->version, load);
		guest_stop(d, g);
	}
	if (a->prune && !a->prev) /* not while a new version boots beside */
		prune(a);
}
