/* SPDX-License-Identifier: Apache-2.0 */
/* The virtio device kinds ember-vmm knows, and what boot, snapshot and restore need of each. */
#ifndef EMBER_VMM_VIRTIO_KINDS_H
#define EMBER_VMM_VIRTIO_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

struct cli_opts;

/* One device's record in a snapshot, as restore hands it to its kind. */
struct virtio_restore_arg {
	const struct virtio_snap *rec; /* the transport's part: slot, device_id, config... */
	const void *dev;	       /* the device's own bytes (what ops->save wrote) */
	size_t dev_len;
	unsigned nth;		  /* the nth device of its kind in the snapshot, from 0 */
	const char *snapshot_dir; /* for files of its own (blk: DIR/disk<slot>) */
	char *err;		  /* a one-line reason on failure */
	size_t errlen;
};

/*
 * A kind of virtio device: one per device file (net.c, blk.c, rng.c),
 * listed once in kinds.c. snapshot.c, restore.c and main.c go through this
 * table and name no device type; docs/vmm.md says how to add one.
 */
struct virtio_kind {
	const char *name;   /* "net": virtio-net */
	uint32_t device_id; /* VIRTIO_ID_* of its devices */
	/*
	 * The option that gives one back end ("--net"), when restore needs it
	 * again: the snapshot's count must then match the command line's
	 * (@restore_hint is added to that refusal). NULL: restore makes its
	 * devices from the snapshot alone.
	 */
	const char *option;
	const char *restore_hint;
	/* Boot: how many the command line asks for, and creating the nth. 0 or -errno, printed. */
	unsigned (*count)(const struct cli_opts *o);
	int (*create)(struct vm *vm, const struct cli_opts *o, unsigned nth);
	/* Restore, before any VM exists: does the nth back end fit the record? NULL: nothing to
	 * check. */
	int (*restore_check)(const struct cli_opts *o, const struct virtio_restore_arg *a);
	/* Restore: create the device the record describes, on the nth back end. */
	int (*restore_create)(struct vm *vm, const struct cli_opts *o,
			      const struct virtio_restore_arg *a);
	/* Snapshot, device lock held: files of its own beside the state (NULL: none). */
	int (*save_files)(struct virtio_dev *d, const char *dir);
	/* Its config starts with the MAC a clone's "--net ...,mac=" replaces. */
	bool clone_mac;
};

/* Every kind, in the slot order boot creates them; NULL-terminated. */
extern const struct virtio_kind *const virtio_kinds[];

/* virtio_kind_of() - the kind of devices with @device_id, or NULL. */
const struct virtio_kind *virtio_kind_of(uint32_t device_id);

#endif
