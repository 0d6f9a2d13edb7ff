// SPDX-License-Identifier: Apache-2.0
/* The app model: JSON -> struct app_spec (validated) and back, and scale requests. */
#include "app_field.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The integer fields, with their ranges; (scale) marks the ones a scale
 * request may change. One table so the spec and scale parsers agree. */
struct u32_field {
	const char *key;
	size_t off; /* in struct app_spec */
	uint32_t min, max;
	unsigned int scale; /* enum app_scale_field, 0 = not scalable */
	size_t scale_off;   /* in struct app_scale */
};

#define SPEC(f)	 offsetof(struct app_spec, f)
#define SCALE(f) offsetof(struct app_scale, f)

static const struct u32_field u32_fields[] = {
	{"mem_mib", SPEC(mem_mib), APP_MEM_MIB_MIN, APP_MEM_MIB_MAX, 0, 0},
	{"vcpus", SPEC(vcpus), 1, APP_VCPUS_MAX, 0, 0},
	{"min_instances", SPEC(min_instances), 0, APP_INSTANCES_MAX, APP_SCALE_MIN,
	 SCALE(min_instances)},
	{"max_instances", SPEC(max_instances), 1, APP_INSTANCES_MAX, APP_SCALE_MAX,
	 SCALE(max_instances)},
	{"target_concurrency", SPEC(target_concurrency), 1, APP_CONCURRENCY_MAX,
	 APP_SCALE_CONCURRENCY, SCALE(target_concurrency)},
	{"idle_timeout_ms", SPEC(idle_timeout_ms), APP_IDLE_TIMEOUT_MIN, APP_IDLE_TIMEOUT_MAX,
	 APP_SCALE_IDLE, SCALE(idle_timeout_ms)},
	{"standby", SPEC(standby), 0, APP_INSTANCES_MAX, APP_SCALE_STANDBY, SCALE(standby)},
};

#define N_U32 (sizeof(u32_fields) / sizeof(u32_fields[0]))

static const struct u32_field *u32_field(const char *key)
{
	for (size_t i = 0; i < N_U32; i++)
		if (!strcmp(u32_fields[i].key, key))
			return &u32_fields[i];
	return NULL;
}

static uint32_t *u32_at(void *base, size_t off)
{
	return (uint32_t *)((char *)base + off);
}

void app_spec_defaults(struct app_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->mem_mib = APP_MEM_MIB_DEFAULT;
	spec->vcpus = 1;
	spec->min_instances = 0;
	spec->max_instances = APP_MAX_INSTANCES_DEFAULT;
	spec->target_concurrency = APP_CONCURRENCY_DEFAULT;
	spec->idle_timeout_ms = APP_IDLE_TIMEOUT_DEFAULT;
	spec->standby = APP_STANDBY_DEFAULT;
}

/*
 * "image": a reference to an image in emberd's store ("redis:7",
 * "NAME@sha256:..."), resolved by emberd at deploy; or {"host": NAME}, a
 * kernel and initramfs named in emberd's own configuration (ember's tests
 * and the operator's own guests). An API caller never gives a host path.
 */
static int parse_image(struct app_spec *spec, const json_t *v, struct app_err *err)
{
	const char *key;
	json_t *m;
	int rc;

	if (json_is_string(v)) {
		rc = app_read_str(v, "image", spec->image, sizeof(spec->image), false, err);
		if (!rc && strpbrk(spec->image, " \t"))
			rc = app_fail(err, "image", "must not contain spaces");
		return rc;
	}
	if (!json_is_object(v))
		return app_fail(err, "image",
				"must be an image reference (\"redis:7\") or {\"host\": NAME}");
	json_object_foreach((json_t *)v, key, m)
	{
		if (strcmp(key, "host"))
			return app_fail(err, "image",
					"unknown field \"%s\" (an app names an image by its "
					"reference, or a host image of emberd's configuration "
					"by {\"host\": NAME}; host paths are not accepted)",
					key);
		rc = app_read_str(m, "image.host", spec->host_image, sizeof(spec->host_image),
				  false, err);
		if (rc)
			return rc;
	}
	if (!spec->host_image[0])
		return app_fail(err, "image.host", "is required");
	return 0;
}

static int parse_service(struct app_service *svc, const json_t *v, const char *base,
			 struct app_err *err)
{
	char path[64], buf[64];
	const char *key;
	uint32_t port = 0;
	json_t *m;
	int rc;

