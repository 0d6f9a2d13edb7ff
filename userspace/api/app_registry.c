// SPDX-License-Identifier: Apache-2.0
/* In-memory registry of deployed apps: unique names and (VIP, port, proto) claims, app ids. */
#include "app_registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ID_WORDS ((EMBER_MAX_APPS + 63) / 64)

/* Entries live on the heap so a pointer stays valid while others come and
 * go; the array of pointers is sorted by name for binary search. Conflict
 * checks scan every service: deploys are rare and there are at most
 * EMBER_MAX_APPS * APP_SERVICES_MAX claims. */
struct app_registry {
	struct app_entry **v;
	size_t n, cap;
	uint64_t ids[ID_WORDS]; /* bit set = id in use */
};

struct app_registry *app_registry_new(void)
{
	return calloc(1, sizeof(struct app_registry));
}

void app_registry_free(struct app_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n; i++)
		free(reg->v[i]);
	free(reg->v);
	free(reg);
}

/* Index of (name) if present (*found), else where it would be inserted. */
static size_t find(const struct app_registry *reg, const char *name, bool *found)
{
	size_t lo = 0, hi = reg->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, reg->v[mid]->spec.name);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Another app that claims (svc), or NULL. (self) is not "another". */
static const struct app_entry *claimed_by(const struct app_registry *reg,
					  const struct app_service *svc, const char *self)
{
	for (size_t i = 0; i < reg->n; i++) {
		const struct app_spec *o = &reg->v[i]->spec;

		if (!strcmp(o->name, self))
			continue;
		for (unsigned int j = 0; j < o->nservices; j++)
			if (app_service_equal(&o->services[j], svc))
				return reg->v[i];
	}
	return NULL;
}

int app_registry_check(const struct app_registry *reg, const struct app_spec *spec, bool replace,
		       struct app_err *err)
{
	char field[32], svc[80];
	bool found;

	find(reg, spec->name, &found);
	if (found && !replace) {
		app_fail(err, "name", "an app named \"%s\" already exists", spec->name);
		return -EEXIST;
	}
	if (!found && replace) {
		app_fail(err, "name", "no app named \"%s\"", spec->name);
		return -ENOENT;
	}
	for (unsigned int i = 0; i < spec->nservices; i++) {
		const struct app_entry *o = claimed_by(reg, &spec->services[i], spec->name);

		if (!o)
			continue;
		snprintf(field, sizeof(field), "services[%u]", i);
		app_service_format(&spec->services[i], svc, sizeof(svc));
		app_fail(err, field, "%s is already served by app \"%s\"", svc, o->spec.name);
		return -EADDRINUSE;
	}
	return 0;
}

static int alloc_id(struct app_registry *reg, uint32_t *id)
{
	for (uint32_t i = 0; i < EMBER_MAX_APPS; i++) {
		if (!(reg->ids[i / 64] & (1ull << (i % 64)))) {
			reg->ids[i / 64] |= 1ull << (i % 64);
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

static int grow(struct app_registry *reg)
{
	size_t cap = reg->cap ? reg->cap * 2 : 16;
	struct app_entry **v;

	if (reg->n < reg->cap)
		return 0;
	v = realloc(reg->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	reg->v = v;
	reg->cap = cap;
	return 0;
}

/* Inserts (spec) with (id), or a free id when (id) is EMBER_MAX_APPS. */
static int insert(struct app_registry *reg, const struct app_spec *spec, uint32_t id,
		  uint64_t version, const struct app_entry **out, struct app_err *err)
{
	struct app_entry *e;
	bool found;
	size_t at;
	int rc;

	if ((rc = app_registry_check(reg, spec, false, err)))
		return rc;
	if (id < EMBER_MAX_APPS && (reg->ids[id / 64] & (1ull << (id % 64)))) {
		app_fail(err, "id", "app id %u is already in use", id);
		return -EEXIST;
	}
	e = malloc(sizeof(*e));
	if (!e || grow(reg)) {
		free(e);
		app_fail(err, "", "out of memory");
		return -ENOMEM;
	}
	if (id < EMBER_MAX_APPS) {
		reg->ids[id / 64] |= 1ull << (id % 64);
		e->id = id;
	} else if ((rc = alloc_id(reg, &e->id))) {
		free(e);
		app_fail(err, "", "every one of the %d app ids is in use", EMBER_MAX_APPS);
		return rc;
	}
	e->spec = *spec;
	e->version = version;
	at = find(reg, spec->name, &found);
	memmove(&reg->v[at + 1], &reg->v[at], (reg->n - at) * sizeof(*reg->v));
	reg->v[at] = e;
	reg->n++;
	if (out)
		*out = e;
	return 0;
}

int app_registry_add(struct app_registry *reg, const struct app_spec *spec,
		     const struct app_entry **out, struct app_err *err)
{
	return insert(reg, spec, EMBER_MAX_APPS, 1, out, err);
}

int app_registry_restore(struct app_registry *reg, const struct app_spec *spec, uint32_t id,
			 uint64_t version, const struct app_entry **out, struct app_err *err)
{
	if (id >= EMBER_MAX_APPS) /* app_fail() returns -EINVAL */
		return app_fail(err, "id", "app id %u is out of range (0-%d)", id,
				EMBER_MAX_APPS - 1);
	return insert(reg, spec, id, version, out, err);
}

int app_registry_replace(struct app_registry *reg, const struct app_spec *spec,
			 const struct app_entry **out, struct app_err *err)
{
	struct app_entry *e;
	int rc;

	if ((rc = app_registry_check(reg, spec, true, err)))
		return rc;
	e = app_registry_get(reg, spec->name);
	e->spec = *spec;
	e->version++;
	if (out)
		*out = e;
	return 0;
}

int app_registry_del(struct app_registry *reg, const char *name)
{
	bool found;
	size_t at = find(reg, name, &found);
	uint32_t id;

	if (!found)
		return -ENOENT;
	id = reg->v[at]->id;
	reg->ids[id / 64] &= ~(1ull << (id % 64));
	free(reg->v[at]);
	memmove(&reg->v[at], &reg->v[at + 1], (reg->n - at - 1) * sizeof(*reg->v));
	reg->n--;
	return 0;
}

struct app_entry *app_registry_get(const struct app_registry *reg, const char *name)
{
	bool found;
	size_t at = find(reg, name, &found);

	return found ? reg->v[at] : NULL;
}

size_t app_registry_count(const struct app_registry *reg)
{
	return reg->n;
}

struct app_entry *app_registry_at(const struct app_registry *reg, size_t i)
{
	return i < reg->n ? reg->v[i] : NULL;
}
