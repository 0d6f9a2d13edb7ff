/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's REST backend: deploy (202, then asynchronous), list, show, remove, scale, instances. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emberd.h"

static const char *const app_state_name[] = {"deploying", "ready", "failed", "removing"};

static json_t *wake_json(const struct wake_times *w)
{
	json_t *j = json_object();

#define US(a, b) json_integer((json_int_t)(w->b > w->a ? (w->b - w->a) / 1000 : 0))
	json_object_set_new(j, "guest", json_integer(w->guest));
	json_object_set_new(j, "tier", json_string(wake_tier_names[wake_tier_of(w)]));
	if (w->restore) /* tier 3: recv -> restore started -> paused -> resume sent */
		json_object_set_new(j, "restore_to_paused_us", US(restore, restored));
	json_object_set_new(j, "event_to_recv_us", US(event, recv));
	json_object_set_new(j, "recv_to_resume_sent_us", US(recv, sent));
	json_object_set_new(j, "resume_sent_to_running_us", US(sent, running));
	json_object_set_new(j, "event_to_ok_us", US(event, ok));
	json_object_set_new(j, "event_to_first_packet_us",
			    w->first ? US(event, first) : json_null());
#undef US
	return j;
}

/* What (t) counts, in the units of the JSON objects (docs/emberd.md, Metering). */
static json_t *meter_json(json_t *j, const struct meter_totals *t)
{
#define SET(k, v) json_object_set_new(j, k, json_integer((json_int_t)(v)))
	SET("cpu_ms", t->cpu_ns / 1000000);
	SET("rss_kib", t->rss_kib);
	SET("pss_kib", t->pss_kib);
	SET("pss_kib_s", t->pss_kib_ms / 1000);
	SET("rx_bytes", t->rx_bytes);
	SET("tx_bytes", t->tx_bytes);
	SET("rx_packets", t->rx_packets);
	SET("tx_packets", t->tx_packets);
	SET("new_flows", t->new_flows);
#undef SET
	return j;
}

static json_t *app_json(const struct eapp *a)
{
	const struct app_entry *e = a->entry;
	json_t *j = app_spec_to_json(&e->spec), *g = json_object();
	unsigned int n[G_DRAINING + 1] = {0};
	struct meter_totals t;

	for (const struct guest *x = a->guests; x; x = x->next)
		n[x->state]++;
	json_object_set_new(j, "id", json_integer(e->id));
	if (e->spec.boot.digest[0]) /* the manifest the reference named at deploy */
		json_object_set_new(j, "image_digest", json_string(e->spec.boot.digest));
	json_object_set_new(j, "version", json_integer((json_int_t)e->version));
	/* What clones are restored from; below "version" while a new one deploys. */
	json_object_set_new(j, "serving_version", json_integer((json_int_t)a->version));
	json_object_set_new(j, "deploying_version",
			    a->prev ? json_integer((json_int_t)e->version) : json_null());
	json_object_set_new(j, "state", json_string(app_state_name[a->state]));
	if (a->error[0])
		json_object_set_new(j, "error", json_string(a->error));
	json_object_set_new(g, "live", json_integer(n[G_LIVE]));
	json_object_set_new(g, "paused", json_integer(n[G_PAUSED]));
	json_object_set_new(g, "starting", json_integer(n[G_BOOTING] + n[G_RESTORING]));
	json_object_set_new(g, "stopping", json_integer(n[G_STOPPING]));
	json_object_set_new(g, "draining", json_integer(n[G_DRAINING]));
	json_object_set_new(j, "guests", g);
	json_object_set_new(j, "wakes", json_integer((json_int_t)a->wakes));
	json_object_set_new(j, "wakes_missed", json_integer((json_int_t)a->wakes_missed));
	json_object_set_new(j, "scale_outs", json_integer((json_int_t)a->scale_outs));
	json_object_set_new(j, "scale_ins", json_integer((json_int_t)a->scale_ins));
	json_object_set_new(j, "wakes_restore", json_integer((json_int_t)a->wakes_restore));
	if (a->last_wake.event)
		json_object_set_new(j, "last_wake", wake_json(&a->last_wake));
	meter_app_totals(a, &t);
	json_object_set_new(j, "meter", meter_json(json_object(), &t));
	return j;
}

/* DIR/apps/NAME, with no snapshot of an earlier deploy of the same name. */
static int app_dir(struct emberd *d, struct eapp *a)
{
	int rc;

	snprintf(a->dir, sizeof(a->dir), "%s/apps/%s", d->o.state_dir, app_name(a));
	rc = emberd_mkdir_p(a->dir);
	if (rc)
		return rc;
	state_snaps_clear(a);
	emberd_consoles_forget(a->dir); /* of an earlier app of that name */
	return state_snap_prepare(a, 1);
}

