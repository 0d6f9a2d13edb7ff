/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's start: apps and running VMMs taken back from the state directory's records. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "emberd.h"

/*
 * At start (adopt_all), a paused or live VMM whose record (emberd_state.c)
 * matches a live process and whose control socket (ctl, --control of the
 * restore) accepts is taken over as it is: live guests stay in the
 * dataplane's live set, so warm traffic that flowed through the pinned maps
 * while no emberd ran goes on. Every other recorded VMM (booting, restoring,
 * no control socket) is killed. Dataplane entries that no adopted app or
 * guest owns are removed.
 */

/* A pidfd for (r)'s process if it is still the VMM that was recorded. The
 * start time is checked after pidfd_open: the fd then names that process. */
static int rec_pidfd(const struct guest_rec *r)
{
	int fd = (int)syscall(SYS_pidfd_open, r->pid, 0);

	if (fd < 0)
		return -1;
	if (state_proc_start(r->pid) != r->start) {
		close(fd);
		return -1;
	}
	return fd;
}

static void rec_kill(const struct guest_rec *r, const char *app, const char *why)
{
	int fd = rec_pidfd(r);

	if (fd < 0)
		return;
	log_info("app %s: guest %u (pid %d, %s) %s: killed", app, r->id, r->pid, r->state, why);
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (!strcmp(path, "-") || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Takes over the VMM of (r) as a paused or live guest of (a); 0 or -1. */
static int adopt_guest(struct emberd *d, struct eapp *a, const struct guest_rec *r)
{
	enum guest_state st = !strcmp(r->state, "live") ? G_LIVE : G_PAUSED;
	enum dp_xdp_mode used;
	struct guest *g;
	int pfd, cfd;

	if (strcmp(r->state, "live") && strcmp(r->state, "paused"))
		return -1;
	if (st == G_LIVE && (r->slot < 0 || r->slot >= EMBER_MAX_GUESTS || d->slot_used[r->slot]))
		return -1;
	pfd = rec_pidfd(r);
	if (pfd < 0)
		return -1;
	cfd = ctl_connect(r->ctl);
	g = cfd >= 0 ? guest_adopt(d, a, r->id, r->pid, pfd, cfd) : NULL;
	if (!g) {
		if (cfd >= 0)
			close(cfd);
		syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		close(pfd);
		log_info("app %s: guest %u (pid %d) has no usable control socket: killed",
			 app_name(a), r->id, r->pid);
		return 0;
	}
	g->start_ticks = r->start;
	g->state = st;
	g->version = r->version;
	g->ifindex = r->ifindex;
	/* The tap still runs the guest program of the load that made it; if
	 * the maps were made anew (no pins found), that copy would read maps
	 * nobody writes any more. */
	if (dp_attach_guest(d->dp, g->ifindex, DP_XDP_AUTO, &used))
		log_err("app %s: guest %u: re-attaching the guest program to %s: %s", app_name(a),
			r->id, r->tap, dp_errmsg(d->dp));
	snprintf(g->tap, sizeof(g->tap), "%s", r->tap);
	if (st == G_LIVE) {
		g->slot = r->slot;
		d->slot_used[r->slot] = 1;
		g->live_since = mono_ns();
	}
	if (d->next_guest < r->id)
		d->next_guest = r->id;
	state_guest_save(d, g);
	/* Its version first (a VMM of an older ember is stopped), then its
	 * state: "ok paused" makes it a standby guest. */
	guest_ctl_hello(g);
	log_info("app %s: adopted guest %u (pid %d, tap %s, %s)", app_name(a), g->id, g->pid,
		 g->tap, r->state);
	return 0;
}

/* Re-registers the app of (dir) from its app.json; NULL if it has none. */
static struct eapp *adopt_app(struct emberd *d, const char *name, const char *dir)
{
	char path[PATH_MAX + 16], snap[PATH_MAX + 32], state[PATH_MAX + 48];
	const struct app_entry *e;
	json_t *j, *spec_j = NULL, *boot_j = NULL;
	struct app_spec spec;
	struct app_err err;
	json_int_t id = -1, version = 1;
	struct eapp *a;

	snprintf(path, sizeof(path), "%s/app.json", dir);
	j = json_load_file(path, 0, NULL);
	if (!j)
		return NULL;
	/* "boot" holds the files emberd resolved at deploy: the app comes back
	 * on the image it was deployed with, whatever its tag points at now. */
	if (json_unpack(j, "{s:I,s:I,s:o,s:o}", "id", &id, "version", &version, "spec", &spec_j,
			"boot", &boot_j) ||
	    app_spec_from_json(&spec, spec_j, name, &err) ||
	    app_boot_from_json(&spec.boot, boot_j, &err) || id < 0 || id >= EMBER_MAX_APPS ||
	    app_registry_restore(d->reg, &spec, (uint32_t)id, (uint64_t)version, &e, &err)) {
		log_err("app record %s is not usable (%s): app %s not restored", path,
			id < 0 ? "bad JSON" : err.msg, name);
		json_decref(j);
		return NULL;
	}
	json_decref(j);
	a = calloc(1, sizeof(*a));
	if (!a) {
		log_err("app %s: out of memory", name);
		app_registry_del(d->reg, name);
		return NULL;
	}
	snprintf(a->dir, sizeof(a->dir), "%s", dir);
	app_snap_dir(a, (uint64_t)version, snap, sizeof(snap));
	snprintf(state, sizeof(state), "%s/state", snap);
	if (access(state, R_OK)) {
		log_err("app %s: %s is gone: not restored", name, state);
		app_registry_del(d->reg, name);
		free(a);
		return NULL;
	}
	a->entry = app_registry_get(d->reg, name);
	a->state = APP_DEPLOYING;
	a->spare_fd = -1;
	a->version = (uint64_t)version;
	a->next = d->apps;
	d->apps = a;
	return a;
}

/* One app directory: the app (if it has a record), then its VMMs. */
static void adopt_dir(struct emberd *d, const char *name)
{
	char dir[PATH_MAX];
	struct eapp *a;
	struct dirent *de;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/apps/%s", d->o.state_dir, name);
	dh = opendir(dir);
	if (!dh)
		return;
	a = adopt_app(d, name, dir);
	while ((de = readdir(dh))) {
		struct guest_rec r = {0};
		size_t n = strlen(de->d_name);

		if (n < 5 || strcmp(de->d_name + n - 4, ".vmm") ||
		    state_guest_read(dir, de->d_name, &r))
			continue;
		if (!a)
			rec_kill(&r, name, "belongs to no deployed app");
		else if (adopt_guest(d, a, &r))
			rec_kill(&r, name, "was not paused or live");
	}
	closedir(dh);
	if (a)
		d->ev->app_adopted(d, a);
}

/* Dataplane entries of a daemon that died: what nothing adopted owns goes. */
struct leftovers {
	struct emberd *d;
	struct dp_service svc[256];
	uint32_t app[EMBER_MAX_APPS], slot[EMBER_MAX_GUESTS];
	unsigned int nsvc, napp, nslot;
};

static bool app_known(struct emberd *d, uint32_t id)
{
	for (struct eapp *a = d->apps; a; a = a->next)
		if (app_id(a) == id)
			return true;
	return false;
}

static int lo_svc(void *ctx, const struct dp_service *svc, uint32_t app_id)
{
	struct leftovers *l = ctx;

	if (!app_known(l->d, app_id) && l->nsvc < 256)
		l->svc[l->nsvc++] = *svc;
	return 0;
}

static int lo_app(void *ctx, const struct dp_app_info *app)
{
	struct leftovers *l = ctx;

	if (!app_known(l->d, app->app_id))
		l->app[l->napp++] = app->app_id;
	return 0;
}

static int lo_guest(void *ctx, uint32_t slot, const struct dp_guest *g)
{
	struct leftovers *l = ctx;

	(void)g;
	if (slot < EMBER_MAX_GUESTS && !l->d->slot_used[slot])
		l->slot[l->nslot++] = slot;
	return 0;
}

static void dp_clean(struct emberd *d)
{
	static struct leftovers l;

	memset(&l, 0, sizeof(l));
	l.d = d;
	/* Collected first, removed after: no deletes under a map walk. */
	dp_foreach_service(d->dp, lo_svc, &l);
	dp_foreach_guest(d->dp, lo_guest, &l);
	dp_foreach_app(d->dp, lo_app, &l);
	for (unsigned int i = 0; i < l.nsvc; i++)
		dp_service_del(d->dp, &l.svc[i]);
	for (unsigned int i = 0; i < l.nslot; i++)
		dp_guest_del(d->dp, l.slot[i]);
	for (unsigned int i = 0; i < l.napp; i++)
		dp_app_del(d->dp, l.app[i]);
	if (l.nsvc + l.nslot + l.napp)
		log_info("dataplane: removed %u service(s), %u guest slot(s), %u app(s) nothing "
			 "owns any more",
			 l.nsvc, l.nslot, l.napp);
}

int adopt_all(struct emberd *d)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/apps", d->o.state_dir);
	dh = opendir(dir);
	if (dh) {
		while ((de = readdir(dh)))
			if (de->d_name[0] != '.' &&
			    (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
				adopt_dir(d, de->d_name);
		closedir(dh);
	} else if (errno != ENOENT) {
		log_err("reading %s: %s", dir, strerror(errno));
	}
	dp_clean(d);
	return 0;
}
