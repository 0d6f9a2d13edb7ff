/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's image commands: import (a job emberd runs, polled), ls, inspect, rm. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_http.h"

static const char image_usage[] =
	"Usage: ember image import PATH [--name NAME]\n"
	"       ember image ls\n"
	"       ember image inspect REF\n"
	"       ember image rm REF\n"
	"\n"
	"OCI images in emberd's store (STATE/images, docs/images.md).\n"
	"\n"
	"  import PATH   import the image at PATH, a path on emberd's host: an OCI\n"
	"                image layout directory, an oci-archive or a docker-archive\n"
	"                (docker save), plain or gzip. emberd runs the import and\n"
	"                builds the image's erofs root filesystem as a job\n"
	"                (POST /v1/images); this polls the job every 200 ms and\n"
	"                draws its progress on one line of standard error when it\n"
	"                is a terminal, else prints a line per layer. Every blob is\n"
	"                checked against its digest; a blob the store has is not\n"
	"                written again. Prints 'imported REF (MANIFEST): N bytes\n"
	"                written, M skipped' when the job is done.\n"
	"  --name NAME   the reference to store it under (default: the archive's\n"
	"                own name, its ref.name annotation or first RepoTag)\n"
	"  ls            list the stored images: reference, size (config and\n"
	"                layers), layers, architecture, whether the root filesystem\n"
	"                is built, manifest digest\n"
	"  inspect REF   one image: its config (entrypoint, cmd, env, working\n"
	"                directory, user, ports) and layers; --json for all of it\n"
	"  rm REF        remove reference REF, then every blob and root filesystem\n"
	"                no other reference needs; refused while a job runs\n"
	"\n"
	"Options:\n"
	"  --json         print emberd's JSON answers (import: the finished job)\n"
	"  --socket PATH  emberd's API socket\n"
	"\n"
	"Exit status: 0 done, 1 the job failed (its error is printed), emberd\n"
	"refused or cannot be reached, 2 usage error.\n"
	"\n"
	"Examples:\n"
	"  skopeo copy docker://busybox:latest oci:/srv/busybox:latest\n"
	"  ember image import /srv/busybox --name busybox:latest\n"
	"  ember image inspect busybox:latest\n";

#define POLL_MS 200

static void image_path(char *buf, size_t len, const char *ref)
{
	snprintf(buf, len, "/v1/images/");
	cli_url_escape(buf, len, ref);
}

/* What a running job's progress looks like: one line redrawn on a tty, else
 * a line per layer once it is in (layers that came and went between two
 * polls are not seen: the job keeps the current one) and one for the build. */
static void job_progress(const struct app_opts *o, const json_t *job, bool tty, int *last_layer,
			 bool *building)
{
	const json_t *p = json_object_get(job, "progress");
	int layer = (int)json_integer_value(json_object_get(p, "layer"));
	int layers = (int)json_integer_value(json_object_get(p, "layers"));
	json_int_t done = json_integer_value(json_object_get(p, "bytes_done"));
	json_int_t total = json_integer_value(json_object_get(p, "bytes_total"));
	bool rootfs = !strcmp(app_jstr(job, "phase", ""), "rootfs");

	if (tty && layers && !rootfs)
		fprintf(o->err, "\r\033[Klayer %d/%d: %lld/%lld bytes", layer, layers,
			(long long)done, (long long)total);
	if (!tty && layers && layer > *last_layer && done == total) {
		fprintf(o->err, "layer %d/%d: %lld bytes\n", layer, layers, (long long)total);
		*last_layer = layer;
	}
	if (rootfs && !*building)
		fprintf(o->err, tty ? "\r\033[Kbuilding the root filesystem"
				    : "building the root filesystem\n");
	*building = rootfs;
	fflush(o->err);
}

/* Polls job (id) until it is done or failed; (*job) is the last answer. */
static int job_wait(const struct app_opts *o, json_int_t id, json_t **job)
{
	bool tty = isatty(fileno(o->err));
	bool building = false;
	int last = 0, rc;
	char path[64];

	snprintf(path, sizeof(path), "/v1/images/jobs/%lld", (long long)id);
	for (;;) {
		const char *state;

		if ((rc = app_call_json(o, "GET", path, NULL, job, NULL)))
			return rc;
		state = app_jstr(*job, "state", "?");
		if (!o->json)
			job_progress(o, *job, tty, &last, &building);
		if (strcmp(state, "queued") && strcmp(state, "running"))
			break;
		json_decref(*job);
		app_sleep_ms(o->poll_ms ? o->poll_ms : POLL_MS);
	}
	if (tty && !o->json)
		fputc('\n', o->err);
	if (!strcmp(app_jstr(*job, "state", ""), "done"))
		return 0;
	app_errorf(o, "image import failed: %s", app_jstr(*job, "error", "(no error given)"));
	return EXIT_RUNTIME;
}

