// SPDX-License-Identifier: Apache-2.0
/* In-memory registry of deployed apps: unique names and (VIP, port, proto) claims, app ids. */
#ifndef EMBER_USERSPACE_APP_REGISTRY_H
#define EMBER_USERSPACE_APP_REGISTRY_H

#include "app_spec.h"

/*
 * The registry owns a copy of every deployed spec, kept sorted by name. It
 * enforces the two rules that span apps: a name is used once, and a
 * (VIP, port, proto) belongs to at most one app. It also hands out the app
 * id the dataplane knows the app by (0 .. EMBER_MAX_APPS-1, lowest free,
 * kept across redeploys). Pure C, no I/O, not thread-safe (emberd calls it
 * from its one event loop).
 */

struct app_registry;

struct app_entry {
	struct app_spec spec;
	uint32_t id;	  /* the dataplane's app id */
	uint64_t version; /* 1 on deploy, +1 per replace */
};

/* A new empty registry, or NULL when out of memory. */
struct app_registry *app_registry_new(void);
void app_registry_free(struct app_registry *reg);

/*
 * Checks whether (spec) may be deployed, (replace) false, or may replace the
 * app of the same name, (replace) true. Returns 0, or fills (err) and returns
 * -EEXIST (name taken; field "name"), -ENOENT (replace of an unknown app;
 * field "name") or -EADDRINUSE (a service claimed by another app; field
 * "services[i]", the message names the other app).
 */
int app_registry_check(const struct app_registry *reg, const struct app_spec *spec, bool replace,
		       struct app_err *err);

/* app_registry_check() then insert (a copy of) (spec). Also -ENOSPC when
 * every app id is in use and -ENOMEM. (out), if not NULL, gets the entry. */
int app_registry_add(struct app_registry *reg, const struct app_spec *spec,
		     const struct app_entry **out, struct app_err *err)
	__attribute__((warn_unused_result));

/* app_registry_add() with the (id) and (version) an earlier emberd gave the
 * app (read back from its state directory at start): the dataplane's maps
 * are keyed by the id. Also -EEXIST (field "id") when (id) is taken and
 * -EINVAL when it is out of range. */
int app_registry_restore(struct app_registry *reg, const struct app_spec *spec, uint32_t id,
			 uint64_t version, const struct app_entry **out, struct app_err *err)
	__attribute__((warn_unused_result));

/* app_registry_check(replace) then overwrite the spec; id kept, version+1. */
int app_registry_replace(struct app_registry *reg, const struct app_spec *spec,
			 const struct app_entry **out, struct app_err *err)
	__attribute__((warn_unused_result));

/* Removes the app (name). Returns 0 or -ENOENT. */
int app_registry_del(struct app_registry *reg, const char *name);

/* The entry of (name), or NULL. Valid until that app is deleted; the spec
 * may be changed in place except its name and services (use replace). */
struct app_entry *app_registry_get(const struct app_registry *reg, const char *name);

/* Iteration in name order: entries 0 .. count-1. */
size_t app_registry_count(const struct app_registry *reg);
struct app_entry *app_registry_at(const struct app_registry *reg, size_t i);

#endif
