// SPDX-License-Identifier: Apache-2.0
/* An app's metering as emberd keeps it across restarts: struct meter_record <-> JSON (jansson). */
#include "meter_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* A uint64_t member of a struct, by name: the record's fields go to JSON
 * and back through these tables, so the two directions cannot disagree. */
struct field {
	const char *name;
	size_t off;
};

#define F(type, m)                                                                                 \
	{                                                                                          \
#m, offsetof(type, m)                                                              \
	}
static const struct field totals_f[] = {
	F(struct meter_totals, cpu_ns),	   F(struct meter_totals, pss_kib_ms),
	F(struct meter_totals, rx_bytes),  F(struct meter_totals, rx_packets),
	F(struct meter_totals, tx_bytes),  F(struct meter_totals, tx_packets),
	F(struct meter_totals, new_flows),
};
static const struct field dp_f[] = {
	F(struct dp_counters, packets),
	F(struct dp_counters, bytes),
	F(struct dp_counters, new_flows),
	F(struct dp_counters, drops),
};
static const struct field counts_f[] = {
	F(struct meter_record, wakes),	       F(struct meter_record, wakes_missed),
	F(struct meter_record, wakes_restore), F(struct meter_record, scale_outs),
	F(struct meter_record, scale_ins),
};
#undef F
#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t *u64_at(const void *s, const struct field *f)
{
	return (uint64_t *)((char *)s + f->off);
}

/* Sets (j)'s members from (n) fields of (s); (j) is returned (NULL stays NULL). */
static json_t *put_fields(json_t *j, const void *s, const struct field *f, size_t n)
{
	for (size_t i = 0; j && i < n; i++)
		json_object_set_new(j, f[i].name, json_integer((json_int_t)*u64_at(s, &f[i])));
	return j;
}

static json_t *hist_json(const struct meter_hist *h)
{
	json_t *n = json_array();

	for (size_t i = 0; n && i < METER_HIST_N; i++)
		json_array_append_new(n, json_integer((json_int_t)h->n[i]));
	return json_pack("{s:o,s:I,s:I}", "n", n, "count", (json_int_t)h->count, "sum_us",
			 (json_int_t)h->sum_us);
}

char *meter_record_dump(const struct meter_record *r)
{
	json_t *j, *guests = json_object();
	char id[16], *text;

	for (size_t i = 0; guests && i < r->nguests; i++) {
		snprintf(id, sizeof(id), "%u", r->guests[i].id);
		json_object_set_new(
			guests, id,
			put_fields(json_object(), &r->guests[i].t, totals_f, N(totals_f)));
	}
	j = json_pack("{s:i,s:o,s:o,s:o,s:o,s:o,s:o}", "version", METER_RECORD_VERSION, "gone",
		      put_fields(json_object(), &r->gone, totals_f, N(totals_f)), "dp0",
		      put_fields(json_object(), &r->dp0, dp_f, N(dp_f)), "dp",
		      put_fields(json_object(), &r->dp, dp_f, N(dp_f)), "to_first",
		      hist_json(&r->to_first), "to_ok", hist_json(&r->to_ok), "guests", guests);
	j = put_fields(j, r, counts_f, N(counts_f));
	text = j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	return text;
}

static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* One non-negative integer member (name) of (j) into (*v). */
static int get_u64(const json_t *j, const char *where, const char *name, uint64_t *v, char *err,
		   size_t len)
{
	json_t *x = json_object_get(j, name);

	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return bad(err, len, "%s.%s: missing or not a non-negative integer", where, name);
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

static int get_fields(const json_t *j, const char *where, void *s, const struct field *f, size_t n,
		      char *err, size_t len)
{
	if (!json_is_object(j))
		return bad(err, len, "%s: missing or not an object", where);
	for (size_t i = 0; i < n; i++)
		if (get_u64(j, where, f[i].name, u64_at(s, &f[i]), err, len))
			return -EINVAL;
	return 0;
}

static int get_hist(const json_t *j, const char *where, struct meter_hist *h, char *err, size_t len)
{
	const json_t *n = json_object_get(j, "n");

	if (!json_is_object(j) || !json_is_array(n) || json_array_size(n) != METER_HIST_N)
		return bad(err, len, "%s: not a histogram of %d buckets", where, METER_HIST_N);
	for (size_t i = 0; i < METER_HIST_N; i++) {
		const json_t *x = json_array_get(n, i);

		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return bad(err, len, "%s.n[%zu]: not a non-negative integer", where, i);
		h->n[i] = (uint64_t)json_integer_value(x);
	}
	if (get_u64(j, where, "count", &h->count, err, len) ||
	    get_u64(j, where, "sum_us", &h->sum_us, err, len))
		return -EINVAL;
	return 0;
}

static int get_guests(const json_t *j, struct meter_record *r, char *err, size_t len)
{
	const char *key;
	json_t *g;

	if (!json_is_object(j))
		return bad(err, len, "guests: missing or not an object");
	r->guests = calloc(json_object_size(j) ? json_object_size(j) : 1, sizeof(*r->guests));
	if (!r->guests)
		return bad(err, len, "out of memory");
	json_object_foreach((json_t *)j, key, g)
	{
		struct meter_record_guest *x = &r->guests[r->nguests];
		char *end;
		unsigned long id = strtoul(key, &end, 10);

		if (!*key || *end || id > 0xffffffffu)
			return bad(err, len, "guests: '%s' is not a guest id", key);
		x->id = (unsigned int)id;
		if (get_fields(g, "guests.<id>", &x->t, totals_f, N(totals_f), err, len))
			return -EINVAL;
		r->nguests++;
	}
	return 0;
}

static int parse_json(json_t *j, const json_error_t *je, struct meter_record *r, char *err,
		      size_t errlen)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!j)
		return bad(err, errlen, "not JSON (line %d: %s)", je->line, je->text);
	if (!json_is_object(j) ||
	    json_integer_value(json_object_get(j, "version")) != METER_RECORD_VERSION)
		rc = bad(err, errlen, "not a meter record of version %d", METER_RECORD_VERSION);
	if (!rc)
		rc = get_fields(json_object_get(j, "gone"), "gone", &r->gone, totals_f, N(totals_f),
				err, errlen);
	if (!rc)
		rc = get_fields(json_object_get(j, "dp0"), "dp0", &r->dp0, dp_f, N(dp_f), err,
				errlen);
	if (!rc)
		rc = get_fields(json_object_get(j, "dp"), "dp", &r->dp, dp_f, N(dp_f), err, errlen);
	if (!rc)
		rc = get_fields(j, "record", r, counts_f, N(counts_f), err, errlen);
	if (!rc)
		rc = get_hist(json_object_get(j, "to_first"), "to_first", &r->to_first, err,
			      errlen);
	if (!rc)
		rc = get_hist(json_object_get(j, "to_ok"), "to_ok", &r->to_ok, err, errlen);
	if (!rc)
		rc = get_guests(json_object_get(j, "guests"), r, err, errlen);
	json_decref(j);
	if (rc)
		meter_record_free(r);
	return rc;
}

int meter_record_parse(const char *text, struct meter_record *r, char *err, size_t errlen)
{
	json_error_t je;

	return parse_json(json_loads(text, 0, &je), &je, r, err, errlen);
}

int meter_record_read(FILE *f, struct meter_record *r, char *err, size_t errlen)
{
	json_error_t je;

	return parse_json(json_loadf(f, 0, &je), &je, r, err, errlen);
}

void meter_record_free(struct meter_record *r)
{
	free(r->guests);
	r->guests = NULL;
	r->nguests = 0;
}