	if ((rc = app_need_object(v, base, err)))
		return rc;
	svc->proto = APP_PROTO_TCP;
	json_object_foreach((json_t *)v, key, m)
	{
		app_path_key(path, sizeof(path), base, key);
		if (!strcmp(key, "vip")) {
			rc = app_read_str(m, path, buf, sizeof(buf), false, err)
				     ?: app_parse_vip(buf, path, svc, err);
		} else if (!strcmp(key, "port")) {
			rc = app_read_u32(m, path, 1, 65535, &port, err);
		} else if (!strcmp(key, "proto")) {
			rc = app_read_str(m, path, buf, sizeof(buf), false, err);
			if (!rc && strcmp(buf, "tcp") && strcmp(buf, "udp"))
				rc = app_fail(err, path, "must be \"tcp\" or \"udp\"");
			svc->proto = !strcmp(buf, "udp") ? APP_PROTO_UDP : APP_PROTO_TCP;
		} else {
			rc = app_fail(err, path, "unknown field");
		}
		if (rc)
			return rc;
	}
	svc->port = (uint16_t)port; /* 0: the image's ExposedPorts (check_spec) */
	if (!svc->family) {
		app_path_key(path, sizeof(path), base, "vip");
		return app_fail(err, path, "is required");
	}
	return 0;
}

