// SPDX-License-Identifier: Apache-2.0
/* `ember dp`: the dataplane command group — dispatch, load/unload, attach/detach, watch. */
#include "cmd_dp.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: ember dp [--pin DIR] COMMAND [ARGS...]\n"
	"\n"
	"Inspect and drive ember's XDP dataplane. Programs and maps are pinned under\n"
	"DIR (default " DP_PIN_ROOT "); attachments survive the process that made\n"
	"them, so every command works on the pinned state and exits.\n"
	"\n"
	"Commands:\n"
	"  load [--wake-rearm-ms N] [-v]\n"
	"        load the programs and pin them with their maps; maps already pinned\n"
	"        are reused, so configuration survives a reload\n"
	"  unload\n"
	"        remove the pins (detach devices first: programs stay on them)\n"
	"  attach router|guest DEV [--mode auto|native|generic]\n"
	"        attach the ingress router to DEV, or the guest program to the tap\n"
	"        DEV; auto = native when the driver supports it, else generic.\n"
	"        Loads the dataplane first when nothing is pinned.\n"
	"  detach DEV\n"
	"        remove whatever XDP program DEV carries\n"
	"  show\n"
	"        services, apps, guests and their counters\n"
	"  service add VIP PORT tcp|udp APP | service del VIP PORT tcp|udp\n"
	"  app set APP [--standby TAP] [--mac MAC] [--ip IPV4] [--ip6 IPV6]\n"
	"  app del APP | app rearm APP\n"
	"  guest add SLOT --app APP --tap TAP --mac MAC --ip IPV4 [--ip6 IPV6]\n"
	"  guest del SLOT\n"
	"  host add|del ADDR\n"
	"        an address of the host itself, which guests may not send to\n"
	"  watch [--count N]\n"
	"        print wake events as they arrive (Ctrl-C ends)\n"
	"\n"
	"Every command takes --help. Needs root (CAP_BPF, CAP_NET_ADMIN).\n"
	"Exit status: 0 success, 1 runtime error, 2 usage error.\n";

const char *dp_root;

int dp_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ember dp %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ember dp %s --help')\n", cmd);
	return EXIT_USAGE;
}

int dp_wants_help(int argc, char **argv, const char *text)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(text, stdout);
			return 1;
		}
	}
	return 0;
}

int dp_open_or_report(struct dp **dp)
{
	char err[512];
	int rc = dp_open(dp, dp_root, err, sizeof(err));

	if (rc)
		fprintf(stderr, "ember dp: %s\n", err);
	return rc ? EXIT_RUNTIME : 0;
}

int dp_report(struct dp *dp, int rc, const char *what)
{
	if (!rc)
		return 0;
	fprintf(stderr, "ember dp: %s: %s\n", what,
		strcmp(dp_errmsg(dp), "no error") ? dp_errmsg(dp) : strerror(-rc));
	return EXIT_RUNTIME;
}

static const char load_usage[] =
	"Usage: ember dp load [--wake-rearm-ms N] [-v]\n"
	"\n"
	"Loads the router and guest XDP programs, pins them and every map under the\n"
	"pin directory. Maps that are already pinned are reused (their content is\n"
	"kept), so a reload after an upgrade does not lose services or flows.\n"
	"  --wake-rearm-ms N  a wake that nobody answered may fire again after N ms\n"
	"  -v                 keep libbpf's debug output for error messages\n";

static int do_load(int argc, char **argv, struct dp **out)
{
	static const struct option opts[] = {
		{"wake-rearm-ms", required_argument, NULL, 'w'},
		{"verbose", no_argument, NULL, 'v'},
		{0},
	};
	struct dp_opts o = {.pin_root = dp_root};
	char err[4096];
	uint32_t ms;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c == 'w' && cli_u32(optarg, "--wake-rearm-ms", 3600000, &ms) == 0)
			o.wake_rearm_ns = (uint64_t)ms * 1000000;
		else if (c == 'v')
			o.verbose = 1;
		else
			return EXIT_USAGE;
	}
	if (optind != argc)
		return dp_usage_error("load", "unexpected argument '%s'", argv[optind]);
	if (dp_load(out, &o, err, sizeof(err))) {
		fprintf(stderr, "ember dp load: %s\n", err);
		return EXIT_RUNTIME;
	}
	return 0;
}

static int cmd_load(int argc, char **argv)
{
	struct dp *dp;
	int rc;

	if (dp_wants_help(argc, argv, load_usage))
		return 0;
	rc = do_load(argc, argv, &dp);
	if (rc)
		return rc;
	printf("dataplane loaded and pinned under %s\n", dp_pin_root(dp));
	dp_close(dp);
	return 0;
}

