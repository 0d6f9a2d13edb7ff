/* SPDX-License-Identifier: Apache-2.0 */
/* The VM core's private state (struct vm) and the prototypes between its files. */
#ifndef EMBER_VMM_VM_INTERNAL_H
#define EMBER_VMM_VM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/kvm.h>

#include "boot.h"
#include "cpuid.h"
#include "vm.h"

#define __must_check __attribute__((warn_unused_result))

#define EMBER_VMM_VERSION "0.1.0"

/* Linux x86 COMMAND_LINE_SIZE: the boot protocol's limit. */
#define VM_CMDLINE_MAX 2048
#define VM_MAX_VCPUS   8

/* Fixed guest-physical addresses KVM needs for real-mode helpers (VMX). */
#define KVM_IDENTITY_MAP_GPA 0xfffbc000ull /* one page */
#define KVM_TSS_GPA	     0xfffbd000ull /* three pages */

/* ---- bus.c: address -> handler map for one address space ---- */

struct bus_range {
	uint64_t base, len;
	io_handler_fn fn;
	void *opaque;
};

struct io_bus {
	pthread_rwlock_t lock; /* registrations vs. lookups on vCPU threads */
	struct bus_range *r;   /* sorted by base, never overlapping */
	size_t nr, cap;
};

void bus_init(struct io_bus *b);
void bus_destroy(struct io_bus *b);

/*
 * bus_register() - route [base, base+len) to @fn. Returns 0, -EINVAL for an
 * empty or wrapping range, -EEXIST if it overlaps a registered one, -ENOMEM.
 */
__must_check int bus_register(struct io_bus *b, uint64_t base, uint64_t len, io_handler_fn fn,
			      void *opaque);

/*
 * bus_access() - dispatch one guest access of @len bytes at @addr. The whole
 * access must lie inside one range; otherwise (and when nobody registered
 * @addr) a read fills @data with 0xff and a write is dropped. @len above 8 is
 * clamped to 8 so a handler never sees more. Returns true if a handler ran.
 */
bool bus_access(struct io_bus *b, uint64_t addr, void *data, uint32_t len, bool is_write);

/* ---- iothread.c: one epoll thread for device back ends ---- */

struct io_watch;

struct iothread {
	int epfd;
	int stop_fd; /* eventfd: ends the thread */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* the watch list and zombie list */
	struct io_watch *watches;
	struct io_watch *zombies; /* unwatched, freed after the current batch */
};

__must_check int iothread_init(struct iothread *io);
__must_check int iothread_start(struct iothread *io);
/* iothread_stop() - stop and join the thread, free every watch. */
void iothread_stop(struct iothread *io);

/* ---- vcpu.c ---- */

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool has_run; /* entered KVM_RUN once (only the vCPU's own thread touches it) */
};

/* vcpu_open() - KVM_CREATE_VCPU and the kvm_run mapping of vCPU @id only. 0 or -errno. */
__must_check int vcpu_open(struct vm *vm, unsigned id);
/* vcpus_create() - KVM_CREATE_VCPU, kvm_run, CPUID, MSRs, LAPIC, boot regs on vCPU 0. */
__must_check int vcpus_create(struct vm *vm);
/* vcpus_start() - one thread per vCPU entering KVM_RUN. */
__must_check int vcpus_start(struct vm *vm);
/* vcpus_kick() - make every vCPU leave KVM_RUN now (signal + immediate_exit). */
void vcpus_kick(struct vm *vm);
/*
 * vcpus_pause() - make every running vCPU leave KVM_RUN, complete its pending
 * I/O exit (KVM_RUN with immediate_exit) and park on a condition variable.
 * Returns 0 once all are parked, -ETIMEDOUT after @timeout_ms (some vCPU is
 * stuck in the kernel; the others stay parked).
 */
__must_check int vcpus_pause(struct vm *vm, unsigned timeout_ms);
/* vcpus_resume() - let parked vCPUs run again. */
void vcpus_resume(struct vm *vm);
/*
 * vcpus_resume_wait() - vcpus_resume(), then wait (bounded by @timeout_ms)
 * until every vCPU has left its park. Returns the CLOCK_MONOTONIC stamp (ns)
 * at which the last one did (it enters KVM_RUN right after), 0 on timeout
 * or an exit, or -EALREADY (as a negative int64) when nothing was paused.
 */
int64_t vcpus_resume_wait(struct vm *vm, unsigned timeout_ms);
/* vcpus_join() - wait (bounded) for the vCPU threads; false if one is stuck. */
bool vcpus_join(struct vm *vm);
void vcpus_destroy(struct vm *vm);
/* vcpu_signal_setup() - install the kick signal's (empty) handler. */
__must_check int vcpu_signal_setup(void);

/* ---- kvm.c: the VM itself ---- */

struct vm_config {
	uint64_t mem_size;
	int mem_fd; /* >= 0: guest RAM is this file mapped MAP_PRIVATE (restore); -1: anonymous */
	unsigned nr_vcpus;
	enum cpu_template tmpl;
};

struct vm {
	int kvm_fd, vm_fd;
	enum kvm_kind kind;
	enum cpu_template tmpl;
	struct guest_mem mem;
	struct io_bus mmio, pio;
	struct iothread io;

