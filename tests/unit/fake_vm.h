/* SPDX-License-Identifier: Apache-2.0 */
/* A fake of vm.h for virtio unit tests: records registrations, runs watches inline. */
#ifndef EMBER_TESTS_FAKE_VM_H
#define EMBER_TESTS_FAKE_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

#define FAKE_WATCHES 16

struct vm {
	struct guest_mem mem;
	uint8_t *ram;
	io_handler_fn mmio_fn; /* the last registration */
	void *mmio_opaque;
	uint64_t mmio_base;
	int irqfd_err, ioeventfd_err; /* returned when nonzero */
	int irqfd;		      /* the last eventfd given to vm_irqfd */
	unsigned irq_pulses;	      /* vm_irq_line(…, 1) calls */
	int kick_fd[4];
	unsigned nr_kick;
	struct {
		int fd;
		io_watch_fn cb;
		void *opaque;
	} watch[FAKE_WATCHES];
	char cmdline[512];
};

/* fake_vm_new() - a vm with @ram_size bytes of zeroed RAM. */
struct vm *fake_vm_new(uint64_t ram_size, int irqfd_err, int ioeventfd_err);
void fake_vm_free(struct vm *vm);

/* fake_vm_poll() - run the I/O thread once: call every watch whose fd is readable. */
unsigned fake_vm_poll(struct vm *vm);

/* fake_vm_watched() - is @fd watched? */
bool fake_vm_watched(struct vm *vm, int fd);

/* fake_vm_irqs() - interrupts delivered so far (irqfd count + line pulses). */
unsigned fake_vm_irqs(struct vm *vm);

/* Guest register access through the last registered MMIO handler. */
uint32_t mmio_rd(struct vm *vm, uint64_t off);
void mmio_wr(struct vm *vm, uint64_t off, uint32_t v);

#endif
