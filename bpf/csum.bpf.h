// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Incremental Internet checksum updates with bpf_csum_diff (bpf_l3_csum_replace is not available in
 * XDP). */
#ifndef EMBER_BPF_CSUM_H
#define EMBER_BPF_CSUM_H

#include "common.bpf.h"

static __always_inline __u16 csum_fold(__u64 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)~c;
}

/*
 * RFC 1624: new = ~(~old + ~m + m'). bpf_csum_diff(from, to, seed) computes
 * seed + sum(to) - sum(from) in one's complement, so seeding it with ~old
 * and folding gives the new checksum. (from)/(to) must be stack copies of
 * (size) bytes, a multiple of 4.
 */
static __always_inline void csum_replace(__sum16 *csum, void *from, void *to, __u32 size)
{
	__s64 d = bpf_csum_diff(from, size, to, size, (__u16) ~*csum);

	if (d < 0)
		return;
	*csum = csum_fold((__u64)d);
}

/* A UDP checksum that computes to 0 is sent as 0xffff (0 means "none" in IPv4). */
static __always_inline void csum_replace_udp(__sum16 *csum, void *from, void *to, __u32 size)
{
	csum_replace(csum, from, to, size);
	if (*csum == 0)
		*csum = 0xffff;
}

#endif
