// SPDX-License-Identifier: Apache-2.0
/* Shared helpers of the ember CLI: argument parsing and the command-group entry points. */
#ifndef EMBER_USERSPACE_CLI_H
#define EMBER_USERSPACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of every ember command. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* Command groups: argv[0] is the group name. Return the process exit code. */
int cmd_dp(int argc, char **argv);

/*
 * The app commands: clients of emberd's REST API (docs/cli.md).
 * `ember [--socket PATH] [--json] COMMAND ARGS...`; every command also takes
 * --socket, --json and --help after its name.
 */
struct app_opts {
	const char *sock;     /* NULL: $EMBER_SOCKET, else /run/ember/api.sock */
	bool json;	      /* print the server's JSON instead of text */
	FILE *in, *out, *err; /* NULL: stdin, stdout, stderr */
	unsigned int poll_ms; /* deploy/rm --wait, logs -f re-poll; 0 = 500 */
};

/* Runs app command argv[0] (deploy, ls, status, rm, scale, logs, top) with
 * (o) as the global options. Returns the exit code (EXIT_USAGE for an
 * unknown command). */
int cmd_app(int argc, char **argv, const struct app_opts *o);

/* The usage lines of the app commands, for `ember --help`. */
extern const char app_cmds_usage[];

/* ---- the app commands' shared helpers (cmd_app_util.c); (o) is resolved: no NULLs ---- */

/* getopt_long() entries every app command takes ('S', 'J', 'h'). */
/* clang-format off */
#define APP_COMMON_OPTS \
	{"socket", required_argument, NULL, 'S'}, \
	{"json", no_argument, NULL, 'J'}, \
	{"help", no_argument, NULL, 'h'}
/* clang-format on */

/* Handles (c), a result of getopt_long() that is not the command's own:
 * the common options (returns -1: go on), --help (prints (usage), returns
 * 0), or an error (returns EXIT_USAGE after a message). */
int app_opt(int c, char **argv, struct app_opts *o, const char *cmd, const char *usage);

/* Prints "ember CMD: <message> (see 'ember CMD --help')"; returns EXIT_USAGE. */
int app_usage_error(const struct app_opts *o, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A count option's value (0..UINT32_MAX) or a usage error (returns -1). */
int app_number(const struct app_opts *o, const char *cmd, const char *opt, const char *s,
	       uint32_t *out);

/* "/v1/apps/NAME(suffix)" with NAME percent-encoded. */
void app_path(char *buf, size_t len, const char *name, const char *suffix);

/* One request; on no answer or a non-2xx one, prints "ember: ..." and
 * returns EXIT_RUNTIME; else 0 with (r) filled (cli_resp_free() it). */
struct cli_resp;
struct json_t;
int app_request(const struct app_opts *o, const char *method, const char *path, const char *body,
		struct cli_resp *r);

/* app_request() whose 2xx answer must be JSON: parsed into (*j) (the
 * caller json_decref()s it); (status), if not NULL, gets the status. */
int app_call_json(const struct app_opts *o, const char *method, const char *path, const char *body,
		  struct json_t **j, long *status);

/* Progress dots on (o->err): one more; end the line (if dots were printed). */
void app_progress_dot(const struct app_opts *o);
void app_progress_end(const struct app_opts *o);

/* Prints "ember: <message>" on (o->err), after ending a progress line. */
void app_errorf(const struct app_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints (j) indented, keys in the server's order. */
void app_print_json(const struct app_opts *o, const struct json_t *j);

void app_sleep_ms(unsigned int ms);

/* The re-poll period of --wait and -f: (o->poll_ms) or 500 ms. */
unsigned int app_poll_ms(const struct app_opts *o);

/* (obj).(key) as text: "12" (into buf), or "-" when not an integer. */
const char *app_jnum(const struct json_t *obj, const char *key, char buf[24]);
/* (obj).(key) as a string, (dflt) when not a string. */
const char *app_jstr(const struct json_t *obj, const char *key, const char *dflt);

/* Parses the options of a command with only the common ones and exactly
 * (nargs) operands (else prints (what) as a usage error). Returns -1 to
 * go on (operands at argv[optind]), else the exit code. */
int app_simple_opts(int argc, char **argv, struct app_opts *o, const char *usage, int nargs,
		    const char *what);

/* The commands; argv[0] is the command name. Return the exit code.
 * cmd_app.c: */
int cmd_deploy(int argc, char **argv, struct app_opts *o);
int cmd_rm(int argc, char **argv, struct app_opts *o);
int cmd_scale(int argc, char **argv, struct app_opts *o);
/* cmd_app_status.c: */
int cmd_ls(int argc, char **argv, struct app_opts *o);
int cmd_status(int argc, char **argv, struct app_opts *o);
/* cmd_app_top.c: */
int cmd_logs(int argc, char **argv, struct app_opts *o);
int cmd_top(int argc, char **argv, struct app_opts *o);
/* cmd_image.c: `ember image import|pull|ls|inspect|rm` (argv[0] is "image"). */
int cmd_image(int argc, char **argv, struct app_opts *o);

/* An address as the dataplane stores it: IPv4 in the low 4 bytes of a
 * 16-byte field marked by (family), network byte order. */
struct cli_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

/* Parsers: return 0, or -1 after printing "ember: <what>: ..." to stderr. */
int cli_addr(const char *s, struct cli_addr *out);
int cli_mac(const char *s, uint8_t mac[6]);
int cli_proto(const char *s, uint8_t *proto);
int cli_u32(const char *s, const char *what, uint32_t max, uint32_t *out);
/* An interface name or number -> ifindex. */
int cli_ifindex(const char *s, int *ifindex);

/* Formatting into static buffers (not reentrant; fine for a CLI). */
const char *cli_fmt_addr(int family, const void *bytes);
const char *cli_fmt_mac(const uint8_t mac[6]);
const char *cli_fmt_proto(uint8_t proto);
const char *cli_fmt_ifname(int ifindex);

#endif
