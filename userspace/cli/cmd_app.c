/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's commands that change apps on emberd: deploy, rm, scale. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cli_http.h"

/* ---- deploy ---- */

static const char deploy_usage[] =
	"Usage: ember deploy [--replace] [--wait [--timeout S]] FILE|-\n"
	"\n"
	"Deploys a new app: sends the JSON app spec in FILE (- reads standard input)\n"
	"to emberd (POST /v1/apps). docs/api.md describes the spec; fields left out\n"
	"take their defaults, and the server refuses unknown fields and bad values\n"
	"with a message naming the field. With --replace the spec is a new version\n"
	"of the existing app of that name (PUT /v1/apps/NAME): it boots beside the\n"
	"old one, takes over once ready, and the old guests drain their flows.\n"
	"\n"
	"emberd answers at once and boots the app's first guest in the background;\n"
	"the app is 'deploying' until its snapshot is taken and a paused guest is\n"
	"ready, then 'ready' (or 'failed', with an error). This prints\n"
	"'deploying NAME' and exits; with --wait it polls the app until it is ready,\n"
	"printing a dot per poll on standard error, then prints 'NAME ready'.\n"
	"\n"
	"Options:\n"
	"  --replace      deploy a new version of an existing app\n"
	"  --wait         wait until the app (with --replace: the new version) is\n"
	"                 ready; exit 1 if it failed\n"
	"  --timeout S    with --wait: give up after S seconds (default: no limit)\n"
	"  --json         print emberd's answer (with --wait: the ready app) as JSON\n"
	"  --socket PATH  emberd's API socket\n"
	"\n"
	"Exit status: 0 deployed (with --wait: ready), 1 refused, failed or emberd\n"
	"unreachable, 2 usage error.\n"
	"\n"
	"Examples:\n"
	"  ember deploy --wait hello.json\n"
	"  sed s/hello/hello2/ hello.json | ember deploy -\n";

/* Larger than what emberd accepts (64 KiB: it answers 413), small enough to hold. */
#define SPEC_MAX (1u << 20)

/* The whole of (file) ("-": o->in) as a NUL-terminated string in (*out). */
static int read_spec(const struct app_opts *o, const char *file, char **out)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : o->in;
	char *buf = malloc(SPEC_MAX + 1);
	size_t len;

	*out = NULL;
	if (!f || !buf) {
		app_errorf(o, "deploy: %s: %s", file, strerror(errno));
		free(buf);
		return EXIT_RUNTIME;
	}
	len = fread(buf, 1, SPEC_MAX + 1, f);
	if (ferror(f))
		app_errorf(o, "deploy: %s: %s", file, strerror(errno));
	else if (len > SPEC_MAX)
		app_errorf(o, "deploy: %s: larger than 1 MiB, not an app spec", file);
	else
		*out = buf;
	if (f != o->in)
		fclose(f);
	if (!*out) {
		free(buf);
		return EXIT_RUNTIME;
	}
	buf[len] = '\0';
	return 0;
}

/* Has (app) stopped deploying? 0 ready, EXIT_RUNTIME failed, -1 not yet.
 * (version) > 0: a new version (PUT) is awaited instead. */
static int deploy_done(const struct app_opts *o, const json_t *app, json_int_t version)
{
	const char *name = app_jstr(app, "name", "?"), *state = app_jstr(app, "state", NULL);

	if (version > 0) {
		if (json_is_integer(json_object_get(app, "deploying_version")))
			return -1;
		if (json_integer_value(json_object_get(app, "serving_version")) >= version)
			return 0;
		app_errorf(o, "%s: %s", name, app_jstr(app, "error", "new version not deployed"));
		return EXIT_RUNTIME;
	}
	/* No state: a server that deploys synchronously; the 2xx said it all. */
	if (!state || !strcmp(state, "ready"))
		return 0;
	if (!strcmp(state, "deploying"))
		return -1;
	if (!strcmp(state, "failed"))
		app_errorf(o, "deploy of %s failed: %s", name,
			   app_jstr(app, "error", "(no error given)"));
	else
		app_errorf(o, "%s is %s, no longer deploying", name, state);
	return EXIT_RUNTIME;
}

/* Polls GET /v1/apps/NAME until deploy_done(); (*app) is the last answer. */
static int deploy_wait(const struct app_opts *o, json_t **app, uint32_t timeout_s,
		       json_int_t version)
{
	struct timespec t0, now;
	char path[1024];
	int rc;

	app_path(path, sizeof(path), app_jstr(*app, "name", "?"), "");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((rc = deploy_done(o, *app, version)) < 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_s && now.tv_sec - t0.tv_sec >= (time_t)timeout_s) {
			app_errorf(o, "%s is still deploying after %u s ('ember status %s')",
				   app_jstr(*app, "name", "?"), timeout_s,
				   app_jstr(*app, "name", "?"));
			return EXIT_RUNTIME;
		}
		app_progress_dot(o);
		app_sleep_ms(app_poll_ms(o));
		json_decref(*app);
		*app = NULL;
		if ((rc = app_call_json(o, "GET", path, NULL, app, NULL)))
			return rc;
	}
	app_progress_end(o);
	return rc;
}

