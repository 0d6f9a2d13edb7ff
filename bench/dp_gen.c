// SPDX-License-Identifier: Apache-2.0
/* Frame generator for the dataplane bench: live XDP frames injected into a veth. */
#include "dp_gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.skel.h"
#include "../tests/netns/nslib.h"

/* Frames per BPF_PROG_RUN call: large enough to amortise the syscall, small
 * enough to stop close to the requested duration. */
#define GEN_CHUNK (1u << 18)

static uint16_t csum16(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void gen_frame(const struct gen_flow *f, uint8_t t[64])
{
	uint16_t c, ipl = 64 - 14;

	memset(t, 0, 64);
	memcpy(t, f->dst_mac, 6);
	memcpy(t + 6, f->src_mac, 6);
	t[12] = 0x08; /* IPv4 */
	t[14] = 0x45;
	t[16] = ipl >> 8;
	t[17] = ipl & 0xff;
	t[22] = 64; /* TTL */
	t[23] = 17; /* UDP */
	memcpy(t + 26, &f->saddr, 4);
	memcpy(t + 30, &f->daddr, 4);
	c = csum16(t + 14, 20);
	t[24] = c >> 8;
	t[25] = c & 0xff;
	t[34] = f->sport >> 8;
	t[35] = f->sport & 0xff;
	t[36] = f->dport >> 8;
	t[37] = f->dport & 0xff;
	t[38] = (ipl - 20) >> 8;
	t[39] = (ipl - 20) & 0xff;
	memcpy(t + 42, "ember-bench", 11);
}

int gen_send(struct dataplane_bpf *skel, int ifindex, uint64_t count)
{
	uint8_t frame[64];
	struct xdp_md ctx = {.data_end = sizeof(frame), .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		    .batch_size = 64);
	int fd = bpf_program__fd(skel->progs.bench_gen);

	/* The program overwrites the frame from its template anyway. */
	memcpy(frame, skel->bss->tmpl, sizeof(frame));
	while (count > 0) {
		opts.repeat = count > GEN_CHUNK ? (int)GEN_CHUNK : (int)count;
		if (bpf_prog_test_run_opts(fd, &opts))
			return -errno;
		count -= (uint64_t)opts.repeat;
	}
	return 0;
}

int64_t gen_for(struct dataplane_bpf *skel, int ifindex, double secs)
{
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9), sent = 0;
	int err;

	while (now_ns() < end) {
		err = gen_send(skel, ifindex, GEN_CHUNK);
		if (err)
			return err;
		sent += GEN_CHUNK;
	}
	return (int64_t)sent;
}

uint64_t sink_count(struct dataplane_bpf *skel)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.bench_count);
	uint64_t *v, sum = 0;
	uint32_t key = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (v && bpf_map_lookup_elem(fd, &key, v) == 0)
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}
