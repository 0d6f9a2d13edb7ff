/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's read-only views of apps: ls (one line per app) and status (one app in detail). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/* ---- ls ---- */

static const char ls_usage[] =
	"Usage: ember ls [--json]\n"
	"\n"
	"Lists the deployed apps (GET /v1/apps) in name order, one line each:\n"
	"  NAME    the app's name\n"
	"  STATE   deploying, ready, failed (see 'ember status NAME') or removing\n"
	"  LIVE    guests running and in the dataplane's live set\n"
	"  PAUSED  paused, pre-restored guests ready to wake\n"
	"  WAKES   wakes since the deploy (a packet for an app with no live guest)\n"
	"  VIPS    the app's services, VIP:PORT/PROTO, comma-separated\n"
	"A '-' is a value the daemon does not report.\n"
	"\n"
	"Options:\n"
	"  --json         print emberd's answer, {\"apps\": [...]}\n"
	"  --socket PATH  emberd's API socket\n"
	"\n"
	"Exit status: 0 listed, 1 emberd unreachable or failed, 2 usage error.\n";

/* "10.0.0.10:80/tcp,[fd00::5]:53/udp" */
static void print_vips(FILE *f, const json_t *services)
{
	size_t i;
	json_t *s;

	json_array_foreach(services, i, s)
	{
		const char *vip = app_jstr(s, "vip", "?");
		char n[24];

		fprintf(f, "%s%s%s%s:%s/%s", i ? "," : "", strchr(vip, ':') ? "[" : "", vip,
			strchr(vip, ':') ? "]" : "", app_jnum(s, "port", n),
			app_jstr(s, "proto", "tcp"));
	}
	if (!json_array_size(services))
		fputc('-', f);
	fputc('\n', f);
}

static void ls_table(FILE *f, const json_t *apps)
{
	int w = 4; /* strlen("NAME") */
	size_t i;
	json_t *a;

	json_array_foreach(apps, i, a)
	{
		int len = (int)strlen(app_jstr(a, "name", "?"));

		w = len > w ? len : w;
	}
	fprintf(f, "%-*s  %-9s  %4s  %6s  %5s  %s\n", w, "NAME", "STATE", "LIVE", "PAUSED", "WAKES",
		"VIPS");
	json_array_foreach(apps, i, a)
	{
		json_t *g = json_object_get(a, "guests");
		char b[3][24];

		fprintf(f, "%-*s  %-9s  %4s  %6s  %5s  ", w, app_jstr(a, "name", "?"),
			app_jstr(a, "state", "-"), app_jnum(g, "live", b[0]),
			app_jnum(g, "paused", b[1]), app_jnum(a, "wakes", b[2]));
		print_vips(f, json_object_get(a, "services"));
	}
}

int cmd_ls(int argc, char **argv, struct app_opts *o)
{
	json_t *j;
	int rc = app_simple_opts(argc, argv, o, ls_usage, 0, "takes no operands");

	if (rc >= 0)
		return rc;
	if ((rc = app_call_json(o, "GET", "/v1/apps", NULL, &j, NULL)))
		return rc;
	if (o->json)
		app_print_json(o, j);
	else
		ls_table(o->out, json_object_get(j, "apps"));
	json_decref(j);
	return 0;
}

/* ---- status ---- */

static const char status_usage[] =
	"Usage: ember status [--json] NAME\n"
	"\n"
	"Shows app NAME in detail (GET /v1/apps/NAME and /v1/apps/NAME/instances):\n"
	"  state       deploying, ready, failed (with the error) or removing\n"
	"  guests      how many are live, paused, starting (booting or restoring)\n"
	"              and stopping\n"
	"  wakes       wakes since the deploy; missed = a wake found no paused guest\n"
	"  last wake   the guest woken and the steps of the last wake, in\n"
	"              microseconds from the dataplane's event: emberd read it\n"
	"              (recv), wrote 'resume' (sent), the vCPUs ran (running),\n"
	"              ember-vmm confirmed (ok), the guest's first packet\n"
	"  services, image, args, resources, scaling: the app's spec\n"
	"  instances   one line per guest: id, state, VMM pid, tap ifindex, live slot\n"
	"A '-' is a value the daemon does not report.\n"
	"\n"
	"Options:\n"
	"  --json         print {\"app\": <the app as emberd answers it>,\n"
	"                 \"instances\": <its \"instances\" array>}\n"
	"  --socket PATH  emberd's API socket\n"
	"\n"
	"Exit status: 0 shown, 1 no such app or emberd unreachable, 2 usage error.\n";

static void status_wake(FILE *f, const json_t *w)
{
	static const char *const step[][2] = {
		{"event_to_recv_us", "event -> recv"},
		{"recv_to_resume_sent_us", "recv -> resume sent"},
		{"resume_sent_to_running_us", "resume sent -> running"},
		{"event_to_ok_us", "event -> ok"},
		{"event_to_first_packet_us", "event -> first packet"},
	};
	char b[24];

	if (!json_is_object(w)) {
		fprintf(f, "last wake:  none\n");
		return;
	}
	fprintf(f, "last wake:  guest %s\n", app_jnum(w, "guest", b));
	for (size_t i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		const char *v = app_jnum(w, step[i][0], b);

		/* "-": not measured (no packet from the guest within 2 s). */
		fprintf(f, "            %-22s %8s%s\n", step[i][1], v, strcmp(v, "-") ? " us" : "");
	}
}

