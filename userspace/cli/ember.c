// SPDX-License-Identifier: Apache-2.0
/* The `ember` operator CLI: global options, then a command: the app commands or `dp`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_head[] =
	"Usage: ember [--socket PATH] [--json] COMMAND [ARGS...]\n"
	"\n"
	"ember runs tenants' services in KVM microVMs behind an XDP dataplane.\n"
	"The app commands drive emberd, the pool manager, through its REST API\n"
	"on a Unix socket (docs/api.md); 'dp' works on the dataplane directly.\n"
	"\n"
	"Commands:\n";

static const char usage_tail[] =
	"  dp        inspect and drive the XDP dataplane (services, apps, guests,\n"
	"            attachments, counters, wake events); 'ember dp --help'\n"
	"\n"
	"Every command takes --help. docs/cli.md is the manual.\n"
	"\n"
	"Options (before or after the command name):\n"
	"  --socket PATH  emberd's API socket (default: $EMBER_SOCKET, else\n"
	"                 /run/ember/api.sock)\n"
	"  --json         print emberd's JSON answers (indented) instead of text\n"
	"  -h, --help     show this help\n"
	"\n"
	"Exit status: 0 on success, 1 on a runtime error (emberd refused the\n"
	"request, or cannot be reached), 2 on a usage error.\n";

static void usage(FILE *f)
{
	fputs(usage_head, f);
	fputs(app_cmds_usage, f);
	fputs(usage_tail, f);
}

/* Parses the global options by hand: getopt_long() would leave its state
 * (argument order) to the commands' own parsing. Returns the index of the
 * command name, or -1 - the exit code. */
static int global_opts(int argc, char **argv, struct app_opts *o)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			o->json = true;
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			o->sock = argv[i] + 9;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			o->sock = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return -1 - 0;
		} else {
			fprintf(stderr, "ember: %s option '%s' (see 'ember --help')\n",
				strcmp(argv[i], "--socket") ? "unknown" : "missing value of",
				argv[i]);
			return -1 - EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return -1 - EXIT_USAGE;
	}
	return i;
}

int main(int argc, char **argv)
{
	struct app_opts o = {0};
	int i = global_opts(argc, argv, &o);

	if (i < 0)
		return -1 - i;
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[i], "dp"))
		return cmd_dp(argc - i, argv + i);
	return cmd_app(argc - i, argv + i, &o);
}
