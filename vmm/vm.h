/* SPDX-License-Identifier: Apache-2.0 */
/* The VM core's contract with devices: buses, interrupts, the I/O thread. */
#ifndef EMBER_VMM_VM_H
#define EMBER_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "mem.h"

struct vm;

/*
 * Guest-physical layout of the devices (between MEM_LOW_MAX and 4 GiB).
 * virtio-mmio slot n is at VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE and raises
 * IOAPIC pin VIRTIO_MMIO_IRQ0 + n.
 */
#define VIRTIO_MMIO_BASE  0xd0000000ull
#define VIRTIO_MMIO_SIZE  0x1000ull
#define VIRTIO_MMIO_IRQ0  5u
#define VIRTIO_MMIO_SLOTS 16u

/*
 * An access from a vCPU thread. @offset is relative to the registered base,
 * @data holds @len bytes (1, 2, 4 or 8), filled by the handler on a read.
 * Handlers run on vCPU threads, concurrently for different vCPUs: a device
 * with shared state locks it. The guest (including guest user space: port
 * permissions are not enforced everywhere) chooses offset and len freely.
 */
typedef void (*io_handler_fn)(void *opaque, uint64_t offset, void *data, uint32_t len,
			      bool is_write);

/*
 * vm_mmio_register()/vm_pio_register() - route guest accesses in
 * [base, base+len) to @fn. Returns 0, -EEXIST on overlap, -ENOMEM.
 * Accesses nobody registered read as all ones and are otherwise ignored.
 */
int vm_mmio_register(struct vm *vm, uint64_t base, uint64_t len, io_handler_fn fn, void *opaque);
int vm_pio_register(struct vm *vm, uint16_t base, uint16_t len, io_handler_fn fn, void *opaque);

/* vm_mem() - the guest's RAM; use gpa_ptr() on it for every access. */
struct guest_mem *vm_mem(struct vm *vm);

/*
 * vm_irq_line() - set in-kernel irqchip input @gsi to @level (KVM_IRQ_LINE).
 * vm_irqfd() - have KVM raise @gsi (edge) whenever eventfd @efd is written.
 * Both return 0 or -errno.
 */
int vm_irq_line(struct vm *vm, uint32_t gsi, int level);
int vm_irqfd(struct vm *vm, int efd, uint32_t gsi);

/*
 * vm_ioeventfd() - complete guest writes of @len bytes to MMIO @gpa inside
 * KVM and signal eventfd @efd instead of exiting to userspace. With
 * @datamatch only writes of @data match. Returns 0 or -errno.
 */
int vm_ioeventfd(struct vm *vm, uint64_t gpa, uint32_t len, int efd, bool datamatch,
		 uint64_t data);

/*
 * vm_io_watch() - call @cb(opaque, revents) on the VM's I/O thread whenever
 * @fd is ready for @events (EPOLLIN/EPOLLOUT, level-triggered). The I/O
 * thread is where device back ends (tap, eventfds, files) do their work.
 * vm_io_unwatch() stops it. Both return 0 or -errno.
 */
typedef void (*io_watch_fn)(void *opaque, uint32_t revents);
int vm_io_watch(struct vm *vm, int fd, uint32_t events, io_watch_fn cb, void *opaque);
int vm_io_unwatch(struct vm *vm, int fd);

/*
 * vm_cmdline_append() - append one space-separated item to the guest kernel
 * command line (devices announce themselves this way, e.g.
 * "virtio_mmio.device=4K@0xd0000000:5"). Only valid before boot.
 */
int vm_cmdline_append(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * vm_request_exit() - stop every vCPU and make ember-vmm exit with @status
 * (guest power-off, reset, or a fatal device error). Safe from any thread.
 */
void vm_request_exit(struct vm *vm, int status);

#endif