static int be_deploy(void *ctx, const struct app_spec *req, struct api_reply *rep)
{
	struct emberd *d = ctx;
	const struct app_entry *e;
	struct app_spec *spec = malloc(sizeof(*spec));
	char snap[PATH_MAX + 32], *run = NULL;
	struct app_err err;
	struct eapp *a;
	size_t runlen;
	int rc;

	if (!spec)
		return api_error(rep, 500, NULL, "out of memory");
	*spec = *req;
	rc = image_app_resolve(d, spec, &run, &runlen, &err);
	if (!rc)
		rc = app_registry_add(d->reg, spec, &e, &err);
	free(spec);
	if (rc) {
		free(run);
		return api_error_app(rep, rc, &err);
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		free(run);
		app_registry_del(d->reg, req->name);
		return api_error(rep, 500, NULL, "out of memory");
	}
	a->entry = app_registry_get(d->reg, req->name);
	a->state = APP_DEPLOYING;
	a->spare_fd = -1;
	a->version = 1;
	a->next = d->apps;
	d->apps = a;
	rc = app_dir(d, a);
	if (rc)
		snprintf(a->error, sizeof(a->error), "state directory %.180s: %s", a->dir,
			 strerror(-rc));
	app_snap_dir(a, 1, snap, sizeof(snap));
	if (!rc && run)
		rc = image_app_initrd(d, &a->entry->spec, snap, run, runlen, a->error,
				      sizeof(a->error));
	free(run);
	if (rc || guest_boot(d, a)) {
		a->state = APP_FAILED;
		log_err("app %s: %s", app_name(a), a->error);
	}
	rep->status = a->state == APP_FAILED ? 500 : 202;
	if (a->state == APP_FAILED)
		return api_error(rep, 500, NULL, "%s", a->error);
	rep->json = app_json(a);
	return 0;
}

static int be_list(void *ctx, struct api_reply *rep)
{
	struct emberd *d = ctx;
	json_t *arr = json_array();

	for (size_t i = 0; i < app_registry_count(d->reg); i++) {
		struct eapp *a = app_by_name(d, app_registry_at(d->reg, i)->spec.name);

		if (a)
			json_array_append_new(arr, app_json(a));
	}
	rep->json = json_pack("{s:o}", "apps", arr);
	return 0;
}

static struct eapp *need(struct emberd *d, const char *name, struct api_reply *rep)
{
	struct eapp *a = app_by_name(d, name);

	if (!a)
		api_error(rep, 404, "name", "no app named \"%s\"", name);
	return a;
}

static int be_get(void *ctx, const char *name, struct api_reply *rep)
{
	struct emberd *d = ctx;
	struct eapp *a = need(d, name, rep);

	if (!a)
		return -1;
	rep->json = app_json(a);
	return 0;
}

static int be_remove(void *ctx, const char *name, struct api_reply *rep)
{
	struct emberd *d = ctx;
	struct eapp *a = need(d, name, rep);

	if (!a)
		return -1;
	if (a->state == APP_REMOVING)
		return api_error(rep, 409, "name", "app \"%s\" is being removed", name);
	rep->json = json_pack("{s:s,s:s}", "name", name, "state", "removing");
	rep->status = 202;
	emberd_consoles_forget(a->dir); /* the logs route shows them until now */
	pool_remove_app(d, a);		/* may free (a) */
	return 0;
}

/* PUT /v1/apps/NAME: a new version (emberd_version.c); 202, then asynchronous. */
static int be_replace(void *ctx, const struct app_spec *req, struct api_reply *rep)
{
	struct emberd *d = ctx;
	struct eapp *a = need(d, req->name, rep);
	struct app_spec *spec = malloc(sizeof(*spec));
	struct app_err err;
	char *run = NULL;
	size_t runlen;
	int rc;

	if (!a || !spec) {
		free(spec);
		return a ? api_error(rep, 500, NULL, "out of memory") : -1;
	}
	*spec = *req;
	rc = image_app_resolve(d, spec, &run, &runlen, &err);
	if (!rc)
		rc = version_deploy(d, a, spec, run, runlen, &err);
	free(run);
	free(spec);
	if (rc == -EBUSY)
		return api_error(rep, 409, NULL, "%s", err.msg);
	if (rc == -EIO || rc == -ENOMEM)
		return api_error(rep, 500, NULL, "%s", err.msg);
	if (rc)
		return api_error_app(rep, rc, &err);
	rep->status = 202;
	rep->json = app_json(a);
	return 0;
}

static int be_scale(void *ctx, const char *name, const struct app_scale *sc, struct api_reply *rep)
{
	struct emberd *d = ctx;
	struct eapp *a = need(d, name, rep);
	struct app_err err;

	if (!a)
		return -1;
	if (app_scale_apply(&a->entry->spec, sc, &err))
		return api_error_app(rep, -EINVAL, &err);
	if (a->state == APP_READY) /* a restart keeps the new knobs */
		state_app_save(a);
	rep->json = app_json(a);
	return 0;
}

static int be_instances(void *ctx, const char *name, struct api_reply *rep)
{
	struct emberd *d = ctx;
	struct eapp *a = need(d, name, rep);
	json_t *arr;

	if (!a)
		return -1;
	arr = json_array();
	for (const struct guest *g = a->guests; g; g = g->next) {
		json_t *flows = json_null(); /* no slot: not routed */
		uint64_t n;
		char inst[96];

		/* What the autoscaler and a drain go by: the router's count. */
		if (!app_guest_flows(d, g, &n))
			flows = json_integer((json_int_t)n);
		meter_instance_id(g, inst, sizeof(inst));
		json_array_append_new(
			arr, meter_json(json_pack("{s:i,s:s,s:s,s:i,s:s,s:i,s:o}", "id", g->id,
						  "instance", inst, "state",
						  guest_state_name(g->state), "pid", g->pid, "tap",
						  g->tap, "slot", g->slot, "active_flows", flows),
					&g->meter.t));
	}
	rep->json = json_pack("{s:o}", "instances", arr);
	return 0;
}

const struct api_backend_ops emberd_api_ops = {
	.deploy = be_deploy,
	.list = be_list,
	.get = be_get,
	.remove = be_remove,
	.replace = be_replace,
	.scale = be_scale,
	.instances = be_instances,
	.logs = emberd_logs,
	.metrics = emberd_metrics,
	.image_import = images_import,
	.image_pull = images_pull,
	.image_job = images_job,
	.image_list = images_list,
	.image_get = images_get,
	.image_remove = images_remove,
};