int cmd_deploy(int argc, char **argv, struct app_opts *o)
{
	static const struct option opts[] = {
		APP_COMMON_OPTS,
		{"wait", no_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},
		{"replace", no_argument, NULL, 'r'},
		{0},
	};
	uint32_t timeout_s = 0;
	bool wait = false, replace = false;
	json_t *app = NULL;
	json_int_t version = 0;
	char *spec, path[1024] = "/v1/apps";
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'w')
			wait = true;
		else if (c == 'r')
			replace = true;
		else if (c == 't' && app_number(o, "deploy", "--timeout", optarg, &timeout_s))
			return EXIT_USAGE;
		else if (c == 't')
			continue;
		else if ((rc = app_opt(c, argv, o, "deploy", deploy_usage)) >= 0)
			return rc;
	}
	if (argc - optind != 1)
		return app_usage_error(o, "deploy", "wants one spec file (or - for stdin)");
	if ((rc = read_spec(o, argv[optind], &spec)))
		return rc;
	if (replace) { /* PUT to the spec's own name; the server checks the rest */
		json_t *j = json_loads(spec, 0, NULL);
		const char *name = json_string_value(json_object_get(j, "name"));

		if (name)
			app_path(path, sizeof(path), name, "");
		json_decref(j);
		if (!name) {
			free(spec);
			app_errorf(o,
				   "deploy --replace: %s has no \"name\" naming the app to replace",
				   argv[optind]);
			return EXIT_RUNTIME;
		}
	}
	rc = app_call_json(o, replace ? "PUT" : "POST", path, spec, &app, NULL);
	free(spec);
	if (rc)
		return rc;
	if (replace)
		version = json_integer_value(json_object_get(app, "version"));
	if (!o->json) {
		if (replace)
			fprintf(o->out, "deploying %s version %lld\n", app_jstr(app, "name", "?"),
				(long long)version);
		else
			fprintf(o->out, "deploying %s\n", app_jstr(app, "name", "?"));
		fflush(o->out);
	}
	if (wait)
		rc = deploy_wait(o, &app, timeout_s, version);
	if (!rc && o->json)
		app_print_json(o, app);
	else if (!rc && wait)
		fprintf(o->out, "%s ready\n", app_jstr(app, "name", "?"));
	json_decref(app);
	return rc;
}

/* ---- rm ---- */

static const char rm_usage[] =
	"Usage: ember rm [--wait] NAME\n"
	"\n"
	"Removes app NAME (DELETE /v1/apps/NAME): its services leave the dataplane\n"
	"and its guests are stopped. emberd answers at once and the app is\n"
	"'removing' until its last guest has exited. Prints 'removing NAME', or\n"
	"'removed NAME' when the server removed it at once.\n"
	"\n"
	"Options:\n"
	"  --wait         wait until the app is gone, then print 'removed NAME'\n"
	"  --json         print emberd's answer\n"
	"  --socket PATH  emberd's API socket\n"
	"\n"
	"Exit status: 0 removed (or removing), 1 no such app or emberd unreachable,\n"
	"2 usage error.\n";

/* Polls GET /v1/apps/NAME until it answers 404. */
static int rm_wait(const struct app_opts *o, const char *path)
{
	char msg[1024];

	for (;;) {
		struct cli_resp r;

		if (cli_http(o->sock, "GET", path, NULL, 0, &r, msg, sizeof(msg))) {
			app_errorf(o, "%s", msg);
			return EXIT_RUNTIME;
		}
		cli_resp_free(&r);
		if (r.status == 404)
			break;
		if (!cli_resp_ok(&r)) {
			app_errorf(o, "GET %s: %ld while waiting for the removal", path, r.status);
			return EXIT_RUNTIME;
		}
		app_progress_dot(o);
		app_sleep_ms(app_poll_ms(o));
	}
	app_progress_end(o);
	return 0;
}

