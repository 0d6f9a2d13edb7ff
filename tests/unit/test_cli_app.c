/* SPDX-License-Identifier: Apache-2.0 */
/* The ember CLI's app commands against the real API server (api_harness) with an emberd-like fake.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_harness.h"
/* Not "cli.h": tests/unit objects have -Ivmm first, and vmm/ has its own cli.h. */
#include "cli/cli.h"

/*
 * The backend: fake_ops (the registry) with what emberd adds to an app:
 * state, guests, wakes, last_wake. Apps named slow* deploy in the
 * background (202, "ready" from the third GET on), broken* fail there;
 * "web" has two instances; "chatty" has a log that grows by one line per
 * request and, while (count_lists), one more wake per GET /v1/apps. Only the server thread touches
 * these.
 */
static unsigned int slow_gets, broken_gets, chatty_lines, list_calls;
static volatile bool count_lists; /* set by the test thread around one run */

static void decorate(json_t *a, bool count)
{
	const char *name = jstr(a, "name");
	const char *state = "ready";

	if (!strncmp(name, "slow", 4) && (count ? ++slow_gets : slow_gets) < 3)
		state = "deploying";
	if (!strncmp(name, "broken", 6) && (count ? ++broken_gets : broken_gets) < 2)
		state = "deploying";
	else if (!strncmp(name, "broken", 6))
		state = "failed";
	json_object_set_new(a, "state", json_string(state));
	if (!strcmp(state, "failed"))
		json_object_set_new(a, "error", json_string("boot VMM exited with status 1"));
	json_object_set_new(a, "guests",
			    json_pack("{s:i,s:i,s:i,s:i}", "live", 1, "paused", 2, "starting", 0,
				      "stopping", 0));
	json_object_set_new(a, "wakes", json_integer(strcmp(name, "chatty") ? 7 : 7 + list_calls));
	json_object_set_new(a, "wakes_missed", json_integer(1));
	json_object_set_new(a, "last_wake",
			    json_pack("{s:i,s:i,s:i,s:i,s:i,s:n}", "guest", 3, "event_to_recv_us",
				      85, "recv_to_resume_sent_us", 40, "resume_sent_to_running_us",
				      310, "event_to_ok_us", 435, "event_to_first_packet_us"));
}

static int cli_deploy(void *ctx, const struct app_spec *spec, struct api_reply *rep)
{
	int rc = fake_ops.deploy(ctx, spec, rep);

	if (rc)
		return rc;
	if (!strncmp(spec->name, "slow", 4))
		slow_gets = 0;
	if (!strncmp(spec->name, "broken", 6))
		broken_gets = 0;
	if (!strncmp(spec->name, "slow", 4) || !strncmp(spec->name, "broken", 6))
		rep->status = 202;
	decorate(rep->json, false);
	return 0;
}

static int cli_list(void *ctx, struct api_reply *rep)
{
	int rc = fake_ops.list(ctx, rep);
	size_t i;
	json_t *a;

	list_calls += count_lists;
	json_array_foreach(json_object_get(rep->json, "apps"), i, a) decorate(a, false);
	return rc;
}

static int cli_get(void *ctx, const char *name, struct api_reply *rep)
{
	int rc = fake_ops.get(ctx, name, rep);

	if (!rc)
		decorate(rep->json, true);
	return rc;
}

static int cli_scale(void *ctx, const char *name, const struct app_scale *sc, struct api_reply *rep)
{
	int rc = fake_ops.scale(ctx, name, sc, rep);

	if (!rc)
		decorate(rep->json, false);
	return rc;
}

/* slow*: 202, as emberd answers while guests are being stopped. */
static int cli_remove(void *ctx, const char *name, struct api_reply *rep)
{
	int rc = fake_ops.remove(ctx, name, rep);

	if (!rc && !strncmp(name, "slow", 4))
		rep->status = 202;
	return rc;
}

static int cli_instances(void *ctx, const char *name, struct api_reply *rep)
{
	if (strcmp(name, "web"))
		return fake_ops.instances(ctx, name, rep);
	rep->json = json_pack("{s:[{s:i,s:s,s:i,s:s,s:i,s:i},{s:i,s:s,s:i,s:s,s:i,s:n}]}",
			      "instances", "id", 1, "state", "live", "pid", 4242, "tap", "ember7",
			      "slot", 0, "active_flows", 3, "id", 2, "state", "paused", "pid", 4243,
			      "tap", "ember8", "slot", -1, "active_flows");
	return 0;
}

