// SPDX-License-Identifier: Apache-2.0
/* Shared helpers of the ember CLI: argument parsing and the command-group entry points. */
#ifndef EMBER_USERSPACE_CLI_H
#define EMBER_USERSPACE_CLI_H

#include <stdint.h>

/* Exit codes of every ember command. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* Command groups: argv[0] is the group name. Return the process exit code. */
int cmd_dp(int argc, char **argv);

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
