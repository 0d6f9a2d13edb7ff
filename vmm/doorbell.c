// SPDX-License-Identifier: Apache-2.0
/* The guest doorbell port (include/ember/doorbell.h) and the --events file it feeds. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ember/doorbell.h>

#include "log.h"
#include "vm_internal.h"

/*
 * Any guest process can ring the doorbell (port permissions are not
 * enforced on PVM), so the file it writes is bounded: after this many lines
 * further events are only counted.
 */
#define EVENTS_MAX_LINES 4096
#define UNKNOWN_LOG_MAX	 8

static int events_fd = -1;
/* READY state (atomics: vCPU threads write, the snapshot reads) and its hook. */
static unsigned ready_port;
static bool ready_seen;
static void (*ready_fn)(void *opaque, unsigned port);
static void *ready_opaque;
static uint64_t events_t0;
static unsigned events_lines;

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int events_open(const char *path, uint64_t t0_ns)
{
	events_t0 = t0_ns;
	if (!path)
		return 0;
	events_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	return events_fd < 0 ? -errno : 0;
}

void events_emit(const char *fmt, ...)
{
	char line[160];
	uint64_t t_us = (now_ns() - events_t0) / 1000;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 32)
		n = sizeof(line) - 32;
	n += snprintf(line + n, sizeof(line) - n, " t_us=%llu\n", (unsigned long long)t_us);
	pr_info("event: %.*s", n - 1, line);
	if (events_fd < 0)
		return;
	if (__atomic_fetch_add(&events_lines, 1, __ATOMIC_RELAXED) >= EVENTS_MAX_LINES)
		return;
	/* One write(2) per line with O_APPEND: lines from vCPU threads never interleave,
	 * and a reader sees each event as soon as it happened. */
	if (write(events_fd, line, (size_t)n) != n)
		pr_warn("events file: short write: %s", strerror(errno));
}

unsigned doorbell_format(uint32_t v, char *buf, size_t len)
{
	unsigned ev = EMBER_DB_EVENT(v), arg = EMBER_DB_ARG(v);

	switch (ev) {
	case EMBER_DB_INIT_STARTED:
		snprintf(buf, len, "init_started");
		break;
	case EMBER_DB_READY:
		snprintf(buf, len, "ready port=%u", arg);
		break;
	case EMBER_DB_WORKLOAD_EXIT:
		snprintf(buf, len, "workload_exit status=%u", arg);
		break;
	case EMBER_DB_POWEROFF:
		snprintf(buf, len, "poweroff status=%u", arg & 0xff);
		break;
	case EMBER_DB_PANIC:
		snprintf(buf, len, "panic errno=%u", arg);
		break;
	case EMBER_DB_REFRESHED:
		snprintf(buf, len, "refreshed flags=0x%x", arg);
		break;
	default:
		snprintf(buf, len, "unknown doorbell event %u (arg %u)", ev, arg);
		return 0;
	}
	return ev;
}

static void doorbell_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	static unsigned unknown;
	struct vm *vm = opaque;
	char line[96];
	uint32_t v;
	unsigned ev;

	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	if (off != 0 || len != 4) {
		if (__atomic_fetch_add(&unknown, 1, __ATOMIC_RELAXED) < UNKNOWN_LOG_MAX)
			pr_warn("doorbell: ignored %u-byte write at offset %llu", len,
				(unsigned long long)off);
		return;
	}
	memcpy(&v, data, sizeof(v));
	ev = doorbell_format(v, line, sizeof(line));
	if (!ev) {
		if (__atomic_fetch_add(&unknown, 1, __ATOMIC_RELAXED) < UNKNOWN_LOG_MAX)
			pr_warn("doorbell: %s ignored", line);
		return;
	}
	events_emit("%s", line);
	if (ev == EMBER_DB_READY) {
		__atomic_store_n(&ready_port, EMBER_DB_ARG(v), __ATOMIC_RELAXED);
		/* READY is rung once; a hostile second ring must not snapshot again. */
		if (!__atomic_exchange_n(&ready_seen, true, __ATOMIC_ACQ_REL) && ready_fn)
			ready_fn(ready_opaque, EMBER_DB_ARG(v));
	}
	if (ev == EMBER_DB_POWEROFF)
		vm_request_exit(vm, (int)(EMBER_DB_ARG(v) & 0xff));
}

int doorbell_init(struct vm *vm)
{
	return vm_pio_register(vm, EMBER_DOORBELL_PORT, 4, doorbell_io, vm);
}

void doorbell_on_ready(void (*fn)(void *opaque, unsigned port), void *opaque)
{
	ready_fn = fn;
	ready_opaque = opaque;
}

bool doorbell_ready(unsigned *port)
{
	*port = __atomic_load_n(&ready_port, __ATOMIC_RELAXED);
	return __atomic_load_n(&ready_seen, __ATOMIC_ACQUIRE);
}

void doorbell_set_ready(unsigned port)
{
	__atomic_store_n(&ready_port, port, __ATOMIC_RELAXED);
	__atomic_store_n(&ready_seen, true, __ATOMIC_RELEASE);
}
