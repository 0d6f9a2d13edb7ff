// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Incremental Internet checksum updates, computed inline (bpf_l3_csum_replace is not available in
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
 * RFC 1624: new = ~(~old + ~m + m'), summed in 32-bit words (a one's
 * complement sum of 32-bit words folds to the same 16-bit sum as one of
 * 16-bit words). Done inline rather than with bpf_csum_diff: the helper call
 * and its scratch buffer cost more than the 1 or 4 words an address has.
 * (from)/(to) must be 4-byte aligned copies of (size) bytes, a multiple of
 * 4, at most 16.
 */
static __always_inline void csum_replace(__sum16 *csum, void *from, void *to, __u32 size)
{
	const __u32 *f = from, *t = to;
	__u64 acc = (__u16) ~*csum;

#pragma unroll
	for (int i = 0; i < 4; i++) {
		if (i * 4 >= size)
			break;
		acc += (__u32)~f[i];
		acc += t[i];
	}
	*csum = csum_fold(acc);
}

/* A UDP checksum that computes to 0 is sent as 0xffff (0 means "none" in IPv4). */
static __always_inline void csum_replace_udp(__sum16 *csum, void *from, void *to, __u32 size)
{
	csum_replace(csum, from, to, size);
	if (*csum == 0)
		*csum = 0xffff;
}

/*
 * The same arithmetic for one 4-byte value (an IPv4 address), in registers:
 * the difference ~from + to folded to 16 bits once, then added to each
 * checksum the change affects (IPv4 header, TCP/UDP). The results are
 * bit-identical to csum_replace(): both end-around-carry sums of the same
 * 16-bit words, and a non-zero total folds to the same value in 1..0xffff.
 */
static __always_inline __u32 csum_delta4(__u32 from, __u32 to)
{
	__u32 d = (~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16);

	d = (d & 0xffff) + (d >> 16);
	return (d & 0xffff) + (d >> 16);
}

/* (csum) with (delta) from csum_delta4() applied. */
static __always_inline __u16 csum_apply(__u16 csum, __u32 delta)
{
	__u32 s = (__u16)~csum + delta;

	return (__u16) ~((s & 0xffff) + (s >> 16));
}

#endif
