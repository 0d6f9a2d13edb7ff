/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's watching commands: logs (guest console output, -f follows) and top (live view).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_http.h"

/* ---- logs ---- */

static const char logs_usage[] =
	"Usage: ember logs [--instance ID] [--tail N] [-f] NAME\n"
	"\n"
	"Prints the console output of app NAME's guests as emberd keeps it\n"
	"(GET /v1/apps/NAME/logs, text): what the guest kernel, ember-init and the\n"
	"workload wrote to the serial console.\n"
	"\n"
	"Options:\n"
	"  --instance ID    only guest ID (an id of 'ember status NAME')\n"
	"  --tail N         only the last N lines (1-100000)\n"
	"  -f, --follow     keep polling every 500 ms and print lines as they come,\n"
	"                   until interrupted. With --tail, more than N new lines\n"
	"                   between two polls are not all seen.\n"
	"  --socket PATH    emberd's API socket\n"
	"  --json           no effect: logs are text, printed as emberd sends them\n"
	"\n"
	"Exit status: 0 printed (with -f: never returns on its own), 1 no such app\n"
	"or instance, logs not available from this emberd (501), emberd\n"
	"unreachable, 2 usage error.\n"
	"\n"
	"Example: ember logs --tail 50 -f hello\n";

/*
 * How many bytes at the start of (cur) were already printed as the end of
 * (prev): all of (prev) when the log only grew, else the longest overlap
 * that ends a line (a --tail window that slid). 0: nothing in common.
 */
static size_t logs_overlap(const char *prev, size_t plen, const char *cur, size_t clen)
{
	if (clen >= plen && !memcmp(cur, prev, plen))
		return plen;
	for (size_t k = plen < clen ? plen : clen; k > 0; k--)
		if (cur[k - 1] == '\n' && !memcmp(prev + plen - k, cur, k))
			return k;
	return 0;
}

/* Re-polls (path) for ever, printing what is new after (prev). */
static int logs_follow(const struct app_opts *o, const char *path, struct cli_resp *prev)
{
	for (;;) {
		struct cli_resp cur;
		size_t skip;
		int rc;

		app_sleep_ms(app_poll_ms(o));
		if ((rc = app_request(o, "GET", path, NULL, &cur)))
			return rc;
		skip = logs_overlap(prev->body, prev->len, cur.body, cur.len);
		fwrite(cur.body + skip, 1, cur.len - skip, o->out);
		fflush(o->out);
		cli_resp_free(prev);
		*prev = cur;
	}
}

/* "/v1/apps/NAME/logs?instance=ID&tail=N" */
static void logs_path(char *buf, size_t len, const char *name, const char *inst, const char *tail)
{
	app_path(buf, len, name, "/logs");
	if (inst) {
		snprintf(buf + strlen(buf), len - strlen(buf), "?instance=");
		cli_url_escape(buf, len, inst);
	}
	if (tail) {
		snprintf(buf + strlen(buf), len - strlen(buf), "%stail=", inst ? "&" : "?");
		cli_url_escape(buf, len, tail);
	}
}

int cmd_logs(int argc, char **argv, struct app_opts *o)
{
	static const struct option opts[] = {
		APP_COMMON_OPTS,
		{"instance", required_argument, NULL, 'i'},
		{"tail", required_argument, NULL, 't'},
		{"follow", no_argument, NULL, 'f'},
		{0},
	};
	const char *inst = NULL, *tail = NULL;
	struct cli_resp r;
	bool follow = false;
	char path[2048];
	uint32_t n;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf", opts, NULL)) != -1) {
		if (c == 'i')
			inst = optarg;
		else if (c == 't' && app_number(o, "logs", "--tail", optarg, &n))
			return EXIT_USAGE;
		else if (c == 't')
			tail = optarg;
		else if (c == 'f')
			follow = true;
		else if ((rc = app_opt(c, argv, o, "logs", logs_usage)) >= 0)
			return rc;
	}
	if (argc - optind != 1)
		return app_usage_error(o, "logs", "wants one app name");
	logs_path(path, sizeof(path), argv[optind], inst, tail);
	if ((rc = app_request(o, "GET", path, NULL, &r)))
		return rc;
	fwrite(r.body, 1, r.len, o->out);
	fflush(o->out);
	if (follow)
		rc = logs_follow(o, path, &r);
	cli_resp_free(&r);
	return rc;
}

/* ---- top ---- */

static const char top_usage[] =
	"Usage: ember top [--interval MS] [-n ITER]\n"
	"\n"
	"A live view of every app (GET /v1/apps every interval). On a terminal the\n"
	"screen is redrawn; otherwise each round is printed as a block (a header\n"
	"line, the table, an empty line), for logs and scripts. Columns:\n"
	"  NAME, STATE       as in 'ember ls'\n"
	"  LIVE PAUSED       guests running / paused and ready to wake\n"
	"  START STOP        guests booting or restoring / being stopped\n"
	"  WAKES MISSED      wakes since the deploy / wakes that found no paused guest\n"
	"  WAKE/S            wakes per second since the previous round\n"
	"  LAST-WAKE         the last wake's time from the dataplane's event to\n"
	"                    ember-vmm's 'resumed' (event_to_ok_us)\n"
	"\n"
	"Options:\n"
	"  --interval MS     time between rounds (default 1000, at least 100)\n"
	"  -n, --iterations ITER\n"
	"                    stop after ITER rounds (default: until interrupted)\n"
	"  --json            print each round's answer of emberd as JSON\n"
	"  --socket PATH     emberd's API socket\n"
	"\n"
	"Exit status: 0 after ITER rounds, 1 emberd unreachable or failed,\n"
	"2 usage error.\n"
	"\n"
	"Example: ember top -n 1 --interval 500\n";