int cmd_rm(int argc, char **argv, struct app_opts *o)
{
	static const struct option opts[] = {
		APP_COMMON_OPTS, {"wait", no_argument, NULL, 'w'}, {0}};
	bool wait = false;
	char path[1024];
	long status;
	json_t *j;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'w')
			wait = true;
		else if ((rc = app_opt(c, argv, o, "rm", rm_usage)) >= 0)
			return rc;
	}
	if (argc - optind != 1)
		return app_usage_error(o, "rm", "wants one app name");
	app_path(path, sizeof(path), argv[optind], "");
	if ((rc = app_call_json(o, "DELETE", path, NULL, &j, &status)))
		return rc;
	if (o->json)
		app_print_json(o, j);
	json_decref(j);
	if (status == 202 && !o->json)
		fprintf(o->out, "removing %s\n", argv[optind]);
	fflush(o->out);
	if (status == 202 && wait && (rc = rm_wait(o, path)))
		return rc;
	if ((status != 202 || wait) && !o->json)
		fprintf(o->out, "removed %s\n", argv[optind]);
	return 0;
}

/* ---- scale ---- */

static const char scale_usage[] =
	"Usage: ember scale NAME [--min N] [--max N] [--standby N]\n"
	"                        [--idle-timeout MS] [--target-concurrency N]\n"
	"\n"
	"Changes the scaling knobs of app NAME (PATCH /v1/apps/NAME/scale); the ones\n"
	"not given keep their values. At least one is needed. emberd's pool follows\n"
	"within a tick (100 ms). Prints the app's knobs after the change.\n"
	"\n"
	"Options (the ranges are the server's, docs/api.md):\n"
	"  --min N                   guests kept live even when idle (0-16;\n"
	"                            0 = scale to zero), at most --max\n"
	"  --max N                   most guests live at once (1-16)\n"
	"  --standby N               paused, pre-restored guests kept ready (0-16)\n"
	"  --idle-timeout MS         a live guest idle this long is paused or\n"
	"                            stopped (100-3600000)\n"
	"  --target-concurrency N    active flows per guest before another one is\n"
	"                            started (1-65535)\n"
	"  --json                    print the app as emberd answers it\n"
	"  --socket PATH             emberd's API socket\n"
	"\n"
	"Exit status: 0 changed, 1 refused (e.g. --min above --max), no such app or\n"
	"emberd unreachable, 2 usage error.\n"
	"\n"
	"Example: keep one guest always live and two paused ones ready:\n"
	"  ember scale hello --min 1 --standby 2\n";

static const char *const scale_keys[] = {"min_instances", "max_instances", "standby",
					 "idle_timeout_ms", "target_concurrency"};

static void print_scale(FILE *f, const json_t *app)
{
	char b[5][24];

	fprintf(f, "%s: min %s, max %s, standby %s, idle timeout %s ms, target concurrency %s\n",
		app_jstr(app, "name", "?"), app_jnum(app, scale_keys[0], b[0]),
		app_jnum(app, scale_keys[1], b[1]), app_jnum(app, scale_keys[2], b[2]),
		app_jnum(app, scale_keys[3], b[3]), app_jnum(app, scale_keys[4], b[4]));
}

/* Fills (req), the PATCH body, from the options: -1 to go on, else the exit code. */
static int scale_request(int argc, char **argv, struct app_opts *o, json_t *req)
{
	static const struct option opts[] = {
		APP_COMMON_OPTS,
		{"min", required_argument, NULL, 0},
		{"max", required_argument, NULL, 1},
		{"standby", required_argument, NULL, 2},
		{"idle-timeout", required_argument, NULL, 3},
		{"target-concurrency", required_argument, NULL, 4},
		{0},
	};
	char name[32];
	uint32_t v;
	int c, i, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, &i)) != -1) {
		if (c < 0 || c > 4) {
			if ((rc = app_opt(c, argv, o, "scale", scale_usage)) >= 0)
				return rc;
			continue;
		}
		snprintf(name, sizeof(name), "--%s", opts[i].name);
		if (app_number(o, "scale", name, optarg, &v))
			return EXIT_USAGE;
		json_object_set_new(req, scale_keys[c], json_integer(v));
	}
	if (argc - optind != 1)
		return app_usage_error(o, "scale", "wants one app name");
	if (!json_object_size(req))
		return app_usage_error(o, "scale",
				       "give at least one of --min, --max, --standby, "
				       "--idle-timeout, --target-concurrency");
	return -1;
}

int cmd_scale(int argc, char **argv, struct app_opts *o)
{
	json_t *req = json_object(), *app;
	char path[1024], *body;
	int rc = scale_request(argc, argv, o, req);

	body = rc < 0 ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (rc >= 0)
		return rc;
	app_path(path, sizeof(path), argv[optind], "/scale");
	rc = body ? app_call_json(o, "PATCH", path, body, &app, NULL) : EXIT_RUNTIME;
	free(body);
	if (rc)
		return rc;
	if (o->json)
		app_print_json(o, app);
	else
		print_scale(o->out, app);
	json_decref(app);
	return 0;
}
