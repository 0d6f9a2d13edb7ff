// SPDX-License-Identifier: Apache-2.0
/* The `ember` operator CLI: dispatches to a command group (today `dp`, the dataplane). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: ember COMMAND [ARGS...]\n"
	"\n"
	"ember runs tenants' services in KVM microVMs behind an XDP dataplane.\n"
	"\n"
	"Commands:\n"
	"  dp        inspect and drive the XDP dataplane (services, apps, guests,\n"
	"            attachments, counters, wake events); 'ember dp --help'\n"
	"\n"
	"Options:\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 on success, 1 on a runtime error, 2 on a usage error.\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "dp"))
		return cmd_dp(argc - 1, argv + 1);
	fprintf(stderr, "ember: unknown command '%s' (see 'ember --help')\n", argv[1]);
	return 2;
}