/* chatty: "line 1" .. "line N", N one more per request, the last (tail). */
static int cli_logs(void *ctx, const char *name, const struct api_logs_query *q,
		    struct api_reply *rep)
{
	char *t = NULL;
	size_t len = 0;
	FILE *f;

	if (strcmp(name, "chatty"))
		return fake_ops.logs(ctx, name, q, rep);
	f = open_memstream(&t, &len);
	chatty_lines++;
	for (unsigned int i = 1; i <= chatty_lines; i++)
		if (!q->tail || i + q->tail > chatty_lines)
			fprintf(f, "line %u\n", i);
	fclose(f);
	rep->text = t;
	rep->text_len = len;
	return 0;
}

static struct api_backend_ops cli_ops, nologs_ops;
static struct server cli_srv, nologs_srv;

static int setup(void **state)
{
	int rc = api_setup(state);

	cli_ops = fake_ops;
	cli_ops.deploy = cli_deploy;
	cli_ops.list = cli_list;
	cli_ops.get = cli_get;
	cli_ops.remove = cli_remove;
	cli_ops.scale = cli_scale;
	cli_ops.instances = cli_instances;
	cli_ops.logs = cli_logs;
	nologs_ops = fake_ops;
	nologs_ops.logs = NULL;
	if (!rc)
		rc = start_server(&cli_srv, &cli_ops, "cli.sock");
	if (!rc)
		rc = start_server(&nologs_srv, &nologs_ops, "nologs.sock");
	return rc;
}

static int teardown(void **state)
{
	stop_server(&cli_srv);
	stop_server(&nologs_srv);
	return api_teardown(state);
}

/* ---- running a command: stdout and stderr into OUT and ERR ---- */

static char *OUT, *ERR;
static const char *SOCK; /* NULL: cli_srv */

