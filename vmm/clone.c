// SPDX-License-Identifier: Apache-2.0
/* Clone hygiene after a restore: the hint line ember-init acts on (entropy, clock, MAC). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <linux/virtio_net.h>

#include "clone.h"
#include "ember/doorbell.h"
#include "log.h"
#include "virtio/virtio.h"
#include "vm_internal.h"

int clone_hint_format(char *buf, size_t len, const struct clone_hint *h)
{
	char seed[2 * EMBER_HINT_SEED_LEN + 1], mac[24] = "";
	int n;

	for (unsigned i = 0; i < EMBER_HINT_SEED_LEN; i++)
		snprintf(seed + 2 * i, 3, "%02x", h->seed[i]);
	if (h->has_mac)
		snprintf(mac, sizeof(mac), " mac=%02x:%02x:%02x:%02x:%02x:%02x", h->mac[0],
			 h->mac[1], h->mac[2], h->mac[3], h->mac[4], h->mac[5]);
	n = snprintf(buf, len, EMBER_HINT_PREFIX "gen=%016" PRIx64 " clock_step_ns=%" PRId64
					 " seed=%s%s\n",
		     h->gen, h->clock_step_ns, seed, mac);
	if (n < 0 || (size_t)n >= len || n >= EMBER_HINT_MAX)
		return -ENOSPC;
	return n;
}

/* The MAC the driver reads from config space (at probe, or a later reset). */
static void set_config_mac(unsigned slot, const uint8_t mac[6])
{
	struct virtio_dev *d = virtio_mmio_dev(slot);

	pthread_mutex_lock(&d->lock);
	memcpy(d->config + offsetof(struct virtio_net_config, mac), mac, 6);
	d->config_gen++;
	pthread_mutex_unlock(&d->lock);
}

int clone_refresh(int64_t clock_step_ns, int net_slot, const uint8_t *mac, char *err,
		  size_t errlen)
{
	struct clone_hint h = {.clock_step_ns = clock_step_ns};
	char line[EMBER_HINT_MAX + 1];
	int n;

	/* Fresh from the host's CRNG for every clone: never from the snapshot. */
	if (getrandom(h.seed, sizeof(h.seed), 0) != (ssize_t)sizeof(h.seed) ||
	    getrandom(&h.gen, sizeof(h.gen), 0) != (ssize_t)sizeof(h.gen)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -errno;
	}
	if (mac && net_slot >= 0) {
		set_config_mac((unsigned)net_slot, mac);
		memcpy(h.mac, mac, 6);
		h.has_mac = true;
	}
	n = clone_hint_format(line, sizeof(line), &h);
	if (n < 0 || serial_input(line, (size_t)n) != (size_t)n) {
		snprintf(err, errlen, "the restore hint does not fit the console input");
		return -ENOSPC;
	}
	pr_info("restore hint queued: gen=%016" PRIx64 " clock_step=%" PRId64 " ms%s", h.gen,
		clock_step_ns / 1000000, h.has_mac ? " new MAC" : "");
	return 0;
}
