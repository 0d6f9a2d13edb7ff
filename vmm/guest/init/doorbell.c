/* SPDX-License-Identifier: Apache-2.0 */
/* The guest -> VMM doorbell (include/ember/doorbell.h) and the ways ember-init stops the guest. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/io.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#include "ember/doorbell.h"
#include "init.h"

/* How long the VMM gets to act on POWEROFF before the kernel is asked. */
#define POWEROFF_GRACE_NS 100000000L

static bool db_ok, db_print;

static const char *const db_names[] = {"?",	   "INIT_STARTED", "READY",    "WORKLOAD_EXIT",
				       "POWEROFF", "PANIC",	   "REFRESHED"};

int doorbell_open(void)
{
	/* Host tests (tests/unit/test_init_host.sh) run ember-init as PID 1 of
	 * a PID namespace, where an `out` would reach the host's real ports. */
	if (getenv("EMBER_INIT_TEST")) {
		db_print = true;
		return 0;
	}
	/* Without the permission an `out` would fault on a real CPU. */
	if (ioperm(EMBER_DOORBELL_PORT, 4, 1) < 0)
		return -errno;
	db_ok = true;
	return 0;
}

/*
 * One `outl`: a VMM that implements the doorbell takes the exit; one that
 * does not (QEMU) ignores the write, so this never blocks.
 */
void doorbell_ring(unsigned int event, uint32_t arg)
{
	if (db_ok)
		outl(EMBER_DB_VALUE(event, arg & 0xffffffu), EMBER_DOORBELL_PORT);
	else if (db_print)
		log_err("doorbell %s %u",
			event < sizeof(db_names) / sizeof(db_names[0]) ? db_names[event] : "?",
			arg & 0xffffffu);
}

void power_off(int status)
{
	struct timespec grace = {0, POWEROFF_GRACE_NS};

	sync();
	doorbell_ring(EMBER_DB_POWEROFF, (uint32_t)status);
	/* Still here: the VMM did not stop us (or there is no doorbell). */
	nanosleep(&grace, NULL);
	log_msg("no power-off by the VMM, asking the kernel");
	reboot(RB_POWER_OFF);
	/* Only reached if the kernel refused; PID 1 must never exit. */
	for (;;)
		pause();
}

void init_panic(int err, const char *why)
{
	log_err("panic: %s", why);
	doorbell_ring(EMBER_DB_PANIC, (uint32_t)(err < 0 ? -err : err));
	power_off(INIT_PANIC_STATUS);
}