/* ember [--json] ARGV... on SOCK, with (in) as standard input. */
static int run_in(bool json, const char *in, ...)
{
	size_t olen = 0, elen = 0;
	char *argv[32];
	struct app_opts o = {.sock = SOCK ? SOCK : cli_srv.path, .json = json, .poll_ms = 20};
	va_list ap;
	int argc = 0, rc;

	free(OUT);
	free(ERR);
	va_start(ap, in);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	o.out = open_memstream(&OUT, &olen);
	o.err = open_memstream(&ERR, &elen);
	o.in = in ? fmemopen((void *)in, strlen(in), "r") : NULL;
	rc = cmd_app(argc, argv, &o);
	fclose(o.out);
	fclose(o.err);
	if (o.in)
		fclose(o.in);
	if (getenv("EMBER_TEST_VERBOSE")) { /* the transcript, for people */
		fprintf(stderr, "$ ember%s", json ? " --json" : "");
		for (int i = 0; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n%s%s[exit %d]\n", OUT, ERR, rc);
	}
	return rc;
}

#define run(...)      run_in(false, NULL, __VA_ARGS__, NULL)
#define run_json(...) run_in(true, NULL, __VA_ARGS__, NULL)

static void expect_out(const char *want)
{
	if (strcmp(OUT, want))
		fail_msg("stdout:\n%s\nwant:\n%s\nstderr: %s", OUT, want, ERR);
}

static void expect_err(const char *want)
{
	if (strcmp(ERR, want))
		fail_msg("stderr:\n%s\nwant:\n%s", ERR, want);
}

static void expect_in(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' not in:\n%s", needle, hay);
}

static const char *spec_file(const char *name, const char *json)
{
	static char path[192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.json", srv.dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(json, f);
	fclose(f);
	return path;
}

static void rm_file(const char *name)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s.json", srv.dir, name);
	unlink(path);
}

#define SPEC(name, vip_port)                                                                       \
	"{\"name\": \"" name "\", \"image\": \"web:1\", \"services\": [" vip_port "]}"

/* ---- the tests, in order: they share the apps deployed ---- */

static void test_deploy_and_ls(void **state)
{
	(void)state;
	assert_int_equal(run("deploy", spec_file("web", SPEC("web", "{\"vip\": \"10.1.0.1\", "
								    "\"port\": 80}"))),
			 0);
	expect_out("deploying web\n");
	expect_err("");
	rm_file("web");
	/* - reads standard input */
	assert_int_equal(run_in(false,
				SPEC("db", "{\"vip\": \"fd00::5\", \"port\": 5432, \"proto\": "
					   "\"udp\"}, {\"vip\": \"10.1.0.2\", \"port\": 53}"),
				"deploy", "-", NULL),
			 0);
	expect_out("deploying db\n");

	assert_int_equal(run("ls"), 0);
	expect_out("NAME  STATE      LIVE  PAUSED  WAKES  VIPS\n"
		   "db    ready         1       2      7  [fd00::5]:5432/udp,10.1.0.2:53/tcp\n"
		   "web   ready         1       2      7  10.1.0.1:80/tcp\n");
	expect_err("");
}

static void test_deploy_refused(void **state)
{
	(void)state;
	assert_int_equal(run("deploy", spec_file("bad", SPEC("bad", "{\"vip\": \"10.1.0.9\", "
								    "\"port\": 0}"))),
			 1);
	expect_out("");
	expect_err("ember: POST /v1/apps: 400: services[0].port: must be 1-65535\n");
	rm_file("bad");
	assert_int_equal(run_in(false, "{\"name\": \"web\",", "deploy", "-", NULL), 1);
	expect_in(ERR, "ember: POST /v1/apps: 400: malformed JSON at line 1");
	assert_int_equal(run_in(false, SPEC("web", "{\"vip\": \"10.1.0.1\", \"port\": 80}"),
				"deploy", "-", NULL),
			 1);
	expect_err("ember: POST /v1/apps: 409: name: an app named \"web\" already exists\n");
	assert_int_equal(run("deploy", "/nonexistent/app.json"), 1);
	expect_err("ember: deploy: /nonexistent/app.json: No such file or directory\n");
}

static void test_deploy_wait(void **state)
{
	(void)state;
	assert_int_equal(run("deploy", "--wait",
			     spec_file("slow", SPEC("slow", "{\"vip\": \"10.1.0.3\", "
							    "\"port\": 80}"))),
			 0);
	expect_out("deploying slow\nslow ready\n");
	expect_err("...\n"); /* the GETs that still said deploying, then the line's end */
	rm_file("slow");

	assert_int_equal(run("deploy", "--wait",
			     spec_file("broken", SPEC("broken", "{\"vip\": \"10.1.0.4\", "
								"\"port\": 80}"))),
			 1);
	expect_out("deploying broken\n");
	expect_err("..\nember: deploy of broken failed: boot VMM exited with status 1\n");
	rm_file("broken");
}

/* --replace: PUT to the spec's name; a new version, or the server's refusal. */
static void test_deploy_replace(void **state)
{
	const char *spec = SPEC("rep", "{\"vip\": \"10.1.0.8\", \"port\": 80}");

	(void)state;
	assert_int_equal(run("deploy", spec_file("rep", spec)), 0);
	assert_int_equal(run("deploy", "--replace", spec_file("rep", spec)), 0);
	expect_out("deploying rep version 2\n");
	expect_err("");
	assert_int_equal(run("deploy", "--replace",
			     spec_file("rep", SPEC("nope", "{\"vip\": \"10.1.0.7\", "
							   "\"port\": 80}"))),
			 1);
	expect_err("ember: PUT /v1/apps/nope: 404: name: no app named \"nope\"\n");
	assert_int_equal(run_in(false, "{\"image\": {}}", "deploy", "--replace", "-", NULL), 1);
	expect_err("ember: deploy --replace: - has no \"name\" naming the app to replace\n");
	rm_file("rep");
	assert_int_equal(run("rm", "--wait", "rep"), 0);
}

static void test_status(void **state)
{
	(void)state;
	assert_int_equal(run("status", "web"), 0);
	expect_out("name:       web (id 0, version 1)\n"
		   "state:      ready\n"
		   "guests:     1 live, 2 paused, 0 starting, 0 stopping\n"
		   "wakes:      7 (1 missed)\n"
		   "last wake:  guest 3\n"
		   "            event -> recv                85 us\n"
		   "            recv -> resume sent          40 us\n"
		   "            resume sent -> running      310 us\n"
		   "            event -> ok                 435 us\n"
		   "            event -> first packet         -\n"
		   "services:   10.1.0.1:80/tcp\n"
		   "image:      web:1\n"
		   "resources:  128 MiB, 1 vCPU\n"
		   "scaling:    min 0, max 4, standby 1, idle timeout 5000 ms, target concurrency "
		   "32\n"
		   "instances:\n"
		   "    ID  STATE            PID  TAP         SLOT  FLOWS\n"
		   "     1  live            4242  ember7         0      3\n"
		   "     2  paused          4243  ember8         -      -\n");
	assert_int_equal(run("status", "broken"), 0);
	expect_in(OUT, "state:      failed\nerror:      boot VMM exited with status 1\n");
	expect_in(OUT, "instances:  none\n");

	assert_int_equal(run("status", "nope"), 1);
	expect_out("");
	expect_err("ember: GET /v1/apps/nope: 404: no app named \"nope\"\n");
	/* Not a valid name: the server says why; the CLI escapes the path. */
	assert_int_equal(run("status", "No/pe"), 1);
	expect_in(ERR, "ember: GET /v1/apps/No%2Fpe: 4");
}

/* (OUT) parses, and equals the server's answer to GET (path) on cli_srv. */
static void expect_json_of(const char *path, const char *member)
{
	static struct resp r;
	json_t *mine = json_loads(OUT, 0, NULL);

	if (!mine)
		fail_msg("not JSON: %s", OUT);
	http_on(cli_srv.path, &r, "GET", path, NULL, 0, false);
	assert_int_equal(r.status, 200);
	if (!json_equal(member ? json_object_get(mine, member) : mine, r.json))
		fail_msg("%s: CLI printed\n%s\nthe server says\n%s", path, OUT, r.body);
	json_decref(mine);
	json_decref(r.json);
	r.json = NULL;
}

static void test_json(void **state)
{
	json_t *j;

	(void)state;
	assert_int_equal(run_json("ls"), 0);
	expect_json_of("/v1/apps", NULL);
	assert_int_equal(run("ls", "--json"), 0); /* the option after the command */
	expect_json_of("/v1/apps", NULL);
	assert_string_equal(OUT + strlen(OUT) - 2, "}\n"); /* indented, one newline */
	expect_in(OUT, "\n  \"apps\": [\n");

	assert_int_equal(run_json("status", "web"), 0);
	expect_json_of("/v1/apps/web", "app");
	j = json_loads(OUT, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(j, "instances")), 2);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(json_object_get(j, "instances"), 0), "pid")),
			 4242);
	json_decref(j);
}

