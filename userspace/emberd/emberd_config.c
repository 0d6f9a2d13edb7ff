/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's optional configuration file: JSON that overrides the built-in defaults of its options.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/app_field.h"
#include "emberd_config.h"

/*
 * {"state_dir": "/var/lib/ember", "run_dir": "/run/ember", "ingress": "eth0",
 *  "pin_root": "/sys/fs/bpf/ember", "vmm": "/usr/lib/ember/ember-vmm",
 *  "guest_kernel": "/usr/lib/ember/vmlinux",
 *  "guest_initramfs": "/usr/lib/ember/initramfs.cpio",
 *  "host_images": {"demo": {"kernel": "/k", "initrd": "/i.cpio",
 *                           "rootfs": "/r.img", "exec": "/srv/app"}},
 *  "scale_ms": 10, "min_avail_mib": 256, "image_max_bytes": 17179869184,
 *  "image_max_entries": 1000000, "image_fs": "erofs", "registry_stall_timeout_s": 30}
 *
 * Every key is optional; an unknown key, a wrong type or a value out of
 * range is an error naming it (a typo must not silently keep a default).
 * The command line overrides the file.
 */

static const char *const string_keys[] = {"state_dir", "run_dir",      "ingress",	 "pin_root",
					  "vmm",       "guest_kernel", "guest_initramfs"};

static const char **string_field(struct emberd_opts *o, const char *key)
{
	const char **f[] = {&o->state_dir, &o->run_dir,	     &o->ingress,	 &o->pin_root,
			    &o->vmm,	   &o->guest_kernel, &o->guest_initramfs};

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

/*
 * "host_images": {NAME: {"kernel": PATH, "initrd": PATH, "rootfs": PATH,
 * "exec": PATH}}: the operator's own guests (and ember's tests'), named by
 * an app as {"host": NAME}. The paths are checked as an app spec's were.
 */
static int host_images(const char *path, const json_t *v, struct emberd_opts *o, char *err,
		       size_t errlen)
{
	struct emberd_host_image *hi;
	const char *name, *key;
	struct app_err ae;
	json_t *img, *m;

	if (!json_is_object(v) || json_object_size(v) > 64) {
		snprintf(err, errlen, "%s: \"host_images\": must be an object of at most 64", path);
		return -EINVAL;
	}
	o->host_images = calloc(json_object_size(v) + 1, sizeof(*o->host_images));
	if (!o->host_images)
		return -ENOMEM;
	json_object_foreach((json_t *)v, name, img)
	{
		hi = &o->host_images[o->nhost_images++];
		if (app_name_check(name, &ae) || !json_is_object(img)) {
			snprintf(err, errlen, "%s: host_images.%s: %s", path, name,
				 json_is_object(img) ? ae.msg : "must be an object");
			return -EINVAL;
		}
		snprintf(hi->name, sizeof(hi->name), "%s", name);
		json_object_foreach(img, key, m)
		{
			char *dst = !strcmp(key, "kernel")   ? hi->boot.kernel
				    : !strcmp(key, "initrd") ? hi->boot.initrd
				    : !strcmp(key, "rootfs") ? hi->boot.rootfs
				    : !strcmp(key, "exec")   ? hi->boot.exec
							     : NULL;
			size_t n = dst == hi->boot.exec ? sizeof(hi->boot.exec) : APP_PATH_MAX;
			int rc;

			if (!dst) {
				snprintf(err, errlen,
					 "%s: host_images.%s: unknown key \"%s\" (known: kernel, "
					 "initrd, rootfs, exec)",
					 path, name, key);
				return -EINVAL;
			}
			rc = app_read_str(m, key, dst, n, false, &ae);
			if (!rc)
				rc = dst == hi->boot.exec
					     ? app_check_exec(dst, key, &ae)
					     : app_check_host_path(dst, key, dst == hi->boot.rootfs,
								   &ae);
			if (rc) {
				snprintf(err, errlen, "%s: host_images.%s.%s", path, name, ae.msg);
				return -EINVAL;
			}
		}
		if (!hi->boot.kernel[0]) {
			snprintf(err, errlen, "%s: host_images.%s: \"kernel\" is required", path,
				 name);
			return -EINVAL;
		}
	}
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
		} else if (!strcmp(key, "image_fs")) {
			const char *fs = json_string_value(v);

			if (!fs || (strcmp(fs, "erofs") && strcmp(fs, "ext4"))) {
				snprintf(err, errlen,
					 "%s: \"image_fs\": must be \"erofs\" or \"ext4\"", path);
				rc = -EINVAL;
			} else {
				o->image_ext4 = !strcmp(fs, "ext4");
			}
		} else if (!strcmp(key, "host_images")) {
			rc = host_images(path, v, o, err, errlen);
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
		} else if (!strcmp(key, "registry_stall_timeout_s")) {
			if (!(rc = number(path, v, key, 1, 3600, &n, err, errlen)))
				o->pull_stall_s = (unsigned int)n;
		} else {
			snprintf(err, errlen,
				 "%s: unknown key \"%s\" (known: state_dir, run_dir, ingress, "
				 "pin_root, vmm, guest_kernel, guest_initramfs, host_images, "
				 "scale_ms, min_avail_mib, image_max_bytes, image_max_entries, "
				 "image_fs, registry_stall_timeout_s)",
				 path, key);
			rc = -EINVAL;
		}
		if (rc)
			break;
	}
	json_decref(root);
	return rc;
}
