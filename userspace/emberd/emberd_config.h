/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's options and its optional JSON configuration file. */
#ifndef EMBER_USERSPACE_EMBERD_CONFIG_H
#define EMBER_USERSPACE_EMBERD_CONFIG_H

#include <stddef.h>

#define EMBERD_CONFIG_DEFAULT "/etc/ember/emberd.json"

struct emberd_opts {
	const char *state_dir, *run_dir, *ingress, *pin_root, *vmm;
	int verbose;
	int scale_ms;		    /* tick while any guest is live: the autoscaler's period */
	unsigned int min_avail_mib; /* below this MemAvailable paused guests go (0: never) */
};

/* Overrides (o) with the keys of the JSON object in (path). 0, or -errno
 * with a sentence naming the file and the key in (err). */
int emberd_config_load(const char *path, struct emberd_opts *o, char *err, size_t errlen);

#endif