/* (app).(key) as GET /v1/apps/APP answers it. */
static json_int_t field_of(const char *app, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/v1/apps/%s", app);
	http_on(cli_srv.path, &R, "GET", path, NULL, 0, false);
	assert_int_equal(R.status, 200);
	return json_integer_value(json_object_get(R.json, key));
}

static void test_scale(void **state)
{
	(void)state;
	assert_int_equal(run("scale", "web", "--min", "1", "--standby", "3"), 0);
	expect_out("web: min 1, max 4, standby 3, idle timeout 5000 ms, target concurrency 32\n");
	assert_int_equal(field_of("web", "min_instances"), 1);
	assert_int_equal(field_of("web", "standby"), 3);

	assert_int_equal(run("scale", "--idle-timeout", "250", "web", "--target-concurrency", "8"),
			 0);
	assert_int_equal(field_of("web", "idle_timeout_ms"), 250);
	assert_int_equal(field_of("web", "target_concurrency"), 8);
	assert_int_equal(field_of("web", "min_instances"), 1); /* PATCH: the rest kept */

	assert_int_equal(run("scale", "web", "--max", "0"), 1);
	expect_err("ember: PATCH /v1/apps/web/scale: 400: max_instances: must be 1-16\n");
	assert_int_equal(run("scale", "web", "--min", "5", "--max", "2"), 1);
	expect_in(ERR, "ember: PATCH /v1/apps/web/scale: 400: ");
	assert_int_equal(field_of("web", "max_instances"), 4); /* unchanged */

	assert_int_equal(run_json("scale", "web", "--max", "6"), 0);
	expect_json_of("/v1/apps/web", NULL);
	assert_int_equal(run("scale", "nope", "--min", "1"), 1);
	expect_err("ember: PATCH /v1/apps/nope/scale: 404: no app named \"nope\"\n");
}

