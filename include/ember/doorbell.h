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
};

#define EMBER_DB_VALUE(ev, arg) ((uint32_t)(ev) | ((uint32_t)(arg) << 8))
#define EMBER_DB_EVENT(v)       ((v) & 0xffu)
#define EMBER_DB_ARG(v)         ((v) >> 8)

#endif