/* 435us, 12.3ms, 1.20s */
static const char *fmt_us(const json_t *w, char buf[24])
{
	json_t *v = json_object_get(w, "event_to_ok_us");
	json_int_t us = json_integer_value(v);

	if (!json_is_integer(v))
		return "-";
	if (us < 1000)
		snprintf(buf, 24, "%" JSON_INTEGER_FORMAT "us", us);
	else if (us < 10000000)
		snprintf(buf, 24, "%.1fms", (double)us / 1000);
	else
		snprintf(buf, 24, "%.2fs", (double)us / 1000000);
	return buf;
}

/* Wakes per second of app (a) since (prev), the previous round's apps. */
static const char *wake_rate(const json_t *a, const json_t *prev, double secs, char buf[24])
{
	const char *name = app_jstr(a, "name", "");
	size_t i;
	json_t *p;

	json_array_foreach(prev, i, p)
	{
		json_t *now = json_object_get(a, "wakes"), *then = json_object_get(p, "wakes");

		if (strcmp(app_jstr(p, "name", ""), name) || !json_is_integer(now) ||
		    !json_is_integer(then) || secs <= 0)
			continue;
		snprintf(buf, 24, "%.1f",
			 (double)(json_integer_value(now) - json_integer_value(then)) / secs);
		return buf;
	}
	return "-";
}

static void top_header(FILE *f, const json_t *apps)
{
	json_int_t live = 0, paused = 0, wakes = 0;
	time_t now = time(NULL);
	char when[32];
	size_t i;
	json_t *a;

	json_array_foreach(apps, i, a)
	{
		live += json_integer_value(json_object_get(json_object_get(a, "guests"), "live"));
		paused +=
			json_integer_value(json_object_get(json_object_get(a, "guests"), "paused"));
		wakes += json_integer_value(json_object_get(a, "wakes"));
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
	fprintf(f,
		"ember top  %s  %zu apps, %" JSON_INTEGER_FORMAT " live, %" JSON_INTEGER_FORMAT
		" paused guests, %" JSON_INTEGER_FORMAT " wakes\n",
		when, json_array_size(apps), live, paused, wakes);
}

static void top_table(FILE *f, const json_t *apps, const json_t *prev, double secs)
{
	int w = 4;
	size_t i;
	json_t *a;

	json_array_foreach(apps, i, a)
	{
		int len = (int)strlen(app_jstr(a, "name", "?"));

		w = len > w ? len : w;
	}
	fprintf(f, "%-*s  %-9s  %4s  %6s  %5s  %4s  %6s  %6s  %6s  %9s\n", w, "NAME", "STATE",
		"LIVE", "PAUSED", "START", "STOP", "WAKES", "WAKE/S", "MISSED", "LAST-WAKE");
	json_array_foreach(apps, i, a)
	{
		json_t *g = json_object_get(a, "guests");
		char b[8][24];

		fprintf(f, "%-*s  %-9s  %4s  %6s  %5s  %4s  %6s  %6s  %6s  %9s\n", w,
			app_jstr(a, "name", "?"), app_jstr(a, "state", "-"),
			app_jnum(g, "live", b[0]), app_jnum(g, "paused", b[1]),
			app_jnum(g, "starting", b[2]), app_jnum(g, "stopping", b[3]),
			app_jnum(a, "wakes", b[4]), wake_rate(a, prev, secs, b[5]),
			app_jnum(a, "wakes_missed", b[6]),
			fmt_us(json_object_get(a, "last_wake"), b[7]));
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rounds of GET /v1/apps; (iters) 0 = for ever. */
static int top_loop(const struct app_opts *o, uint32_t interval_ms, uint32_t iters)
{
	bool tty = isatty(fileno(o->out)) == 1;
	json_t *prev = NULL, *cur;
	double t_prev = 0, t;
	int rc = 0;

	for (uint32_t n = 0; !iters || n < iters; n++) {
		if (n)
			app_sleep_ms(interval_ms);
		if ((rc = app_call_json(o, "GET", "/v1/apps", NULL, &cur, NULL)))
			break;
		t = now_s();
		if (o->json) {
			app_print_json(o, cur);
		} else {
			/* Home the cursor and clear the screen: one frame per round. */
			fputs(tty ? "\033[H\033[2J" : n ? "\n" : "", o->out);
			top_header(o->out, json_object_get(cur, "apps"));
			top_table(o->out, json_object_get(cur, "apps"),
				  json_object_get(prev, "apps"), t - t_prev);
		}
		fflush(o->out);
		json_decref(prev);
		prev = cur;
		t_prev = t;
	}
	json_decref(prev);
	return rc;
}

int cmd_top(int argc, char **argv, struct app_opts *o)
{
	static const struct option opts[] = {
		APP_COMMON_OPTS,
		{"interval", required_argument, NULL, 'i'},
		{"iterations", required_argument, NULL, 'n'},
		{0},
	};
	uint32_t interval = 1000, iters = 0;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:", opts, NULL)) != -1) {
		if (c == 'i' && app_number(o, "top", "--interval", optarg, &interval))
			return EXIT_USAGE;
		else if (c == 'n' && app_number(o, "top", "-n", optarg, &iters))
			return EXIT_USAGE;
		else if (c != 'i' && c != 'n' && (rc = app_opt(c, argv, o, "top", top_usage)) >= 0)
			return rc;
	}
	if (argc != optind)
		return app_usage_error(o, "top", "takes no operands");
	if (interval < 100)
		return app_usage_error(o, "top", "--interval must be at least 100 (ms)");
	return top_loop(o, interval, iters);
}
