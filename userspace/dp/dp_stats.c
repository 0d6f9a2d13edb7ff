// SPDX-License-Identifier: Apache-2.0
/* Counters: one slot of a per-CPU map summed over every possible CPU; a guest's active flows. */
#include "dp_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Counters add up across CPUs, except the last-seen stamp: the latest wins. */
static void counters_add(struct dp_counters *sum, const struct ember_counters *c)
{
	sum->packets += c->packets;
	sum->bytes += c->bytes;
	sum->new_flows += c->new_flows;
	for (int i = 0; i < EMBER_DROP_MAX; i++)
		sum->drops += c->drops[i];
	if (c->last_seen_ns > sum->last_seen_ns)
		sum->last_seen_ns = c->last_seen_ns;
}

/* A per-CPU lookup returns one value per *possible* CPU, each padded to 8
 * bytes (ember_counters is already a multiple of 8). */
static int sum_percpu(struct dp *dp, const char *map, uint32_t key, struct dp_counters *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd = dp_fd(dp, map), rc = 0;
	struct ember_counters *v;

	if (fd < 0)
		return fd;
	if (ncpu <= 0)
		return dp_fail(dp, ncpu ? ncpu : -EINVAL, "cannot count possible CPUs");
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return dp_fail(dp, -ENOMEM, "out of memory");
	if (bpf_map_lookup_elem(fd, &key, v)) {
		rc = dp_fail(dp, -errno, "%s[%u]: %s", map, key, strerror(errno));
		goto cleanup;
	}
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < ncpu; i++)
		counters_add(out, &v[i]);
cleanup:
	free(v);
	return rc;
}

int dp_app_counters(struct dp *dp, uint32_t app_id, struct dp_counters *out)
{
	return sum_percpu(dp, EMBER_MAP_APP_STATS, app_id, out);
}

int dp_guest_counters(struct dp *dp, uint32_t slot, struct dp_counters *out)
{
	return sum_percpu(dp, EMBER_MAP_GUEST_STATS, slot, out);
}

int dp_guest_load(struct dp *dp, uint32_t slot, uint64_t *active)
{
	int fd = dp_fd(dp, EMBER_MAP_GUEST_LOAD);

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &slot, active))
		return dp_fail(dp, -errno, "%s[%u]: %s", EMBER_MAP_GUEST_LOAD, slot,
			       strerror(errno));
	return 0;
}
