// SPDX-License-Identifier: Apache-2.0
/* The app model: what a tenant deploys, its JSON form, limits and defaults (pure C, no I/O). */
#ifndef EMBER_USERSPACE_APP_SPEC_H
#define EMBER_USERSPACE_APP_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <ember/maps.h>

/*
 * An app is a name, an OCI image (with what the spec overrides of its
 * config), one or more services (VIP, port, proto) and scaling knobs.
 * docs/api.md is the reference for the JSON form; the limits below are the
 * ones it documents. Every string field is stored in a fixed array so a spec
 * is copied by assignment and needs no free.
 */

#define APP_NAME_MAX	 63   /* a DNS label: 1-63 of [a-z0-9-] */
#define APP_PATH_MAX	 256  /* host paths, incl. NUL */
#define APP_EXEC_MAX	 256  /* ember-init's ember.exec limit, incl. NUL */
#define APP_ARG_MAX	 256  /* ember-init's ember.arg limit, incl. NUL */
#define APP_ARGS_MAX	 16   /* ember-init takes up to 16 ember.arg */
#define APP_ARGS_TOTAL	 1024 /* all args together: the x86 command line is 2048 */
#define APP_CMDLINE_MAX	 512  /* extra kernel command line, incl. NUL */
#define APP_IMAGE_MAX	 512  /* an image reference, incl. NUL (ref.h: REF_FORMAT_SIZE) */
#define APP_DIGEST_MAX	 72   /* "sha256:" + 64 hex, incl. NUL */
#define APP_ENV_BYTES	 4096 /* every "NAME=VALUE" of "env" with its NUL */
#define APP_ENV_MAX	 64   /* entries of "env" */
#define APP_USER_MAX	 64   /* "user": name or uid[:gid], incl. NUL */
#define APP_SERVICES_MAX 16

/* Ranges (inclusive) and defaults of the numeric fields. */
#define APP_MEM_MIB_MIN		  16 /* ember-vmm --mem: 16M to 512G */
#define APP_MEM_MIB_MAX		  (512u * 1024)
#define APP_MEM_MIB_DEFAULT	  128
#define APP_VCPUS_MAX		  8			   /* ember-vmm --vcpus: 1 to 8 */
#define APP_INSTANCES_MAX	  EMBER_MAX_GUESTS_PER_APP /* live guests of one app */
#define APP_MAX_INSTANCES_DEFAULT 4
#define APP_CONCURRENCY_MAX	  65535
#define APP_CONCURRENCY_DEFAULT	  32
#define APP_IDLE_TIMEOUT_MIN	  100	  /* ms; shorter thrashes wake/sleep */
#define APP_IDLE_TIMEOUT_MAX	  3600000 /* 1 h; longer: use min_instances */
#define APP_IDLE_TIMEOUT_DEFAULT  5000
#define APP_STANDBY_DEFAULT	  1

enum app_proto {
	APP_PROTO_TCP = 6,  /* = IPPROTO_TCP */
	APP_PROTO_UDP = 17, /* = IPPROTO_UDP */
};

/* One (VIP, port, proto) the dataplane routes to the app. The address is
 * laid out as struct dp_service wants it: 16 bytes, network byte order,
 * IPv4 in the first 4 bytes with (family) AF_INET. Port 0 (an OCI image's
 * app only, until emberd expands it) stands for the image's ExposedPorts. */
struct app_service {
	int family;
	uint8_t vip[16];
	uint16_t port; /* host byte order; the guest listens on the same port */
	uint8_t proto; /* enum app_proto */
};

/*
 * What ember-vmm boots (docs/vmm.md) and what ember-init runs in it. Never
 * from an API caller: emberd fills it at deploy, from the image (ember's own
 * kernel, an initramfs with the image's run config, the image's root
 * filesystem) or from a host image of its own configuration.
 */
struct app_boot {
	char kernel[APP_PATH_MAX];   /* vmlinux (PVH) or bzImage */
	char initrd[APP_PATH_MAX];   /* "" = none */
	char rootfs[APP_PATH_MAX];   /* "" = none; else --disk PATH,ro */
	char exec[APP_EXEC_MAX];     /* host images: "" = ember-init's default workload */
	char digest[APP_DIGEST_MAX]; /* OCI images: the manifest the reference named */
};

