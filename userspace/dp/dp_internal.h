// SPDX-License-Identifier: Apache-2.0
/* Internal state of the dataplane library, shared by the userspace/dp*.c files only. */
#ifndef EMBER_USERSPACE_DP_INTERNAL_H
#define EMBER_USERSPACE_DP_INTERNAL_H

#include <limits.h>
#include <stdarg.h>

#include <ember/maps.h>

#include "dp.h"

struct ring_buffer;

#define DP_MAX_PINS 32

/* One pinned object under the pin root, opened by name. */
struct dp_pin {
	char name[64];
	int fd;
	int is_prog;
};

struct dp {
	char pin_root[256]; /* bpffs paths are short; leaves room for "/name" */
	struct dp_pin pins[DP_MAX_PINS];
	int npins;
	struct ring_buffer *rb; /* wake events, created on first use */
	dp_wake_fn wake_fn;
	void *wake_ctx;
	uint32_t wake_spin_us; /* dp_events_set_spin() */
	int reused_maps;       /* dp_load(): maps it found pinned and reused */
	char err[512];
};

/* Pinned names of the two programs (maps keep their BPF names). */
#define DP_PIN_PROG_ROUTER "prog_router"
#define DP_PIN_PROG_GUEST  "prog_guest"

/* fd of the pinned object (name), or -ENOENT (and dp->err says which). */
int dp_fd(struct dp *dp, const char *name);

/* Formats a failure into dp->err and returns (rc), which must be -errno. */
int dp_fail(struct dp *dp, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
