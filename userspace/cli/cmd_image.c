/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's image commands: import and pull (jobs emberd runs, polled), ls, inspect, rm. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/api.h"
#include "cli.h"
#include "cli_http.h"

static const char image_usage[] =
	"Usage: ember image import PATH [--name NAME]\n"
	"       ember image pull REF [--name NAME] [--insecure]\n"
	"                        [--username USER [--password-stdin]]\n"
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
	"                own name, its ref.name annotation or first RepoTag; for\n"
	"                a pull, REF)\n"
	"  pull REF      fetch image REF ([REGISTRY[:PORT]/]PATH[:TAG][@sha256:HEX];\n"
	"                no registry: Docker Hub, library/ before a one-word\n"
	"                path) from its registry, as emberd's job like an import:\n"
	"                an index is followed to its linux/amd64 manifest, every\n"
	"                blob checked against its digest, a layer the store has is\n"
	"                not downloaded. Stored as REF, ':latest' added when it\n"
	"                names no tag or digest. Progress as for an import; prints\n"
	"                'pulled REF (MANIFEST): N bytes written, M skipped'.\n"
	"  --insecure    plain HTTP instead of HTTPS: only for a registry on this\n"
	"                machine (localhost, 127.0.0.0/8, [::1]); emberd refuses it\n"
	"                for any other host\n"
	"  --username USER\n"
	"                authenticate as USER when the registry asks (Basic, or a\n"
	"                Bearer token from its token service); the password is the\n"
	"                first line of standard input with --password-stdin, else\n"
	"                $EMBER_REGISTRY_PASSWORD. emberd keeps it in memory only\n"
	"                until the job's process starts, never logs or shows it\n"
	"  ls            list the stored images: reference, size (config and\n"
	"                layers), layers, architecture, whether the root filesystem\n"
	"                is built, manifest digest\n"
	"  inspect REF   one image: its config (entrypoint, cmd, env, working\n"
	"                directory, user, ports) and layers; --json for all of it\n"
	"  rm REF        remove reference REF, then every blob and root filesystem\n"
	"                no other reference needs; refused while a job runs\n"
	"\n"
	"Options:\n"
	"  --json         print emberd's JSON answers (import, pull: the finished job)\n"
	"  --socket PATH  emberd's API socket\n"
	"\n"
	"Exit status: 0 done, 1 the job failed (its error is printed), emberd\n"
	"refused or cannot be reached, 2 usage error.\n"
	"\n"
	"Examples:\n"
	"  skopeo copy docker://busybox:latest oci:/srv/busybox:latest\n"
	"  ember image import /srv/busybox --name busybox:latest\n"
	"  ember image inspect busybox:latest\n"
	"  ember image pull --insecure localhost:5000/busybox:1\n"
	"  ember image pull ghcr.io/acme/app:2 --username bot --password-stdin <token\n";

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

/* Polls job (id) of (verb) ("import", "pull") until it is done or failed; (*job) is the last
 * answer. */
static int job_wait(const struct app_opts *o, const char *verb, json_int_t id, json_t **job)
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
	app_errorf(o, "image %s failed: %s", verb, app_jstr(*job, "error", "(no error given)"));
	return EXIT_RUNTIME;
}

/* POSTs (body) (freed here; its text wiped: it may hold a password), waits
 * for the job and prints what it did as (done) ("imported", "pulled"). */
static int job_run(struct app_opts *o, json_t *body, const char *verb, const char *done)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_t *job = NULL, *res;
	int rc;

	json_decref(body);
	if (!s) {
		app_errorf(o, "out of memory");
		return EXIT_RUNTIME;
	}
	rc = app_call_json(o, "POST", "/v1/images", s, &job, NULL);
	explicit_bzero(s, strlen(s));
	free(s);
	if (rc)
		return rc;
	body = job;
	rc = job_wait(o, verb, json_integer_value(json_object_get(body, "job")), &job);
	json_decref(body);
	if (!rc && o->json)
		app_print_json(o, job);
	res = json_object_get(job, "result");
	if (!rc && !o->json)
		fprintf(o->out, "%s %s (%s): %lld bytes written, %lld skipped\n", done,
			app_jstr(res, "ref", "?"), app_jstr(res, "manifest", "?"),
			(long long)json_integer_value(json_object_get(res, "bytes_written")),
			(long long)json_integer_value(json_object_get(res, "bytes_skipped")));
	json_decref(job);
	return rc;
}