static void test_rm(void **state)
{
	(void)state;
	assert_int_equal(run("rm", "db"), 0);
	expect_out("removed db\n");
	http_on(cli_srv.path, &R, "GET", "/v1/apps/db", NULL, 0, false);
	assert_int_equal(R.status, 404);
	assert_int_equal(run("rm", "db"), 1);
	expect_err("ember: DELETE /v1/apps/db: 404: no app named \"db\"\n");

	assert_int_equal(run("rm", "--wait", "slow"), 0); /* 202, then gone */
	expect_out("removing slow\nremoved slow\n");
	assert_int_equal(run("ls"), 0);
	assert_null(strstr(OUT, "slow"));
	expect_in(OUT, "\nbroken ");
}

static void test_logs(void **state)
{
	(void)state;
	assert_int_equal(run("logs", "web"), 0);
	expect_out("logs of web instance=* tail=0\n");
	assert_int_equal(run("logs", "web", "--instance", "web-1", "--tail", "5"), 0);
	expect_out("logs of web instance=web-1 tail=5\n");
	assert_int_equal(run("logs", "web", "--tail", "0"), 1);
	expect_err("ember: GET /v1/apps/web/logs?tail=0: 400: tail: must be 1-100000 (lines)\n");
	assert_int_equal(run("logs", "nope"), 1);
	expect_err("ember: GET /v1/apps/nope/logs: 404: no app named \"nope\"\n");

	/* An emberd without the logs route. */
	SOCK = nologs_srv.path;
	assert_int_equal(run("logs", "web"), 1);
	SOCK = NULL;
	expect_out("");
	expect_err("ember: GET /v1/apps/web/logs: 501: GET /v1/apps/web/logs is not implemented "
		   "by this daemon\n");
}

/* `logs -f NAME [--tail N]` in a child for (ms); returns what it printed. */
static char *follow_for(unsigned int ms, const char *name, const char *tail)
{
	char path[192], *text = calloc(1, 8192);
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/follow.out", srv.dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct app_opts o = {.sock = cli_srv.path, .poll_ms = 20};
		char *argv[] = {"logs", "-f", (char *)name, "--tail", (char *)tail, NULL};

		o.out = fopen(path, "w");
		o.err = o.out;
		_exit(cmd_app(tail ? 5 : 3, argv, &o) == 0 ? 0 : 3);
	}
	usleep(ms * 1000);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(text, 1, 8191, f) < 8191);
	fclose(f);
	unlink(path);
	return text;
}

static void test_logs_follow(void **state)
{
	char *t, want[8192] = "";
	unsigned int n = 0;

	(void)state;
	/* The same text on every poll: printed once. */
	t = follow_for(300, "web", NULL);
	assert_string_equal(t, "logs of web instance=* tail=0\n");
	free(t);

	/* A log that grows by a line per poll, seen through a 2-line window:
	 * every line once, in order. */
	assert_int_equal(run("deploy", spec_file("chatty", SPEC("chatty", "{\"vip\": \"10.1.0.7\", "
									  "\"port\": 80}"))),
			 0);
	rm_file("chatty");
	t = follow_for(400, "chatty", "2");
	for (const char *p = t; (p = strchr(p, '\n')); p++)
		n++;
	assert_true(n >= 3); /* 400 ms of 20 ms polls: at least 2, even on a loaded machine */
	for (unsigned int i = 1; i <= n; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "line %u\n", i);
	assert_string_equal(t, want);
	free(t);
}

