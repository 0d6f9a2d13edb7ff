/* SPDX-License-Identifier: Apache-2.0 */
/* Clone hygiene: the restore hint the VMM queues for ember-init (docs/snapshot-format.md). */
#ifndef EMBER_VMM_CLONE_H
#define EMBER_VMM_CLONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/doorbell.h"

struct clone_hint {
	uint64_t gen;	       /* random: tells clones (and restores of one clone) apart */
	int64_t clock_step_ns; /* how far the guest's wall clock is behind */
	uint8_t seed[EMBER_HINT_SEED_LEN];
	bool has_mac;
	uint8_t mac[6];
};

/*
 * clone_hint_format() - the hint line (include/ember/doorbell.h) into @buf.
 * Returns its length, or -ENOSPC if it does not fit @len or EMBER_HINT_MAX.
 */
int clone_hint_format(char *buf, size_t len, const struct clone_hint *h);

/*
 * clone_refresh() - after a restore, before any vCPU runs: draw a fresh
 * seed and generation, set @mac (if not NULL) in the config space of the
 * virtio-net device in @net_slot, and queue the hint on the console input.
 * Returns 0 or -errno with a reason in @err.
 */
int clone_refresh(int64_t clock_step_ns, int net_slot, const uint8_t *mac, char *err,
		  size_t errlen);

#endif