static int parse_services(struct app_spec *spec, const json_t *v, struct app_err *err)
{
	char path[32];
	json_t *e;
	size_t i;
	int rc;

	if ((rc = app_need_array(v, "services", 1, APP_SERVICES_MAX, err)))
		return rc;
	json_array_foreach(v, i, e)
	{
		app_path_index(path, sizeof(path), "services", i);
		if ((rc = parse_service(&spec->services[i], e, path, err)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (app_service_equal(&spec->services[j], &spec->services[i]))
				return app_fail(err, path,
						"same vip, port and proto as services[%zu]", j);
	}
	spec->nservices = (unsigned int)i;
	return 0;
}

/* "command" or "args": up to APP_ARGS_MAX strings of APP_ARGS_TOTAL bytes in all. */
static int parse_argv(const char *key, char (*out)[APP_ARG_MAX], unsigned int *n, bool *has,
		      const json_t *v, struct app_err *err)
{
	size_t i, total = 0;
	char path[32];
	json_t *e;
	int rc;

	if ((rc = app_need_array(v, key, 0, APP_ARGS_MAX, err)))
		return rc;
	json_array_foreach(v, i, e)
	{
		app_path_index(path, sizeof(path), key, i);
		if ((rc = app_read_str(e, path, out[i], APP_ARG_MAX, true, err)))
			return rc;
		total += strlen(out[i]);
	}
	if (total > APP_ARGS_TOTAL)
		return app_fail(err, key, "must total at most %d bytes", APP_ARGS_TOTAL);
	*n = (unsigned int)i;
	*has = true;
	return 0;
}

/* "env": {"NAME": "VALUE", ...}, kept in order as "NAME=VALUE" strings. */
static int parse_env(struct app_spec *spec, const json_t *v, struct app_err *err)
{
	char path[APP_ENV_BYTES + 8], val[APP_ENV_BYTES];
	size_t used = 0;
	const char *key;
	json_t *m;
	int rc;

	if ((rc = app_need_object(v, "env", err)))
		return rc;
	if (json_object_size(v) > APP_ENV_MAX)
		return app_fail(err, "env", "must have at most %d entries", APP_ENV_MAX);
	json_object_foreach((json_t *)v, key, m)
	{
		snprintf(path, sizeof(path), "env.%.64s", key);
		if (!key[0] || strchr(key, '=') || strpbrk(key, " \t\n"))
			return app_fail(err, path,
					"a name must be non-empty, without '=' or spaces");
		if ((rc = app_read_str(m, path, val, sizeof(val), true, err)))
			return rc;
		if (used + strlen(key) + 1 + strlen(val) + 1 > sizeof(spec->env))
			return app_fail(err, "env", "must total at most %d bytes", APP_ENV_BYTES);
		used += (size_t)snprintf(spec->env + used, sizeof(spec->env) - used, "%s=%s", key,
					 val) +
			1;
		spec->nenv++;
	}
	return 0;
}

/* One top-level member of the app object. */
static int parse_member(struct app_spec *spec, const char *key, const json_t *v,
			struct app_err *err)
{
	const struct u32_field *f = u32_field(key);
	int rc;

	if (f)
		return app_read_u32(v, key, f->min, f->max, u32_at(spec, f->off), err);
	if (!strcmp(key, "name")) {
		char name[APP_PATH_MAX]; /* read long so the length error names the limit */

		rc = app_read_str(v, key, name, sizeof(name), false, err)
			     ?: app_name_check(name, err);
		if (!rc)
			memcpy(spec->name, name, strlen(name) + 1);
		return rc;
	}
	if (!strcmp(key, "image"))
		return parse_image(spec, v, err);
	if (!strcmp(key, "services"))
		return parse_services(spec, v, err);
	if (!strcmp(key, "command"))
		return parse_argv(key, spec->command, &spec->ncommand, &spec->has_command, v, err);
	if (!strcmp(key, "args"))
		return parse_argv(key, spec->args, &spec->nargs, &spec->has_args, v, err);
	if (!strcmp(key, "env"))
		return parse_env(spec, v, err);
	if (!strcmp(key, "workdir")) {
		rc = app_read_str(v, key, spec->workdir, sizeof(spec->workdir), false, err);
		if (!rc && spec->workdir[0] != '/')
			rc = app_fail(err, key, "must be an absolute path");
		return rc;
	}
	if (!strcmp(key, "user"))
		return app_read_str(v, key, spec->user, sizeof(spec->user), false, err);
	if (!strcmp(key, "cmdline")) {
		rc = app_read_str(v, key, spec->cmdline, sizeof(spec->cmdline), true, err);
		return rc ?: app_check_cmdline(spec->cmdline, key, err);
	}
	return app_fail(err, key, "unknown field");
}

/* A host image runs ember-init's own workload: the OCI fields mean nothing
 * to it, and its args become ember.arg="..." words of the command line. */
static int check_host_spec(const struct app_spec *spec, struct app_err *err)
{
	const char *oci_only = spec->has_command  ? "command"
			       : spec->nenv	  ? "env"
			       : spec->workdir[0] ? "workdir"
			       : spec->user[0]	  ? "user"
						  : NULL;
	char path[48];

	if (oci_only)
		return app_fail(err, oci_only, "applies to an OCI image only, not to a host image");
	for (unsigned int i = 0; i < spec->nservices; i++)
		if (!spec->services[i].port) {
			snprintf(path, sizeof(path), "services[%u].port", i);
			return app_fail(err, path, "is required (a host image exposes no ports)");
		}
	for (unsigned int i = 0; i < spec->nargs; i++) {
		app_path_index(path, sizeof(path), "args", i);
		if (app_check_arg(spec->args[i], path, err))
			return -EINVAL;
	}
	return 0;
}

/* Rules between fields and required fields, after every member parsed. */
static int check_spec(const struct app_spec *spec, const char *name_from_path, struct app_err *err)
{
	if (name_from_path) {
		if (spec->name[0] && strcmp(spec->name, name_from_path))
			return app_fail(err, "name", "must match the name in the path (%s)",
					name_from_path);
	} else if (!spec->name[0]) {
		return app_fail(err, "name", "is required");
	}
	if (!spec->image[0] && !spec->host_image[0])
		return app_fail(err, "image", "is required");
	if (!spec->nservices)
		return app_fail(err, "services", "is required");
	if (spec->min_instances > spec->max_instances)
		return app_fail(err, "min_instances", "must not exceed max_instances (%u)",
				spec->max_instances);
	return spec->image[0] ? 0 : check_host_spec(spec, err);
}

int app_spec_from_json(struct app_spec *spec, const json_t *json, const char *name_from_path,
		       struct app_err *err)
{
	const char *key;
	json_t *v;
	int rc;

	app_spec_defaults(spec);
	memset(err, 0, sizeof(*err));
	if (!json_is_object(json))
		return app_fail(err, "", "the app must be a JSON object");
	if (name_from_path && (rc = app_name_check(name_from_path, err)))
		return rc;
	json_object_foreach((json_t *)json, key, v)
	{
		if ((rc = parse_member(spec, key, v, err)))
			return rc;
	}
	if ((rc = check_spec(spec, name_from_path, err)))
		return rc;
	if (name_from_path)
		snprintf(spec->name, sizeof(spec->name), "%s", name_from_path);
	return 0;
}

static json_t *services_to_json(const struct app_spec *spec)
{
	json_t *a = json_array();
	char ip[64];

	for (unsigned int i = 0; a && i < spec->nservices; i++) {
		const struct app_service *s = &spec->services[i];

		app_format_vip(s, ip, sizeof(ip));
		json_array_append_new(a, json_pack("{s:s,s:i,s:s}", "vip", ip, "port", s->port,
						   "proto",
						   s->proto == APP_PROTO_UDP ? "udp" : "tcp"));
	}
	return a;
}

static json_t *strv_to_json(const char (*v)[APP_ARG_MAX], unsigned int n)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *app_spec_to_json(const struct app_spec *spec)
{
	json_t *o = json_pack("{s:s,s:o}", "name", spec->name, "services", services_to_json(spec));
	json_t *env = json_object();
	const char *p = spec->env;

	if (!o || !env) {
		json_decref(o);
		json_decref(env);
		return NULL;
	}
	json_object_set_new(o, "image",
			    spec->image[0] ? json_string(spec->image)
					   : json_pack("{s:s}", "host", spec->host_image));
	if (spec->has_command)
		json_object_set_new(o, "command", strv_to_json(spec->command, spec->ncommand));
	if (spec->has_args)
		json_object_set_new(o, "args", strv_to_json(spec->args, spec->nargs));
	for (unsigned int i = 0; i < spec->nenv; i++, p += strlen(p) + 1) {
		const char *eq = strchr(p, '=');
		char name[APP_ENV_BYTES];

		snprintf(name, sizeof(name), "%.*s", (int)(eq - p), p);
		json_object_set_new(env, name, json_string(eq + 1));
	}
	if (spec->nenv)
		json_object_set_new(o, "env", env);
	else
		json_decref(env);
	if (spec->workdir[0])
		json_object_set_new(o, "workdir", json_string(spec->workdir));
	if (spec->user[0])
		json_object_set_new(o, "user", json_string(spec->user));
	if (spec->cmdline[0])
		json_object_set_new(o, "cmdline", json_string(spec->cmdline));
	for (size_t i = 0; i < N_U32; i++)
		json_object_set_new(o, u32_fields[i].key,
				    json_integer(*u32_at((void *)spec, u32_fields[i].off)));
	return o;
}

/* The boot files are emberd's records: paths it resolved itself. */
static const struct {
	const char *key;
	size_t off, size;
} boot_fields[] = {
	{"kernel", offsetof(struct app_boot, kernel), APP_PATH_MAX},
	{"initrd", offsetof(struct app_boot, initrd), APP_PATH_MAX},
	{"rootfs", offsetof(struct app_boot, rootfs), APP_PATH_MAX},
	{"exec", offsetof(struct app_boot, exec), APP_EXEC_MAX},
	{"digest", offsetof(struct app_boot, digest), APP_DIGEST_MAX},
};

json_t *app_boot_to_json(const struct app_boot *b)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < sizeof(boot_fields) / sizeof(boot_fields[0]); i++) {
		const char *v = (const char *)b + boot_fields[i].off;

		if (v[0])
			json_object_set_new(o, boot_fields[i].key, json_string(v));
	}
	return o;
}

