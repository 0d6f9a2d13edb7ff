/* SPDX-License-Identifier: Apache-2.0 */
/* loadgen's pure parts: argument parsing, schedule arithmetic, exact percentiles, report. */
#include <ctype.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen_stats.h"

int lg_parse_milli(const char *s, uint64_t *milli)
{
	uint64_t whole = 0, frac = 0;
	int digits = 0, fdigits = 0;

	/* whole * 1000 + 999 must fit: whole <= UINT64_MAX / 1000 - 1. */
	for (; isdigit((unsigned char)*s); s++, digits++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (whole > (UINT64_MAX / 1000 - 1 - d) / 10)
			return -1;
		whole = whole * 10 + d;
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++, fdigits++) {
			if (fdigits == 3)
				return -1;
			frac = frac * 10 + (uint64_t)(*s - '0');
		}
		if (!fdigits)
			return -1;
	}
	if (*s || !digits)
		return -1;
	for (; fdigits < 3; fdigits++)
		frac *= 10;
	*milli = whole * 1000 + frac;
	return 0;
}

uint64_t lg_total_requests(uint64_t rate_milli, uint64_t dur_milli)
{
	unsigned __int128 n = (unsigned __int128)rate_milli * dur_milli / 1000000;

	return n > UINT64_MAX ? UINT64_MAX : (uint64_t)n;
}

uint64_t lg_sched_offset_ns(uint64_t i, uint64_t rate_milli)
{
	/* 128 bits: i * 1e12 overflows 64 bits after 18 million requests. */
	unsigned __int128 ns = (unsigned __int128)i * 1000000000000ull / rate_milli;

	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

double lg_rate_achieved(uint64_t issued, uint64_t span_ns)
{
	return span_ns ? (double)issued * 1e9 / (double)span_ns : 0.0;
}

static int parse_port(const char *port, char *err, size_t errlen)
{
	char *end;
	unsigned long p;

	if (!isdigit((unsigned char)*port))
		goto bad;
	p = strtoul(port, &end, 10);
	if (*end || p < 1 || p > 65535)
		goto bad;
	return (int)p;
bad:
	snprintf(err, errlen, "bad port '%s' (1-65535)", port);
	return -1;
}

/* AI_NUMERICHOST: a name is refused, so nothing is ever sent where the user did not say. */
static int parse_one(const char *text, int port, struct lg_addr *a, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *ai;
	char portstr[8];
	int rc;

	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(text, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "bad address '%s' (numeric IPv4/IPv6 only)", text);
		return -1;
	}
	memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
	a->len = ai->ai_addrlen;
	snprintf(a->text, sizeof(a->text), "%s", text);
	freeaddrinfo(ai);
	return 0;
}

int lg_parse_addrs(const char *list, const char *port, struct lg_addr **out, size_t *n, char *err,
		   size_t errlen)
{
	struct lg_addr *v = NULL;
	char *copy = NULL, *tok, *save;
	size_t cnt = 1, i = 0;
	int p = parse_port(port, err, errlen);

	if (p < 0)
		return -1;
	for (const char *c = list; *c; c++)
		cnt += *c == ',';
	copy = strdup(list);
	v = calloc(cnt, sizeof(*v));
	if (!copy || !v) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* strtok would skip empty fields; an empty address is a typo worth reporting. */
	for (tok = copy; tok; tok = save) {
		save = strchr(tok, ',');
		if (save)
			*save++ = '\0';
		if (!*tok) {
			snprintf(err, errlen, "empty address in '%s'", list);
			goto fail;
		}
		if (parse_one(tok, p, &v[i++], err, errlen))
			goto fail;
	}
	free(copy);
	*out = v;
	*n = cnt;
	return 0;
fail:
	free(copy);
	free(v);
	return -1;
}

int lg_parse_status(const char *buf, size_t len)
{
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) || !isdigit((unsigned char)buf[7]) ||
	    buf[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)buf[i]))
			return -1;
	if (len > 12 && buf[12] != ' ' && buf[12] != '\r')
		return -1;
	if (buf[9] == '0')
		return -1;
	return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p% of the samples <= it. */
static uint64_t rank(const uint64_t *sorted, size_t n, unsigned p)
{
	size_t r = (n * p + 99) / 100;

	return sorted[r ? r - 1 : 0];
}

void lg_pcts_compute(uint64_t *v, size_t n, struct lg_pcts *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	out->p50 = rank(v, n, 50);
	out->p90 = rank(v, n, 90);
	out->p99 = rank(v, n, 99);
	out->max = v[n - 1];
}

int lg_prefix_valid(const char *prefix)
{
	if (!*prefix)
		return 0;
	for (; *prefix; prefix++)
		if (!isalnum((unsigned char)*prefix) && *prefix != '_' && *prefix != '.')
			return 0;
	return 1;
}

const char *lg_outcome_name(enum lg_outcome o)
{
	static const char *const names[LG_NOUTCOME] = {
		[LG_PENDING] = "pending",
		[LG_INFLIGHT] = "inflight",
		[LG_OK] = "ok",
		[LG_TIMEOUT] = "timeout",
		[LG_REFUSED] = "refused",
		[LG_OVERLOAD] = "overload",
		[LG_BAD_STATUS] = "bad_status",
		[LG_ERROR] = "error",
	};

	return (unsigned)o < LG_NOUTCOME ? names[o] : "?";
}

static void print_u64(FILE *f, const char *prefix, const char *name, uint64_t v)
{
	fprintf(f, "%s_%s=%llu\n", prefix, name, (unsigned long long)v);
}

void lg_report_print(FILE *f, const char *prefix, const struct lg_report *r)
{
	static const enum lg_outcome kinds[] = {LG_TIMEOUT, LG_REFUSED, LG_OVERLOAD, LG_BAD_STATUS,
						LG_ERROR};
	const struct lg_pcts *l = &r->latency_ns;
	char name[32];

	print_u64(f, prefix, "requests", r->requests);
	print_u64(f, prefix, "ok", r->count[LG_OK]);
	print_u64(f, prefix, "failed", r->requests - r->count[LG_OK]);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!r->count[kinds[i]])
			continue;
		snprintf(name, sizeof(name), "failed_%s", lg_outcome_name(kinds[i]));
		print_u64(f, prefix, name, r->count[kinds[i]]);
	}
	if (l->n) {
		print_u64(f, prefix, "p50_us", l->p50 / 1000);
		print_u64(f, prefix, "p90_us", l->p90 / 1000);
		print_u64(f, prefix, "p99_us", l->p99 / 1000);
		print_u64(f, prefix, "max_us", l->max / 1000);
	}
	fprintf(f, "%s_rate_achieved=%.1f\n", prefix, r->rate_achieved);
	if (r->lag_ns.n)
		print_u64(f, prefix, "send_lag_p99_us", r->lag_ns.p99 / 1000);
}