static int cmd_unload(int argc, char **argv)
{
	int rc;

	if (dp_wants_help(argc, argv,
			  "Usage: ember dp unload\n\nRemoves every pin of the "
			  "dataplane. Devices keep their XDP programs until "
			  "'ember dp detach DEV'.\n"))
		return 0;
	if (argc != 1)
		return dp_usage_error("unload", "takes no arguments");
	rc = dp_unpin(dp_root);
	if (rc) {
		fprintf(stderr, "ember dp unload: %s\n", strerror(-rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

static const char attach_usage[] =
	"Usage: ember dp attach router|guest DEV [--mode auto|native|generic]\n"
	"\n"
	"Attaches the ingress router to DEV, or the guest program to the tap DEV.\n"
	"With --mode auto (the default) native XDP is used when the driver supports\n"
	"it and generic (skb) XDP otherwise; the mode in use is printed. Replaces a\n"
	"program DEV already has. Loads the dataplane first if nothing is pinned.\n";

static int parse_mode(const char *s, enum dp_xdp_mode *m)
{
	if (!strcmp(s, "auto"))
		*m = DP_XDP_AUTO;
	else if (!strcmp(s, "native") || !strcmp(s, "drv"))
		*m = DP_XDP_NATIVE;
	else if (!strcmp(s, "generic") || !strcmp(s, "skb"))
		*m = DP_XDP_GENERIC;
	else
		return dp_usage_error("attach", "--mode '%s' is not auto, native or generic", s);
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	enum dp_xdp_mode mode = DP_XDP_AUTO, used;
	const char *what, *dev;
	struct dp *dp;
	char err[512];
	int ifindex, rc;

	if (dp_wants_help(argc, argv, attach_usage))
		return 0;
	if (argc == 5 && !strcmp(argv[3], "--mode")) {
		if (parse_mode(argv[4], &mode))
			return EXIT_USAGE;
		argc = 3;
	}
	if (argc != 3 || (strcmp(argv[1], "router") && strcmp(argv[1], "guest")))
		return dp_usage_error("attach", "want 'router DEV' or 'guest DEV'");
	what = argv[1];
	dev = argv[2];
	if (cli_ifindex(dev, &ifindex))
		return EXIT_USAGE;
	if (dp_open(&dp, dp_root, err, sizeof(err))) {
		char *noargs[] = {"load", NULL};

		rc = do_load(1, noargs, &dp);
		if (rc)
			return rc;
	}
	rc = what[0] == 'r' ? dp_attach_router(dp, ifindex, mode, &used)
			    : dp_attach_guest(dp, ifindex, mode, &used);
	if (!rc)
		printf("%s attached to %s in %s mode\n", what, dev, dp_mode_name(used));
	rc = dp_report(dp, rc, "attach");
	dp_close(dp);
	return rc;
}

static int cmd_detach(int argc, char **argv)
{
	int ifindex, rc;

	if (dp_wants_help(argc, argv,
			  "Usage: ember dp detach DEV\n\nRemoves the XDP program "
			  "of DEV, in whichever mode it is attached.\n"))
		return 0;
	if (argc != 2)
		return dp_usage_error("detach", "want exactly one device");
	if (cli_ifindex(argv[1], &ifindex))
		return EXIT_USAGE;
	rc = dp_detach(ifindex);
	if (rc) {
		fprintf(stderr, "ember dp detach: %s: %s\n", argv[1], strerror(-rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

static volatile sig_atomic_t watch_stop;

static void on_int(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static int print_wake(void *ctx, const struct dp_wake_event *ev)
{
	long *left = ctx;

	if (*left == 0)
		return -ECANCELED; /* --count reached: leave the rest in the ring */
	printf("wake app=%u ts_ns=%" PRIu64 "\n", ev->app_id, (uint64_t)ev->ts_ns);
	fflush(stdout);
	if (*left > 0)
		--*left;
	return 0;
}

static int cmd_watch(int argc, char **argv)
{
	long left = -1;
	uint32_t n;
	struct dp *dp;
	int rc;

	if (dp_wants_help(argc, argv,
			  "Usage: ember dp watch [--count N]\n\nPrints one line "
			  "per wake event (an app without a live guest got a "
			  "packet)\nuntil Ctrl-C, or until N events were seen.\n"))
		return 0;
	if (argc == 3 && !strcmp(argv[1], "--count")) {
		if (cli_u32(argv[2], "--count", UINT32_MAX, &n) || n == 0)
			return EXIT_USAGE;
		left = n;
	} else if (argc != 1) {
		return dp_usage_error("watch", "unexpected argument '%s'", argv[1]);
	}
	rc = dp_open_or_report(&dp);
	if (rc)
		return rc;
	rc = dp_events_open(dp, print_wake, &left);
	if (rc)
		goto out;
	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	while (!watch_stop && left != 0) {
		rc = dp_events_poll(dp, 200);
		if (left == 0 || rc == -EINTR || rc == -ECANCELED)
			rc = 0;
		if (rc < 0)
			break;
		rc = 0;
	}
out:
	rc = dp_report(dp, rc < 0 ? rc : 0, "watch");
	dp_close(dp);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{"load", cmd_load},	{"unload", cmd_unload},	 {"attach", cmd_attach},
	{"detach", cmd_detach}, {"show", cmd_dp_show},	 {"service", cmd_dp_service},
	{"app", cmd_dp_app},	{"guest", cmd_dp_guest}, {"host", cmd_dp_host},
	{"watch", cmd_watch},
};

int cmd_dp(int argc, char **argv)
{
	int i = 1;

	if (i < argc && !strcmp(argv[i], "--pin")) {
		if (i + 1 >= argc) {
			fputs("ember dp: --pin needs a directory\n", stderr);
			return EXIT_USAGE;
		}
		dp_root = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name))
			return cmds[k].fn(argc - i, argv + i);
	fprintf(stderr, "ember dp: unknown command '%s' (see 'ember dp --help')\n", argv[i]);
	return EXIT_USAGE;
}