static int image_import(int argc, char **argv, struct app_opts *o)
{
	static const struct option opts[] = {
		APP_COMMON_OPTS, {"name", required_argument, NULL, 'n'}, {0}};
	const char *name = NULL;
	json_t *body;
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
	return job_run(o, body, "import", "imported");
}

/*
 * The password's first line from (in), without its line end, into (buf):
 * 0, or -1 after a message (nothing, or longer than emberd takes). Like
 * docker login's --password-stdin, so it stays out of argv and history.
 */
static int password_read(const struct app_opts *o, FILE *in, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, in) || !buf[0]) {
		app_errorf(o, "image pull: --password-stdin: nothing on standard input");
		return -1;
	}
	n = strcspn(buf, "\r\n");
	if (!buf[n] && n == len - 1) {
		explicit_bzero(buf, len);
		app_errorf(o, "image pull: --password-stdin: longer than %d bytes",
			   API_REGISTRY_PASS_MAX);
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* The pull's body: the reference and its options; the password from stdin or the environment. */
static int pull_body(const struct app_opts *o, const char *ref, const char *name, bool insecure,
		     const char *user, bool pass_stdin, json_t **body)
{
	char pass[API_REGISTRY_PASS_MAX + 2];
	const char *env = getenv("EMBER_REGISTRY_PASSWORD");

	if (pass_stdin && !user)
		return app_usage_error(o, "image pull", "--password-stdin needs --username");
	if (user && !pass_stdin && !env)
		return app_usage_error(o, "image pull",
				       "--username needs --password-stdin or "
				       "$EMBER_REGISTRY_PASSWORD");
	if (pass_stdin && password_read(o, o->in, pass, sizeof(pass)))
		return EXIT_RUNTIME;
	*body = json_pack("{s:s,s:b}", "pull", ref, "insecure", insecure);
	if (name)
		json_object_set_new(*body, "name", json_string(name));
	if (user) {
		json_object_set_new(*body, "username", json_string(user));
		json_object_set_new(*body, "password", json_string(pass_stdin ? pass : env));
	}
	explicit_bzero(pass, sizeof(pass));
	return -1;
}

static int image_pull(int argc, char **argv, struct app_opts *o)
{
	static const struct option opts[] = {APP_COMMON_OPTS,
					     {"name", required_argument, NULL, 'n'},
					     {"insecure", no_argument, NULL, 'k'},
					     {"username", required_argument, NULL, 'u'},
					     {"password-stdin", no_argument, NULL, 'p'},
					     {0}};
	const char *name = NULL, *user = NULL;
	bool insecure = false, pass_stdin = false;
	json_t *body = NULL;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		if (c == 'n')
			name = optarg;
		else if (c == 'k')
			insecure = true;
		else if (c == 'u')
			user = optarg;
		else if (c == 'p')
			pass_stdin = true;
		else if ((rc = app_opt(c, argv, o, "image pull", image_usage)) >= 0)
			return rc;
	if (argc - optind != 1)
		return app_usage_error(o, "image pull", "wants one image reference");
	rc = pull_body(o, argv[optind], name, insecure, user, pass_stdin, &body);
	return rc >= 0 ? rc : job_run(o, body, "pull", "pulled");
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
	if (!strcmp(sub, "pull"))
		return image_pull(argc - 1, argv + 1, o);
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
	return app_usage_error(o, "image", "wants import, pull, ls, inspect or rm, not '%s'", sub);
}
