/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's optional configuration file: JSON that overrides the built-in defaults of its options.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "emberd_config.h"

/*
 * {"state_dir": "/var/lib/ember", "run_dir": "/run/ember", "ingress": "eth0",
 *  "pin_root": "/sys/fs/bpf/ember", "vmm": "/usr/lib/ember/ember-vmm",
 *  "scale_ms": 10, "min_avail_mib": 256, "image_max_bytes": 17179869184,
 *  "image_max_entries": 1000000}
 *
 * Every key is optional; an unknown key, a wrong type or a value out of
 * range is an error naming it (a typo must not silently keep a default).
 * The command line overrides the file.
 */

static const char *const string_keys[] = {"state_dir", "run_dir", "ingress", "pin_root", "vmm"};

static const char **string_field(struct emberd_opts *o, const char *key)
{
	const char **f[] = {&o->state_dir, &o->run_dir, &o->ingress, &o->pin_root, &o->vmm};

	for (size_t i = 0; i < sizeof(string_keys) / sizeof(string_keys[0]); i++)
		if (!strcmp(key, string_keys[i]))
			return f[i];
	return NULL;
}

static int number(const char *path, const json_t *v, const char *key, long long min, long long max,
		  long long *out, char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "%s: \"%s\": must be an integer %lld-%lld", path, key, min,
			 max);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

int emberd_config_load(const char *path, struct emberd_opts *o, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je), *v;
	const char *key, **s;
	long long n;
	int rc = 0;

	if (!root && je.line < 1) /* not opened or not read: jansson's text names the file */
		snprintf(err, errlen, "%s", je.text);
	else if (!root)
		snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: must be a JSON object", path);
		json_decref(root);
		return -EINVAL;
	}
	json_object_foreach(root, key, v)
	{
		if ((s = string_field(o, key))) {
			if (!json_is_string(v) || !json_string_length(v)) {
				snprintf(err, errlen, "%s: \"%s\": must be a non-empty string",
					 path, key);
				rc = -EINVAL;
			} else if (!(*s = strdup(
					     json_string_value(v)))) { /* kept for the process */
				rc = -ENOMEM;
			}
		} else if (!strcmp(key, "scale_ms")) {
			if (!(rc = number(path, v, key, 1, 1000, &n, err, errlen)))
				o->scale_ms = (int)n;
		} else if (!strcmp(key, "min_avail_mib")) {
			if (!(rc = number(path, v, key, 0, 1 << 30, &n, err, errlen)))
				o->min_avail_mib = (unsigned int)n;
		} else if (!strcmp(key, "image_max_bytes")) {
			if (!(rc = number(path, v, key, 0, EMBERD_IMAGE_BYTES_BOUND, &n, err,
					  errlen)))
				o->image_max_bytes = (uint64_t)n;
		} else if (!strcmp(key, "image_max_entries")) {
			if (!(rc = number(path, v, key, 0, EMBERD_IMAGE_ENTRIES_BOUND, &n, err,
					  errlen)))
				o->image_max_entries = (uint64_t)n;
		} else {
			snprintf(err, errlen,
				 "%s: unknown key \"%s\" (known: state_dir, run_dir, ingress, "
				 "pin_root, vmm, scale_ms, min_avail_mib, image_max_bytes, "
				 "image_max_entries)",
				 path, key);
			rc = -EINVAL;
		}
		if (rc)
			break;
	}
	json_decref(root);
	return rc;
}