int app_boot_from_json(struct app_boot *b, const json_t *json, struct app_err *err)
{
	const char *key;
	json_t *v;

	memset(b, 0, sizeof(*b));
	if (app_need_object(json, "boot", err))
		return -EINVAL;
	json_object_foreach((json_t *)json, key, v)
	{
		size_t i = 0, n = sizeof(boot_fields) / sizeof(boot_fields[0]);
		char path[32];

		while (i < n && strcmp(key, boot_fields[i].key))
			i++;
		app_path_key(path, sizeof(path), "boot", key);
		if (i == n)
			return app_fail(err, path, "unknown field");
		if (app_read_str(v, path, (char *)b + boot_fields[i].off, boot_fields[i].size,
				 false, err))
			return -EINVAL;
	}
	if (!b->kernel[0])
		return app_fail(err, "boot.kernel", "is required");
	return 0;
}

int app_scale_from_json(struct app_scale *scale, const json_t *json, bool require_bounds,
			struct app_err *err)
{
	const struct u32_field *f;
	const char *key;
	json_t *v;
	int rc;

	memset(scale, 0, sizeof(*scale));
	memset(err, 0, sizeof(*err));
	if (!json_is_object(json))
		return app_fail(err, "", "the scale request must be a JSON object");
	json_object_foreach((json_t *)json, key, v)
	{
		f = u32_field(key);
		if (!f || !f->scale)
			return app_fail(err, key,
					"unknown field (a scale request takes "
					"min_instances, max_instances, standby, "
					"target_concurrency, idle_timeout_ms)");
		if ((rc = app_read_u32(v, key, f->min, f->max, u32_at(scale, f->scale_off), err)))
			return rc;
		scale->set |= f->scale;
	}
	if (require_bounds && !(scale->set & APP_SCALE_MIN))
		return app_fail(err, "min_instances", "is required (PATCH changes single fields)");
	if (require_bounds && !(scale->set & APP_SCALE_MAX))
		return app_fail(err, "max_instances", "is required (PATCH changes single fields)");
	if (!scale->set)
		return app_fail(err, "", "the scale request changes nothing");
	return 0;
}

int app_scale_apply(struct app_spec *spec, const struct app_scale *scale, struct app_err *err)
{
	struct app_spec next = *spec;

	memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < N_U32; i++) {
		const struct u32_field *f = &u32_fields[i];

		if (scale->set & f->scale)
			*u32_at(&next, f->off) = *u32_at((void *)scale, f->scale_off);
	}
	if (next.min_instances > next.max_instances) {
		if (scale->set & APP_SCALE_MIN)
			return app_fail(err, "min_instances", "must not exceed max_instances (%u)",
					next.max_instances);
		return app_fail(err, "max_instances", "must not be below min_instances (%u)",
				next.min_instances);
	}
	*spec = next;
	return 0;
}
