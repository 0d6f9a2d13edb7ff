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

static int parse_image(struct app_image *img, const json_t *v, struct app_err *err)
{
	const char *key;
	json_t *m;
	char path[64];
	int rc;

	if ((rc = app_need_object(v, "image", err)))
		return rc;
	json_object_foreach((json_t *)v, key, m)
	{
		app_path_key(path, sizeof(path), "image", key);
		if (!strcmp(key, "kernel") || !strcmp(key, "initrd") || !strcmp(key, "rootfs")) {
			char *dst = key[0] == 'k'   ? img->kernel
				    : key[0] == 'i' ? img->initrd
						    : img->rootfs;

			rc = app_read_str(m, path, dst, APP_PATH_MAX, false, err)
				     ?: app_check_host_path(dst, path, key[0] == 'r', err);
		} else if (!strcmp(key, "exec")) {
			rc = app_read_str(m, path, img->exec, sizeof(img->exec), false, err)
				     ?: app_check_exec(img->exec, path, err);
		} else {
			rc = app_fail(err, path, "unknown field");
		}
		if (rc)
			return rc;
	}
	if (!img->kernel[0])
		return app_fail(err, "image.kernel", "is required");
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
	svc->port = (uint16_t)port;
	if (!svc->family || !port) {
		app_path_key(path, sizeof(path), base, !svc->family ? "vip" : "port");
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

static int parse_args(struct app_spec *spec, const json_t *v, struct app_err *err)
{
	size_t i, total = 0;
	char path[32];
	json_t *e;
	int rc;

	if ((rc = app_need_array(v, "args", 0, APP_ARGS_MAX, err)))
		return rc;
	json_array_foreach(v, i, e)
	{
		app_path_index(path, sizeof(path), "args", i);
		rc = app_read_str(e, path, spec->args[i], APP_ARG_MAX, true, err)
			     ?: app_check_arg(spec->args[i], path, err);
		if (rc)
			return rc;
		total += strlen(spec->args[i]);
	}
	if (total > APP_ARGS_TOTAL)
		return app_fail(err, "args", "must total at most %d bytes", APP_ARGS_TOTAL);
	spec->nargs = (unsigned int)i;
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
		return parse_image(&spec->image, v, err);
	if (!strcmp(key, "services"))
		return parse_services(spec, v, err);
	if (!strcmp(key, "args"))
		return parse_args(spec, v, err);
	if (!strcmp(key, "cmdline")) {
		rc = app_read_str(v, key, spec->cmdline, sizeof(spec->cmdline), true, err);
		return rc ?: app_check_cmdline(spec->cmdline, key, err);
	}
	return app_fail(err, key, "unknown field");
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
	if (!spec->image.kernel[0])
		return app_fail(err, "image", "is required");
	if (!spec->nservices)
		return app_fail(err, "services", "is required");
	if (spec->min_instances > spec->max_instances)
		return app_fail(err, "min_instances", "must not exceed max_instances (%u)",
				spec->max_instances);
	return 0;
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

static json_t *image_to_json(const struct app_image *img)
{
	json_t *o = json_pack("{s:s}", "kernel", img->kernel);

	if (o && img->initrd[0])
		json_object_set_new(o, "initrd", json_string(img->initrd));
	if (o && img->rootfs[0])
		json_object_set_new(o, "rootfs", json_string(img->rootfs));
	if (o && img->exec[0])
		json_object_set_new(o, "exec", json_string(img->exec));
	return o;
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

json_t *app_spec_to_json(const struct app_spec *spec)
{
	json_t *o = json_pack("{s:s,s:o,s:o}", "name", spec->name, "image",
			      image_to_json(&spec->image), "services", services_to_json(spec));
	json_t *args = json_array();

	if (!o || !args) {
		json_decref(o);
		json_decref(args);
		return NULL;
	}
	if (spec->cmdline[0])
		json_object_set_new(o, "cmdline", json_string(spec->cmdline));
	for (unsigned int i = 0; i < spec->nargs; i++)
		json_array_append_new(args, json_string(spec->args[i]));
	json_object_set_new(o, "args", args);
	for (size_t i = 0; i < N_U32; i++)
		json_object_set_new(o, u32_fields[i].key,
				    json_integer(*u32_at((void *)spec, u32_fields[i].off)));
	return o;
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
