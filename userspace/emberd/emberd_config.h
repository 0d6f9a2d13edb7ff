/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's options and its optional JSON configuration file. */
#ifndef EMBER_USERSPACE_EMBERD_CONFIG_H
#define EMBER_USERSPACE_EMBERD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/app_spec.h"

#define EMBERD_CONFIG_DEFAULT "/etc/ember/emberd.json"

/* A kernel (+ initramfs, disk, workload) an app names by {"host": NAME}. */
struct emberd_host_image {
	char name[APP_NAME_MAX + 1];
	struct app_boot boot;
};

/* The image limits' defaults and bounds: a layer of a few kilobytes must not
 * make a root filesystem that fills the disk (a sparse file counts at its
 * apparent size); the largest common images are a few GiB and 100k files. */
#define EMBERD_IMAGE_MAX_BYTES	   (16ULL << 30)
#define EMBERD_IMAGE_MAX_ENTRIES   1000000ULL
#define EMBERD_IMAGE_BYTES_BOUND   (1ULL << 50)
#define EMBERD_IMAGE_ENTRIES_BOUND (1ULL << 32)

struct emberd_opts {
	const char *state_dir, *run_dir, *ingress, *pin_root, *vmm;
	/* What every OCI image's guest boots: ember's kernel and ember-init. */
	const char *guest_kernel, *guest_initramfs;
	struct emberd_host_image *host_images; /* from the file only, kept for the process */
	unsigned int nhost_images;
	int verbose;
	int scale_ms;		    /* tick while any guest is live: the autoscaler's period */
	unsigned int min_avail_mib; /* below this MemAvailable paused guests go (0: never) */
	/* An image's root filesystem build: files' apparent bytes and tar entries,
	 * all layers summed (0: no limit). */
	uint64_t image_max_bytes, image_max_entries;
	bool image_ext4; /* "image_fs": "ext4": root filesystems built as ext4, not erofs */
	unsigned int pull_stall_s; /* a pull's transfer silent this long fails (0: 30 s) */
};

/* Overrides (o) with the keys of the JSON object in (path). 0, or -errno
 * with a sentence naming the file and the key in (err). */
int emberd_config_load(const char *path, struct emberd_opts *o, char *err, size_t errlen);

#endif