static void test_top(void **state)
{
	const char *rate;
	double r;

	(void)state;
	assert_int_equal(run("top", "-n", "1"), 0);
	expect_in(OUT, "ember top  ");
	expect_in(OUT, " 3 apps, 3 live, 6 paused guests, ");
	expect_in(OUT, "NAME    STATE      LIVE  PAUSED  START  STOP   WAKES  WAKE/S  MISSED  "
		       "LAST-WAKE\n"
		       "broken  failed        1       2      0     0       7       -       1      "
		       "435us\n");
	/* Not a tty: plain blocks, the second with a rate. */
	count_lists = true;
	assert_int_equal(run("top", "-n", "2", "--interval", "100"), 0);
	count_lists = false;
	expect_in(OUT, "\n\nember top  ");
	expect_in(OUT, "web     ready         1       2      0     0       7     0.0       1");
	/* chatty: one more wake per round, 100 ms apart: about 10 per second. */
	rate = strstr(strstr(OUT, "\n\nember top"), "\nchatty  ");
	assert_non_null(rate);
	assert_int_equal(sscanf(rate, "\nchatty ready %*d %*d %*d %*d %*d %lf", &r), 1);
	if (r <= 0 || r > 11)
		fail_msg("chatty: %.1f wakes/s, want 0-10 (1 wake in >= 100 ms)", r);
	assert_null(strstr(OUT, "\033["));
	assert_int_equal(run_json("top", "-n", "1"), 0);
	expect_json_of("/v1/apps", NULL);
}

static void test_unreachable(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char want[512];
	int fd;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/none.sock", srv.dir);
	SOCK = sa.sun_path;
	assert_int_equal(run("ls"), 1);
	snprintf(want, sizeof(want),
		 "ember: cannot reach emberd at %s: No such file or directory (is emberd "
		 "running?)\n",
		 SOCK);
	expect_err(want);

	/* A socket nobody listens on (a daemon killed with -9). */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(run("status", "web"), 1);
	snprintf(want, sizeof(want),
		 "ember: cannot reach emberd at %s: Connection refused (is emberd running?)\n",
		 SOCK);
	expect_err(want);
	close(fd);
	unlink(sa.sun_path);
	SOCK = NULL;

	/* The default: $EMBER_SOCKET. */
	setenv("EMBER_SOCKET", cli_srv.path, 1);
	{
		struct app_opts o = {0};
		char *argv[] = {"ls", NULL};

		o.out = fopen("/dev/null", "w");
		assert_int_equal(cmd_app(1, argv, &o), 0);
		fclose(o.out);
	}
	unsetenv("EMBER_SOCKET");
}

static void test_usage(void **state)
{
	static const char *const cmds[] = {"deploy", "ls", "status", "logs", "rm", "scale", "top"};
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(run((char *)cmds[i], "--help"), 0);
		snprintf(want, sizeof(want), "Usage: ember %s ", cmds[i]);
		assert_memory_equal(OUT, want, strlen(want));
		expect_in(OUT, "Exit status: ");
	}
	assert_int_equal(run("frob"), 2);
	expect_err("ember: unknown command 'frob' (see 'ember --help')\n");
	assert_int_equal(run("ls", "extra"), 2);
	expect_err("ember ls: takes no operands (see 'ember ls --help')\n");
	assert_int_equal(run("status"), 2);
	assert_int_equal(run("deploy"), 2);
	assert_int_equal(run("rm", "a", "b"), 2);
	assert_int_equal(run("scale", "web"), 2);
	expect_in(ERR, "give at least one of --min");
	assert_int_equal(run("scale", "web", "--min", "-1"), 2);
	expect_err(
		"ember scale: --min wants a whole number, not '-1' (see 'ember scale --help')\n");
	assert_int_equal(run("logs", "web", "--tail"), 2);
	expect_err("ember logs: option '--tail' needs a value (see 'ember logs --help')\n");
	assert_int_equal(run("top", "--interval", "5"), 2);
	assert_int_equal(run("top", "--bogus"), 2);
	expect_err("ember top: unknown option '--bogus' (see 'ember top --help')\n");
	expect_out("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deploy_and_ls), cmocka_unit_test(test_deploy_refused),
		cmocka_unit_test(test_deploy_wait),   cmocka_unit_test(test_deploy_replace),
		cmocka_unit_test(test_status),	      cmocka_unit_test(test_json),
		cmocka_unit_test(test_scale),	      cmocka_unit_test(test_rm),
		cmocka_unit_test(test_logs),	      cmocka_unit_test(test_logs_follow),
		cmocka_unit_test(test_top),	      cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
