/* SPDX-License-Identifier: Apache-2.0 */
/* The guest -> VMM doorbell ABI: one 32-bit port write from ember-init. */
#ifndef EMBER_DOORBELL_H
#define EMBER_DOORBELL_H

#include <stdint.h>

/*
 * ember-init (PID 1 in the guest) writes one 32-bit value with `outl` to
 * EMBER_DOORBELL_PORT after ioperm(EMBER_DOORBELL_PORT, 4, 1). The low 8 bits
 * are the event, the upper 24 bits its argument. The VMM treats every write
 * as untrusted (any guest process could reach the port): an unknown event is
 * logged and ignored, never fatal.
 *
 * A port, not MMIO, because it needs no mapping in the guest and costs one
 * exit; a doorbell is rung a handful of times per guest life.
 */
#define EMBER_DOORBELL_PORT 0x0eb0u

enum ember_doorbell_event {
	EMBER_DB_INIT_STARTED = 1, /* ember-init is running (arg 0) */
	EMBER_DB_READY        = 2, /* the workload listens on its port (arg: port) */
	EMBER_DB_WORKLOAD_EXIT = 3, /* the workload exited (arg: wait status & 0xffff) */
	EMBER_DB_POWEROFF     = 4, /* power off now (arg: exit status for the VMM) */
	EMBER_DB_PANIC        = 5, /* ember-init cannot continue (arg: errno) */
	EMBER_DB_REFRESHED    = 6, /* a restore hint was applied (arg: EMBER_REFRESH_* bits) */
};

/* What ember-init did with a restore hint (docs/guest-init.md, After a restore). */
#define EMBER_REFRESH_ENTROPY 0x1u /* mixed the seed in and reseeded the kernel CRNG */
#define EMBER_REFRESH_CLOCK   0x2u /* stepped CLOCK_REALTIME by the time spent in the snapshot */
#define EMBER_REFRESH_MAC     0x4u /* set eth0's MAC address */
#define EMBER_REFRESH_FAILED  0x80u /* one of the above failed (see the console) */

/*
 * The restore hint: one line the VMM queues on the guest's console (UART
 * input) after a restore, before any vCPU runs:
 *   "ember.restore gen=<16 hex> clock_step_ns=<int64> seed=<64 hex>[ mac=<MAC>]\n"
 */
#define EMBER_HINT_PREFIX   "ember.restore "
#define EMBER_HINT_SEED_LEN 32 /* bytes */
#define EMBER_HINT_MAX      256 /* longest line, with the newline */

#define EMBER_DB_VALUE(ev, arg) ((uint32_t)(ev) | ((uint32_t)(arg) << 8))
#define EMBER_DB_EVENT(v)       ((v) & 0xffu)
#define EMBER_DB_ARG(v)         ((v) >> 8)

#endif
