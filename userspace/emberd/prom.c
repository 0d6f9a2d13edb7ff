/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text exposition format 0.0.4: family headers, samples, histograms, escaping. */
#include "prom.h"

#include <inttypes.h>
#include <string.h>

/* Escapes \ and newline, and " when (quote): the format's two escaping rules
 * (label values escape all three, HELP text the first two). */
static void escape(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

void prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	escape(f, help, 0);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

void prom_label_value(FILE *f, const char *s)
{
	escape(f, s, 1);
}

static void labels(FILE *f, const struct prom_label *l, size_t n, const char *le)
{
	if (!n && !le)
		return;
	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", l[i].name);
		escape(f, l[i].value, 1);
		fputc('"', f);
	}
	if (le)
		fprintf(f, "%sle=\"%s\"", n ? "," : "", le);
	fputc('}', f);
}

/* v / 10^decimals, exactly: "12", "0.000250", "3.5" is never shortened. */
static void fixed(FILE *f, uint64_t v, unsigned int decimals)
{
	uint64_t div = 1;

	for (unsigned int i = 0; i < decimals; i++)
		div *= 10;
	if (decimals)
		fprintf(f, "%" PRIu64 ".%0*" PRIu64, v / div, (int)decimals, v % div);
	else
		fprintf(f, "%" PRIu64, v);
}

void prom_sample(FILE *f, const char *name, const struct prom_label *l, size_t n, uint64_t v,
		 unsigned int decimals)
{
	fputs(name, f);
	labels(f, l, n, NULL);
	fputc(' ', f);
	fixed(f, v, decimals);
	fputc('\n', f);
}

/* A bucket bound in us as seconds, shortest form: 100 -> "0.0001", 2500000 -> "2.5". */
static void le_text(char *buf, size_t len, uint64_t us)
{
	char frac[8];
	size_t k;

	snprintf(frac, sizeof(frac), "%06" PRIu64, us % 1000000);
	for (k = strlen(frac); k && frac[k - 1] == '0'; k--)
		frac[k - 1] = 0;
	snprintf(buf, len, "%" PRIu64 "%s%s", us / 1000000, k ? "." : "", frac);
}

void prom_histogram(FILE *f, const char *name, const struct prom_label *l, size_t n,
		    const struct meter_hist *h)
{
	uint64_t cum = 0;
	char le[32];

	for (unsigned int i = 0; i < METER_HIST_N; i++) {
		cum += h->n[i];
		if (i < METER_HIST_N - 1)
			le_text(le, sizeof(le), meter_hist_le_us[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		fprintf(f, "%s_bucket", name);
		labels(f, l, n, le);
		fprintf(f, " %" PRIu64 "\n", cum);
	}
	fprintf(f, "%s_sum", name);
	labels(f, l, n, NULL);
	fputc(' ', f);
	fixed(f, h->sum_us, 6);
	fprintf(f, "\n%s_count", name);
	labels(f, l, n, NULL);
	fprintf(f, " %" PRIu64 "\n", h->count);
}