struct app_spec {
	char name[APP_NAME_MAX + 1];
	char image[APP_IMAGE_MAX];		 /* "image": a reference, "" for a host image */
	char host_image[APP_NAME_MAX + 1];	 /* "image": {"host": NAME} (emberd's config) */
	char command[APP_ARGS_MAX][APP_ARG_MAX]; /* replaces the image's Entrypoint */
	unsigned int ncommand;
	bool has_command;
	char args[APP_ARGS_MAX][APP_ARG_MAX]; /* replaces Cmd; a host image's ember.arg */
	unsigned int nargs;
	bool has_args;
	char env[APP_ENV_BYTES]; /* "NAME=VALUE\0" x nenv: added to, or replacing, the image's */
	unsigned int nenv;
	char workdir[APP_PATH_MAX];    /* "" = the image's WorkingDir */
	char user[APP_USER_MAX];       /* "" = the image's User */
	struct app_boot boot;	       /* emberd's, not the caller's: see above */
	char cmdline[APP_CMDLINE_MAX]; /* extra kernel words, "" = none */
	struct app_service services[APP_SERVICES_MAX];
	unsigned int nservices;
	uint32_t mem_mib;
	uint32_t vcpus;
	uint32_t min_instances; /* 0 = scale to zero */
	uint32_t max_instances;
	uint32_t target_concurrency; /* active flows per guest before scaling out */
	uint32_t idle_timeout_ms;
	uint32_t standby; /* paused, pre-restored guests kept ready */
};

/* The scaling fields PUT/PATCH /v1/apps/{name}/scale may change. */
enum app_scale_field {
	APP_SCALE_MIN = 1 << 0,
	APP_SCALE_MAX = 1 << 1,
	APP_SCALE_STANDBY = 1 << 2,
	APP_SCALE_CONCURRENCY = 1 << 3,
	APP_SCALE_IDLE = 1 << 4,
};

struct app_scale {
	unsigned int set; /* enum app_scale_field bits present in the request */
	uint32_t min_instances, max_instances, standby, target_concurrency, idle_timeout_ms;
};

/* Why a spec was refused: the JSON path of the field ("" when the fault is
 * not one field's, e.g. the body is not an object) and a sentence that
 * starts with that path ("services[1].port: must be 1-65535"). */
struct app_err {
	char field[96];
	char msg[256];
};

/* Fills (spec) with the defaults (every optional field) and nothing else. */
void app_spec_defaults(struct app_spec *spec);

/*
 * Parses and validates (json) into (spec). Unknown fields, wrong types and
 * out-of-range values are refused. (name_from_path), if not NULL, is the
 * name given by the URL: the body may then omit "name", and if it has one
 * it must be equal. Returns 0, or -EINVAL with (err) filled.
 */
int app_spec_from_json(struct app_spec *spec, const json_t *json, const char *name_from_path,
		       struct app_err *err) __attribute__((warn_unused_result));

/* The full JSON form of (spec), defaults included (a new reference; NULL
 * only when out of memory). app_spec_from_json() of it gives (spec) back. */
json_t *app_spec_to_json(const struct app_spec *spec);

/* Returns 0 when (name) is a valid app name, else -EINVAL with (err)
 * filled for field "name". */
int app_name_check(const char *name, struct app_err *err);

/* (a) and (b) claim the same (VIP, port, proto). */
bool app_service_equal(const struct app_service *a, const struct app_service *b);

/* Writes "VIP:port/proto" ("[v6]:port/proto") into (buf). */
void app_service_format(const struct app_service *svc, char *buf, size_t len);

/*
 * Parses a scale request: any of min_instances, max_instances, standby,
 * target_concurrency, idle_timeout_ms, at least one. With (require_bounds)
 * (PUT) min_instances and max_instances are both required. Returns 0 or
 * -EINVAL with (err) filled.
 */
int app_scale_from_json(struct app_scale *scale, const json_t *json, bool require_bounds,
			struct app_err *err) __attribute__((warn_unused_result));

/* Applies (scale) to (spec) if the result is consistent (min <= max);
 * otherwise leaves (spec) alone and returns -EINVAL with (err) filled. */
int app_scale_apply(struct app_spec *spec, const struct app_scale *scale, struct app_err *err)
	__attribute__((warn_unused_result));

/* emberd's own records (the state directory), never an API caller's: the
 * boot files of a deployed version as JSON and back (0 or -EINVAL). */
json_t *app_boot_to_json(const struct app_boot *b);
int app_boot_from_json(struct app_boot *b, const json_t *json, struct app_err *err)
	__attribute__((warn_unused_result));

/* Fills (err) ("field: message"); returns -EINVAL. For the parsers' helpers. */
int app_fail(struct app_err *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
