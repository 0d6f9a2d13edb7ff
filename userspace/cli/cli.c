// SPDX-License-Identifier: Apache-2.0
/* Shared helpers of the ember CLI: argument parsing and formatting with clear errors. */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_addr(const char *s, struct cli_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->bytes) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	fprintf(stderr, "ember: '%s' is not an IPv4 or IPv6 address\n", s);
	return -1;
}

int cli_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6) {
		fprintf(stderr, "ember: '%s' is not a MAC address (want aa:bb:cc:dd:ee:ff)\n", s);
		return -1;
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

int cli_proto(const char *s, uint8_t *proto)
{
	if (!strcasecmp(s, "tcp")) {
		*proto = IPPROTO_TCP;
		return 0;
	}
	if (!strcasecmp(s, "udp")) {
		*proto = IPPROTO_UDP;
		return 0;
	}
	fprintf(stderr, "ember: protocol '%s' is neither tcp nor udp\n", s);
	return -1;
}

int cli_u32(const char *s, const char *what, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, "ember: %s '%s' is not a number in 0..%u\n", what, s, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int cli_ifindex(const char *s, int *ifindex)
{
	unsigned int idx = if_nametoindex(s);
	uint32_t n;

	if (idx) {
		*ifindex = (int)idx;
		return 0;
	}
	if (s[0] >= '0' && s[0] <= '9' && cli_u32(s, "ifindex", INT32_MAX, &n) == 0) {
		*ifindex = (int)n;
		return 0;
	}
	fprintf(stderr, "ember: no network interface '%s' in this namespace\n", s);
	return -1;
}

const char *cli_fmt_addr(int family, const void *bytes)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static int next;
	char *b = buf[next++ & 3];

	if (!inet_ntop(family, bytes, b, INET6_ADDRSTRLEN))
		snprintf(b, INET6_ADDRSTRLEN, "?");
	return b;
}

const char *cli_fmt_mac(const uint8_t m[6])
{
	static char buf[2][18];
	static int next;
	char *b = buf[next++ & 1];

	snprintf(b, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return b;
}

const char *cli_fmt_proto(uint8_t proto)
{
	static char buf[8];

	if (proto == IPPROTO_TCP)
		return "tcp";
	if (proto == IPPROTO_UDP)
		return "udp";
	snprintf(buf, sizeof(buf), "%u", proto);
	return buf;
}

const char *cli_fmt_ifname(int ifindex)
{
	static char buf[2][IF_NAMESIZE + 8];
	static int next;
	char *b = buf[next++ & 1];

	if (ifindex <= 0)
		return "-";
	if (!if_indextoname((unsigned int)ifindex, b))
		snprintf(b, IF_NAMESIZE + 8, "if%d", ifindex);
	return b;
}
