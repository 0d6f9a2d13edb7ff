// SPDX-License-Identifier: Apache-2.0
/* Internal header of the `ember dp` command group (userspace/cmd_dp*.c). */
#ifndef EMBER_USERSPACE_CMD_DP_H
#define EMBER_USERSPACE_CMD_DP_H

#include <stdarg.h>

#include "cli.h"
#include "dp/dp.h"

/* --pin DIR, or NULL for the default. */
extern const char *dp_root;

/* Subcommands: argv[0] is the subcommand's name. Return the exit code. */
int cmd_dp_show(int argc, char **argv);
int cmd_dp_service(int argc, char **argv);
int cmd_dp_app(int argc, char **argv);
int cmd_dp_guest(int argc, char **argv);
int cmd_dp_host(int argc, char **argv);

/* Prints "ember dp CMD: <message> (see ...)" and returns EXIT_USAGE. */
int dp_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints (text) and returns 1 when argv holds -h/--help. */
int dp_wants_help(int argc, char **argv, const char *text);
/* Opens the pinned dataplane; prints the reason and returns EXIT_RUNTIME if not. */
int dp_open_or_report(struct dp **dp);
/* 0 when (rc) is 0; else prints "ember dp: what: reason", returns EXIT_RUNTIME. */
int dp_report(struct dp *dp, int rc, const char *what);

#endif
