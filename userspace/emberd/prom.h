/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text exposition format 0.0.4: family headers, samples, histograms, escaping. */
#ifndef EMBER_USERSPACE_PROM_H
#define EMBER_USERSPACE_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "meter.h"

/*
 * Writes to a FILE* (emberd: an open_memstream(); tests: the same, compared
 * with the exact text expected). Values are unsigned integers printed as
 * fixed-point decimals (v / 10^decimals), so no float rounding shows up in
 * counters: cpu ns with decimals 9 prints as seconds.
 */

struct prom_label {
	const char *name;
	const char *value; /* escaped on output */
};

/* "# HELP name help\n# TYPE name type\n" (help escaped: \\ and \n). */
void prom_family(FILE *f, const char *name, const char *type, const char *help);

/* (s) as a label value: \\, \" and \n escaped, without the quotes. */
void prom_label_value(FILE *f, const char *s);

/* name{l0="v0",...} v/10^decimals (no braces when n is 0). */
void prom_sample(FILE *f, const char *name, const struct prom_label *l, size_t n, uint64_t v,
		 unsigned int decimals);

/* name_bucket{...,le="..."} (cumulative, seconds), name_sum (seconds), name_count. */
void prom_histogram(FILE *f, const char *name, const struct prom_label *l, size_t n,
		    const struct meter_hist *h);

#endif