/* "image": a reference (and the manifest it named at deploy), or a host image. */
static void status_image(FILE *f, const json_t *a)
{
	const json_t *image = json_object_get(a, "image");
	const char *digest = app_jstr(a, "image_digest", NULL);

	if (json_is_string(image))
		fprintf(f, "image:      %s%s%s\n", json_string_value(image), digest ? " " : "",
			digest ? digest : "");
	else
		fprintf(f, "image:      host image %s\n", app_jstr(image, "host", "?"));
}

static void status_spec(FILE *f, const json_t *a)
{
	json_t *args = json_object_get(a, "args"), *v;
	char b[5][24];
	size_t i;

	fprintf(f, "services:   ");
	print_vips(f, json_object_get(a, "services"));
	status_image(f, a);
	if (json_array_size(args)) {
		fprintf(f, "args:      ");
		json_array_foreach(args, i, v) fprintf(f, " %s", json_string_value(v));
		fputc('\n', f);
	}
	if (app_jstr(a, "cmdline", NULL))
		fprintf(f, "cmdline:    %s\n", app_jstr(a, "cmdline", ""));
	fprintf(f, "resources:  %s MiB, %s vCPU\n", app_jnum(a, "mem_mib", b[0]),
		app_jnum(a, "vcpus", b[1]));
	fprintf(f,
		"scaling:    min %s, max %s, standby %s, idle timeout %s ms, "
		"target concurrency %s\n",
		app_jnum(a, "min_instances", b[0]), app_jnum(a, "max_instances", b[1]),
		app_jnum(a, "standby", b[2]), app_jnum(a, "idle_timeout_ms", b[3]),
		app_jnum(a, "target_concurrency", b[4]));
}

static void status_app(FILE *f, const json_t *a)
{
	json_t *g = json_object_get(a, "guests");
	char b[4][24];

	fprintf(f, "name:       %s (id %s, version %s)\n", app_jstr(a, "name", "?"),
		app_jnum(a, "id", b[0]), app_jnum(a, "version", b[1]));
	fprintf(f, "state:      %s\n", app_jstr(a, "state", "-"));
	if (app_jstr(a, "error", NULL))
		fprintf(f, "error:      %s\n", app_jstr(a, "error", ""));
	if (json_is_object(g))
		fprintf(f, "guests:     %s live, %s paused, %s starting, %s stopping\n",
			app_jnum(g, "live", b[0]), app_jnum(g, "paused", b[1]),
			app_jnum(g, "starting", b[2]), app_jnum(g, "stopping", b[3]));
	fprintf(f, "wakes:      %s (%s missed)\n", app_jnum(a, "wakes", b[0]),
		app_jnum(a, "wakes_missed", b[1]));
	status_wake(f, json_object_get(a, "last_wake"));
	status_spec(f, a);
}

static void status_instances(FILE *f, const json_t *inst)
{
	size_t i;
	json_t *g;

	if (!json_array_size(inst)) {
		fprintf(f, "instances:  none\n");
		return;
	}
	/* FLOWS: the router's active TCP flows of the guest's slot (none: not routed). */
	fprintf(f, "instances:\n  %4s  %-10s  %8s  %-10s  %4s  %5s\n", "ID", "STATE", "PID", "TAP",
		"SLOT", "FLOWS");
	json_array_foreach(inst, i, g)
	{
		char b[4][24];
		const char *slot = app_jnum(g, "slot", b[2]);

		fprintf(f, "  %4s  %-10s  %8s  %-10s  %4s  %5s\n", app_jnum(g, "id", b[0]),
			app_jstr(g, "state", "-"), app_jnum(g, "pid", b[1]),
			app_jstr(g, "tap", "-"), slot[0] == '-' ? "-" : slot,
			app_jnum(g, "active_flows", b[3]));
	}
}

int cmd_status(int argc, char **argv, struct app_opts *o)
{
	json_t *app = NULL, *inst = NULL;
	char path[1024];
	int rc = app_simple_opts(argc, argv, o, status_usage, 1, "wants one app name");

	if (rc >= 0)
		return rc;
	app_path(path, sizeof(path), argv[optind], "");
	if ((rc = app_call_json(o, "GET", path, NULL, &app, NULL)))
		return rc;
	app_path(path, sizeof(path), argv[optind], "/instances");
	rc = app_call_json(o, "GET", path, NULL, &inst, NULL);
	if (o->json && !rc) {
		json_t *both = json_object();

		json_object_set(both, "app", app);
		json_object_set(both, "instances", json_object_get(inst, "instances"));
		app_print_json(o, both);
		json_decref(both);
	} else if (!o->json) {
		status_app(o->out, app);
		if (!rc)
			status_instances(o->out, json_object_get(inst, "instances"));
	}
	json_decref(app);
	json_decref(inst);
	return rc;
}
