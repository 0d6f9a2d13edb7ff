// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Includes, protocol constants and small helpers shared by every ember BPF object. */
#ifndef EMBER_BPF_COMMON_H
#define EMBER_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <ember/maps.h>

/* vmlinux.h carries types and enums, not the uapi #defines. */
#define ETH_ALEN		      6
#define ETH_P_IP		      0x0800
#define ETH_P_ARP		      0x0806
#define ETH_P_IPV6		      0x86DD
#define ETH_P_8021Q		      0x8100
#define ETH_P_8021AD		      0x88A8
#define ARPOP_REQUEST		      1
#define ARPOP_REPLY		      2
#define IP_MF			      0x2000
#define IP_OFFSET		      0x1FFF
#define ICMP_ECHOREPLY		      0
#define ICMP_ECHO		      8
#define ICMPV6_ECHO_REQUEST	      128
#define ICMPV6_ECHO_REPLY	      129
#define NDISC_NEIGHBOUR_SOLICITATION  135
#define NDISC_NEIGHBOUR_ADVERTISEMENT 136
#define TCP_FLAG_FIN		      0x01
#define TCP_FLAG_SYN		      0x02
#define TCP_FLAG_RST		      0x04
#define TCP_FLAG_ACK		      0x10
#define AF_INET			      2
#define IPPROTO_ICMPV6		      58
#define AF_INET6		      10

/* clang 14 leaves __builtin_memcmp as a libc call in BPF: compare by hand. */
static __always_inline int bytes_differ(const void *a, const void *b, int n)
{
	const __u8 *x = a, *y = b;
	__u8 acc = 0;

	for (int i = 0; i < n; i++)
		acc |= x[i] ^ y[i];
	return acc;
}

/*
 * Copies a const volatile rodata knob. Casting the volatile away would let
 * clang fold the compile-time initializer and ignore what the loader set.
 */
static __always_inline void knob_copy(void *dst, const volatile __u8 *src, int n)
{
	__u8 *d = dst;

	for (int i = 0; i < n; i++)
		d[i] = src[i];
}

#ifndef EMBER_DEFAULT_REARM_NS
#define EMBER_DEFAULT_REARM_NS 1000000000ull /* 1 s */
#endif

#endif
