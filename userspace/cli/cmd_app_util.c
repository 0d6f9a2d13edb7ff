/* SPDX-License-Identifier: Apache-2.0 */
/* What the ember CLI's app commands share: dispatch, options, requests with error reports, output.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api/api.h"
#include "cli.h"
#include "cli_http.h"

const char app_cmds_usage[] =
	"  deploy FILE|- [--wait] [--timeout S]\n"
	"            deploy the app described by a JSON spec (docs/api.md)\n"
	"  ls        list deployed apps: state, guests, wakes, VIPs\n"
	"  status NAME\n"
	"            one app in detail: spec, guests, last wake timings, instances\n"
	"  logs NAME [--instance ID] [--tail N] [-f]\n"
	"            guest console output\n"
	"  rm NAME [--wait]\n"
	"            remove an app and stop its guests\n"
	"  scale NAME [--min N] [--max N] [--standby N] [--idle-timeout MS]\n"
	"             [--target-concurrency N]\n"
	"            change an app's scaling knobs\n"
	"  top [--interval MS] [-n ITER]\n"
	"            live per-app view of guests and wakes\n"
	"  image import PATH [--name NAME] | pull REF [--insecure] [--username U]\n"
	"        | ls | inspect REF | rm REF\n"
	"            OCI images in emberd's store; 'ember image --help'\n";

/* A line of progress dots is open on stderr: errors start a new line. */
static bool progress_open;

void app_progress_dot(const struct app_opts *o)
{
	fputc('.', o->err);
	fflush(o->err);
	progress_open = true;
}

void app_progress_end(const struct app_opts *o)
{
	if (progress_open)
		fputc('\n', o->err);
	progress_open = false;
}

void app_errorf(const struct app_opts *o, const char *fmt, ...)
{
	va_list ap;

	app_progress_end(o);
	fputs("ember: ", o->err);
	va_start(ap, fmt);
	vfprintf(o->err, fmt, ap);
	va_end(ap);
	fputc('\n', o->err);
}

int app_usage_error(const struct app_opts *o, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(o->err, "ember %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(o->err, fmt, ap);
	va_end(ap);
	fprintf(o->err, " (see 'ember %s --help')\n", cmd);
	return EXIT_USAGE;
}

int app_opt(int c, char **argv, struct app_opts *o, const char *cmd, const char *usage)
{
	switch (c) {
	case 'S':
		o->sock = optarg;
		return -1;
	case 'J':
		o->json = true;
		return -1;
	case 'h':
		fputs(usage, o->out);
		return 0;
	case ':':
		return app_usage_error(o, cmd, "option '%s' needs a value", argv[optind - 1]);
	default:
		return app_usage_error(o, cmd, "unknown option '%s'", argv[optind - 1]);
	}
}

int app_number(const struct app_opts *o, const char *cmd, const char *opt, const char *s,
	       uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v > UINT32_MAX) {
		app_usage_error(o, cmd, "%s wants a whole number, not '%s'", opt, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

void app_path(char *buf, size_t len, const char *name, const char *suffix)
{
	snprintf(buf, len, "/v1/apps/");
	cli_url_escape(buf, len, name);
	snprintf(buf + strlen(buf), len - strlen(buf), "%s", suffix);
}

int app_request(const struct app_opts *o, const char *method, const char *path, const char *body,
		struct cli_resp *r)
{
	char msg[1024];

	if (cli_http(o->sock, method, path, body, body ? strlen(body) : 0, r, msg, sizeof(msg))) {
		app_errorf(o, "%s", msg);
		return EXIT_RUNTIME;
	}
	if (!cli_resp_ok(r)) {
		cli_http_errmsg(method, path, r, msg, sizeof(msg));
		app_errorf(o, "%s", msg);
		cli_resp_free(r);
		return EXIT_RUNTIME;
	}
	return 0;
}

int app_call_json(const struct app_opts *o, const char *method, const char *path, const char *body,
		  json_t **j, long *status)
{
	struct cli_resp r;
	json_error_t e;
	int rc = app_request(o, method, path, body, &r);

	if (rc)
		return rc;
	if (status)
		*status = r.status;
	*j = json_loadb(r.body, r.len, 0, &e);
	if (!*j)
		app_errorf(o, "%s %s: %ld: the answer is not JSON (%s)", method, path, r.status,
			   e.text);
	cli_resp_free(&r);
	return *j ? 0 : EXIT_RUNTIME;
}

void app_print_json(const struct app_opts *o, const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	fprintf(o->out, "%s\n", s ? s : "null");
	free(s);
}

void app_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

unsigned int app_poll_ms(const struct app_opts *o)
{
	return o->poll_ms ? o->poll_ms : 500;
}

/* "12", or "-" when (key) is not an integer member of (obj). */
const char *app_jnum(const json_t *obj, const char *key, char buf[24])
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return "-";
	snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

const char *app_jstr(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : dflt;
}

/*
 * Parses the options of a command with no options of its own and exactly
 * (nargs) operands. Returns -1 to go on (operands at argv[optind]), else
 * the exit code.
 */
int app_simple_opts(int argc, char **argv, struct app_opts *o, const char *usage, int nargs,
		    const char *what)
{
	static const struct option opts[] = {APP_COMMON_OPTS, {0}};
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		if ((rc = app_opt(c, argv, o, argv[0], usage)) >= 0)
			return rc;
	if (argc - optind != nargs)
		return app_usage_error(o, argv[0], "%s", what);
	return -1;
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	int (*run)(int argc, char **argv, struct app_opts *o);
} cmds[] = {
	{"deploy", cmd_deploy}, {"ls", cmd_ls},	    {"status", cmd_status}, {"rm", cmd_rm},
	{"scale", cmd_scale},	{"logs", cmd_logs}, {"top", cmd_top},	    {"image", cmd_image},
};

int cmd_app(int argc, char **argv, const struct app_opts *in)
{
	struct app_opts o = *in;
	const char *env = getenv("EMBER_SOCKET");

	o.in = o.in ? o.in : stdin;
	o.out = o.out ? o.out : stdout;
	o.err = o.err ? o.err : stderr;
	if (!o.sock)
		o.sock = env && *env ? env : API_SOCK_DEFAULT;
	progress_open = false;
	for (size_t i = 0; argc > 0 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[0], cmds[i].name))
			return cmds[i].run(argc, argv, &o);
	fprintf(o.err, "ember: unknown command '%s' (see 'ember --help')\n",
		argc > 0 ? argv[0] : "");
	return EXIT_USAGE;
}