	char cmdline[VM_CMDLINE_MAX];
	size_t cmdline_len;

	unsigned nr_vcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];
	size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	struct boot_info boot;

	/* Exit request: the first status wins; main waits on exit_cond. */
	pthread_mutex_t exit_lock;
	pthread_cond_t exit_cond;
	bool exiting;
	int exit_status;
	bool first_run_seen; /* vmm_start event written (atomic) */
	bool snapshot_req;   /* a snapshot is wanted (under exit_lock) */

	/* Pause: vCPU threads park on pause_cond while pause_req is set. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool pause_req;
	unsigned nr_parked;
	uint64_t running_ns; /* CLOCK_MONOTONIC when a vCPU last left its park (pause_lock) */
	/* Serialises whole pause/resume/snapshot operations of the main thread
	 * (--snapshot-on-ready) and the control channel, so neither resumes the
	 * vCPUs in the middle of the other's snapshot. Taken before pause_lock. */
	pthread_mutex_t ops_lock;
};

/* vm_create() - open /dev/kvm, create the VM, guest RAM, irqchip, PIT. 0 or -errno; @err says why.
 */
__must_check int vm_create(struct vm *vm, const struct vm_config *c, char *err, size_t errlen);
void vm_destroy(struct vm *vm);

/* vm_wait_exit() - block until vm_request_exit(); returns the status. */
int vm_wait_exit(struct vm *vm);
/*
 * vm_wait() - block until an exit or a snapshot is requested. Returns the
 * exit status, or -1 for a snapshot request (which it consumes).
 */
int vm_wait(struct vm *vm);
/* vm_request_snapshot() - wake vm_wait() for a snapshot. Safe from any thread. */
void vm_request_snapshot(struct vm *vm);
/* vm_exiting() - has an exit been requested? (vCPU loops poll it) */
bool vm_exiting(struct vm *vm);

/* ---- devices with a bus presence (serial.c, legacy.c, doorbell.c) ---- */

/*
 * The 8250/16550A register model (pure: the tests drive it directly).
 * Offsets 0-7 from the base port; output bytes go to @out.
 */
#define UART_RX_MAX 512 /* input the VMM may queue (a restore hint is ~200 bytes) */

struct uart {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending; /* THRE interrupt pending until IIR read or THR write */
	uint8_t rx[UART_RX_MAX]; /* receive FIFO (ring), read through RBR */
	uint16_t rx_head, rx_len;
	void (*out)(void *opaque, uint8_t c);
	void *out_opaque;
};

void uart_reset(struct uart *u);
uint8_t uart_read(struct uart *u, unsigned off);
void uart_write(struct uart *u, unsigned off, uint8_t v);
/* uart_irq() - the level of the interrupt output. */
bool uart_irq(const struct uart *u);
/* uart_rx_push() - queue input for the guest; returns how many bytes fitted. */
size_t uart_rx_push(struct uart *u, const void *buf, size_t len);

/* serial_init() - the 8250 at 0x3f8/IRQ 4; output to @out_fd (-1: discarded). */
__must_check int serial_init(struct vm *vm, int out_fd);
/*
 * serial_input() - queue @len bytes as if typed on the console (the guest
 * reads them through RBR, with an interrupt if it enabled one). Returns the
 * bytes queued: fewer when the FIFO is full. Pending input is not part of a
 * snapshot.
 */
size_t serial_input(const void *buf, size_t len);
/* serial_flush() - write out a partial line (at exit). */
void serial_flush(void);
struct snap_serial;
/* serial_save() - flush the line buffer and copy the UART registers and IRQ level. */
void serial_save(struct snap_serial *s);
/* serial_restore() - load registers saved by serial_save() and drive the IRQ line to match. */
void serial_restore(const struct snap_serial *s);

/* legacy_init() - i8042 reset at 0x60/0x64, reset control at 0xcf9. */
__must_check int legacy_init(struct vm *vm);

/* ---- doorbell.c: guest events and the --events file ---- */

/* events_open() - start the clock origin @t0_ns (CLOCK_MONOTONIC) and the file (NULL: none). */
__must_check int events_open(const char *path, uint64_t t0_ns);
/* events_emit() - write "<line> t_us=<since t0>\n" to the events file and log it. */
void events_emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__must_check int doorbell_init(struct vm *vm);
/*
 * doorbell_on_ready() - call @fn(@opaque, port) from the vCPU thread that
 * rings READY (the snapshot-on-ready trigger). NULL: nothing.
 */
void doorbell_on_ready(void (*fn)(void *opaque, unsigned port), void *opaque);
/* doorbell_ready() - has READY been rung (or restored)? Its port in @port. */
bool doorbell_ready(unsigned *port);
/* doorbell_set_ready() - restore: the workload was ready at the snapshot. */
void doorbell_set_ready(unsigned port);

/*
 * doorbell_format() - the event line for doorbell value @v without the
 * timestamp, e.g. "ready port=80". Returns the EMBER_DB_* event, or 0 for an
 * unknown event (@buf then holds a description for the log). Pure.
 */
unsigned doorbell_format(uint32_t v, char *buf, size_t len);

/* now_ns() - CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

#endif
