/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's records in its state directory: apps, VMMs, snapshot directories. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../../vmm/fileio.h"
#include "emberd.h"

/*
 * Two kinds of record, each one small file replaced with rename() so a
 * crash leaves either the old or the new one:
 *
 *   DIR/apps/NAME/app.json  {"id": N, "version": V, "spec": {...}, "boot": {...}}
 *       written when the app turns ready, removed by DELETE. An app with
 *       this record comes back at every start, from its snapshot.
 *   DIR/apps/NAME/gN.vmm    pid=P start=T state=S slot=L ifindex=I tap=X ctl=PATH version=V
 *       one per VMM emberd started, written at fork and at every change
 *       between paused and live, removed when the VMM is gone. (start) is
 *       the process's start time (/proc/P/stat field 22), so a reused PID
 *       is never mistaken for the VMM.
 *
 * emberd_adopt.c reads them back at start.
 */

void app_snap_dir(const struct eapp *a, uint64_t version, char *buf, size_t len)
{
	snprintf(buf, len, "%s/snap-v%" PRIu64, a->dir, version);
}

int state_app_save(const struct eapp *a)
{
	const struct app_entry *e = a->entry;
	char path[PATH_MAX + 16], *text;
	json_t *j;
	int rc;

	if (!e)
		return -ENOENT;
	if (a->prev) /* a new version is deploying: the record keeps the old one */
		return 0;
	j = json_pack("{s:i,s:I,s:o,s:o}", "id", (int)e->id, "version", (json_int_t)e->version,
		      "spec", app_spec_to_json(&e->spec), "boot", app_boot_to_json(&e->spec.boot));
	text = j ? json_dumps(j, JSON_INDENT(1)) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/app.json", a->dir);
	rc = file_replace_buf(path, 0644, true, text,
			      strlen(text)); /* the app must outlive a host crash */
	free(text);
	if (rc)
		log_err("app %s: writing %s: %s (the app will not survive a restart)", app_name(a),
			path, strerror(-rc));
	return rc;
}

void state_app_forget(const struct eapp *a)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/app.json", a->dir);
	unlink(path);
}

static void guest_record_path(const struct eapp *a, unsigned int id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/g%u.vmm", a->dir, id);
}

void state_ctl_path(struct emberd *d, unsigned int id, char *buf, size_t len)
{
	struct sockaddr_un sun;
	int n = snprintf(buf, len, "%s/g%u.ctl", d->o.run_dir, id);

	/* A path sun_path cannot hold: no socket, the guest is not adoptable. */
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path) || (size_t)n >= len)
		buf[0] = 0;
}

void state_guest_save(struct emberd *d, const struct guest *g)
{
	char path[PATH_MAX + 16], ctl[128], text[512];
	int rc;

	state_ctl_path(d, g->id, ctl, sizeof(ctl));
	snprintf(text, sizeof(text),
		 "pid=%d start=%" PRIu64
		 " state=%s slot=%d ifindex=%d tap=%s ctl=%s version=%" PRIu64 "\n",
		 g->pid, g->start_ticks, guest_state_name(g->state), g->slot, g->ifindex,
		 g->tap[0] ? g->tap : "-", ctl[0] ? ctl : "-", g->version);
	guest_record_path(g->app, g->id, path, sizeof(path));
	/* Written on the wake path, and useless after a host crash (its VMM died
	 * with the host): atomic, but no disk wait. */
	rc = file_replace_buf(path, 0644, false, text, strlen(text));
	if (rc)
		log_err("guest %u: writing %s: %s", g->id, path, strerror(-rc));
}

void state_guest_forget(const struct guest *g)
{
	char path[PATH_MAX + 16];

	guest_record_path(g->app, g->id, path, sizeof(path));
	unlink(path);
}

int state_guest_read(const char *dir, const char *name, struct guest_rec *r)
{
	char path[PATH_MAX + 300], line[512];
	FILE *f;
	int ok;

	if (sscanf(name, "g%u.vmm", &r->id) != 1)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fgets(line, sizeof(line), f) && sscanf(line,
						    "pid=%d start=%llu state=%15s slot=%d "
						    "ifindex=%d tap=%15s ctl=%127s version=%llu",
						    &r->pid, &r->start, r->state, &r->slot,
						    &r->ifindex, r->tap, r->ctl, &r->version) == 8;
	fclose(f);
	unlink(path); /* adopted guests get a fresh record */
	return ok && r->pid > 0 ? 0 : -EINVAL;
}

uint64_t state_proc_start(pid_t pid)
{
	struct meter_stat st;

	return meter_read_stat(pid, &st) ? 0 : st.start;
}

/* Removes the files of (dir), which has no subdirectories (a snapshot:
 * memory, state, disk overlays), then the directory. */
static void dir_rm_flat(const char *dir)
{
	char p[PATH_MAX + 300];
	struct dirent *de;
	DIR *dh = opendir(dir);

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(dh);
	rmdir(dir);
}

int state_snap_prepare(const struct eapp *a, uint64_t version)
{
	char dir[PATH_MAX + 32];

	app_snap_dir(a, version, dir, sizeof(dir));
	dir_rm_flat(dir); /* of a failed or interrupted deploy of that version */
	return emberd_mkdir_p(dir);
}

void state_snap_remove(const struct eapp *a, uint64_t version)
{
	char dir[PATH_MAX + 32];

	app_snap_dir(a, version, dir, sizeof(dir));
	dir_rm_flat(dir);
}

void state_snaps_clear(const struct eapp *a)
{
	char p[PATH_MAX + 300];
	struct dirent *de;
	DIR *dh = opendir(a->dir);

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		if (strncmp(de->d_name, "snap", 4))
			continue;
		snprintf(p, sizeof(p), "%s/%s", a->dir, de->d_name);
		dir_rm_flat(p);
	}
	closedir(dh);
}

void state_app_dir_remove(const struct eapp *a)
{
	state_snaps_clear(a);
	dir_rm_flat(a->dir); /* records, consoles, VMM logs, events */
}