static int image_import(int argc, char **argv, struct app_opts *o)
{
	static const struct option opts[] = {
		APP_COMMON_OPTS, {"name", required_argument, NULL, 'n'}, {0}};
	const char *name = NULL;
	json_t *body, *job = NULL, *res;
	char *s;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		if (c == 'n')
			name = optarg;
		else if ((rc = app_opt(c, argv, o, "image import", image_usage)) >= 0)
			return rc;
	if (argc - optind != 1)
		return app_usage_error(o, "image import", "wants one path");
	body = json_pack("{s:s}", "import", argv[optind]);
	if (name)
		json_object_set_new(body, "name", json_string(name));
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	rc = app_call_json(o, "POST", "/v1/images", s, &job, NULL);
	free(s);
	if (rc)
		return rc;
	body = job;
	rc = job_wait(o, json_integer_value(json_object_get(body, "job")), &job);
	json_decref(body);
	if (!rc && o->json)
		app_print_json(o, job);
	res = json_object_get(job, "result");
	if (!rc && !o->json)
		fprintf(o->out, "imported %s (%s): %lld bytes written, %lld skipped\n",
			app_jstr(res, "ref", "?"), app_jstr(res, "manifest", "?"),
			(long long)json_integer_value(json_object_get(res, "bytes_written")),
			(long long)json_integer_value(json_object_get(res, "bytes_skipped")));
	json_decref(job);
	return rc;
}

static int image_ls(const struct app_opts *o)
{
	json_t *j, *im;
	size_t i;
	int rc = app_call_json(o, "GET", "/v1/images", NULL, &j, NULL);

	if (rc)
		return rc;
	if (o->json) {
		app_print_json(o, j);
		json_decref(j);
		return 0;
	}
	fprintf(o->out, "%-32s %12s %6s %-8s %-6s %s\n", "REF", "SIZE", "LAYERS", "ARCH", "ROOTFS",
		"MANIFEST");
	json_array_foreach(json_object_get(j, "images"), i, im)
	{
		char n[24], l[24];

		fprintf(o->out, "%-32s %12s %6s %-8s %-6s %s\n", app_jstr(im, "ref", "?"),
			app_jnum(im, "size", n), app_jnum(im, "layers", l),
			app_jstr(im, "architecture", "-"),
			json_is_string(json_object_get(im, "rootfs")) ? "yes" : "no",
			app_jstr(im, "manifest", "?"));
	}
	json_decref(j);
	return 0;
}

/* A config member as one line: strings as they are, the rest as JSON. */
static void print_field(const struct app_opts *o, const char *label, const json_t *v)
{
	char *s;

	if (!v || json_is_null(v))
		return;
	s = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
	fprintf(o->out, "%-12s %s\n", label, s ? s : "?");
	free(s);
}

static int image_inspect(const struct app_opts *o, const char *ref)
{
	static const char *const keys[] = {"Entrypoint", "Cmd",	 "Env",
					   "WorkingDir", "User", "ExposedPorts"};
	char path[1024], n[24];
	json_t *j, *cfg, *l;
	size_t i;
	int rc;

	image_path(path, sizeof(path), ref);
	if ((rc = app_call_json(o, "GET", path, NULL, &j, NULL)))
		return rc;
	if (o->json) {
		app_print_json(o, j);
		json_decref(j);
		return 0;
	}
	cfg = json_object_get(j, "config");
	fprintf(o->out, "%-12s %s\n%-12s %s\n%-12s %s bytes\n", "ref", app_jstr(j, "ref", "?"),
		"manifest", app_jstr(j, "manifest", "?"), "size", app_jnum(j, "size", n));
	print_field(o, "created", json_object_get(j, "created"));
	print_field(o, "arch", json_object_get(j, "architecture"));
	print_field(o, "rootfs", json_object_get(j, "rootfs"));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		print_field(o, keys[i], json_object_get(cfg, keys[i]));
	fprintf(o->out, "layers:\n");
	json_array_foreach(json_object_get(j, "layers"), i, l)
		fprintf(o->out, "  %s %s bytes %s\n", app_jstr(l, "digest", "?"),
			app_jnum(l, "size", n), app_jstr(l, "media_type", "?"));
	json_decref(j);
	return 0;
}

static int image_rm(const struct app_opts *o, const char *ref)
{
	char path[1024], b[24], r[24], f[24];
	json_t *j;
	int rc;

	image_path(path, sizeof(path), ref);
	if ((rc = app_call_json(o, "DELETE", path, NULL, &j, NULL)))
		return rc;
	if (o->json)
		app_print_json(o, j);
	else
		fprintf(o->out, "removed %s: %s blobs, %s root filesystems, %s bytes freed\n", ref,
			app_jnum(j, "blobs_removed", b), app_jnum(j, "rootfs_removed", r),
			app_jnum(j, "bytes_freed", f));
	json_decref(j);
	return 0;
}

int cmd_image(int argc, char **argv, struct app_opts *o)
{
	const char *sub = argc > 1 ? argv[1] : "";
	int rc;

	if (!strcmp(sub, "import"))
		return image_import(argc - 1, argv + 1, o);
	if (!strcmp(sub, "ls") || !strcmp(sub, "inspect") || !strcmp(sub, "rm")) {
		bool ls = !strcmp(sub, "ls");

		rc = app_simple_opts(argc - 1, argv + 1, o, image_usage, ls ? 0 : 1,
				     ls ? "takes no operand" : "wants one image reference");
		if (rc >= 0)
			return rc;
		if (ls)
			return image_ls(o);
		return !strcmp(sub, "rm") ? image_rm(o, argv[1 + optind])
					  : image_inspect(o, argv[1 + optind]);
	}
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		fputs(image_usage, o->out);
		return 0;
	}
	return app_usage_error(o, "image", "wants import, ls, inspect or rm, not '%s'", sub);
}
