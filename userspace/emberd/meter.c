/* SPDX-License-Identifier: Apache-2.0 */
/* Metering's pure parts: /proc/PID/stat, smaps_rollup and /proc/net/dev parsers, latency histogram.
 */
#include "meter.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int meter_parse_stat(const char *line, struct meter_stat *out)
{
	const char *p = strrchr(line, ')');
	unsigned long long ut, st, start;

	/* Fields 3 (state) to 13 skipped, 14 utime, 15 stime, 16-21 skipped, 22. */
	if (!p || sscanf(p + 1,
			 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			 "%*d %*d %llu",
			 &ut, &st, &start) != 3)
		return -EINVAL;
	out->utime = ut;
	out->stime = st;
	out->start = start;
	return 0;
}

int meter_parse_smaps_rollup(FILE *f, uint64_t *rss_kib, uint64_t *pss_kib)
{
	unsigned long long v;
	char line[256];
	int seen = 0;

	while (fgets(line, sizeof(line), f)) {
		/* "Pss_Anon:" and friends follow "Pss:": the colon is matched. */
		if (sscanf(line, "Rss: %llu kB", &v) == 1) {
			*rss_kib = v;
			seen |= 1;
		} else if (sscanf(line, "Pss: %llu kB", &v) == 1) {
			*pss_kib = v;
			seen |= 2;
		}
	}
	return seen == 3 ? 0 : -EINVAL;
}

static int ifstat_cmp(const void *a, const void *b)
{
	return strcmp(((const struct meter_ifstat *)a)->name,
		      ((const struct meter_ifstat *)b)->name);
}

/* "  name: rx_bytes rx_packets errs drop fifo frame compressed multicast
 *   tx_bytes tx_packets ..." into (s); false if the line is not that. */
static bool netdev_line(const char *line, struct meter_ifstat *s)
{
	const char *colon = strchr(line, ':');
	unsigned long long v[10];
	size_t skip = strspn(line, " "), len;

	if (!colon || colon < line + skip)
		return false;
	len = (size_t)(colon - line) - skip;
	if (!len || len >= sizeof(s->name))
		return false;
	if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) != 10)
		return false;
	memcpy(s->name, line + skip, len);
	s->name[len] = 0;
	s->rx_bytes = v[0];
	s->rx_packets = v[1];
	s->tx_bytes = v[8];
	s->tx_packets = v[9];
	return true;
}

int meter_parse_netdev(FILE *f, const char *prefix, struct meter_ifstat **out, size_t *n)
{
	struct meter_ifstat *v = NULL, s;
	size_t cnt = 0, cap = 0, plen = strlen(prefix);
	char line[512];
	int nline = 0;

	*out = NULL;
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		/* Two header lines, then one interface per line. */
		if (++nline <= 2)
			continue;
		if (!netdev_line(line, &s)) {
			free(v);
			return -EINVAL;
		}
		if (strncmp(s.name, prefix, plen))
			continue;
		if (cnt == cap) {
			struct meter_ifstat *nv = reallocarray(v, cap ? cap * 2 : 16, sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[cnt++] = s;
	}
	if (nline < 2) {
		free(v);
		return -EINVAL;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), ifstat_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

const struct meter_ifstat *meter_ifstat_find(const struct meter_ifstat *v, size_t n,
					     const char *name)
{
	struct meter_ifstat key;

	if (!v || !n || strlen(name) >= sizeof(key.name))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, v, n, sizeof(*v), ifstat_cmp);
}

/* 100 us to 2.5 s: a wake on real KVM is ~1 ms, under an emulator ~1 s. */
const uint64_t meter_hist_le_us[METER_HIST_N - 1] = {
	100,   250,   500,    1000,   2500,   5000,    10000,
	25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

void meter_hist_add(struct meter_hist *h, uint64_t us)
{
	unsigned int i = 0;

	while (i < METER_HIST_N - 1 && us > meter_hist_le_us[i])
		i++;
	h->n[i]++;
	h->count++;
	h->sum_us += us;
}
