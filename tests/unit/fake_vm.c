// SPDX-License-Identifier: Apache-2.0
/* A fake of vm.h for virtio unit tests: records registrations, runs watches inline. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_vm.h"

int vmm_verbose;

struct vm *fake_vm_new(uint64_t ram_size, int irqfd_err, int ioeventfd_err)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	vm->ram = calloc(1, ram_size);
	mem_layout(&vm->mem, vm->ram, ram_size);
	vm->irqfd_err = irqfd_err;
	vm->ioeventfd_err = ioeventfd_err;
	vm->irqfd = -1;
	for (int i = 0; i < FAKE_WATCHES; i++)
		vm->watch[i].fd = -1;
	return vm;
}

void fake_vm_free(struct vm *vm)
{
	free(vm->ram);
	free(vm);
}

int vm_mmio_register(struct vm *vm, uint64_t base, uint64_t len, io_handler_fn fn, void *opaque)
{
	(void)len;
	vm->mmio_fn = fn;
	vm->mmio_opaque = opaque;
	vm->mmio_base = base;
	return 0;
}

int vm_pio_register(struct vm *vm, uint16_t base, uint16_t len, io_handler_fn fn, void *opaque)
{
	(void)vm, (void)base, (void)len, (void)fn, (void)opaque;
	return -ENOSYS;
}

struct guest_mem *vm_mem(struct vm *vm)
{
	return &vm->mem;
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	(void)gsi;
	if (level)
		vm->irq_pulses++;
	return 0;
}

int vm_irqfd(struct vm *vm, int efd, uint32_t gsi)
{
	(void)gsi;
	if (vm->irqfd_err)
		return vm->irqfd_err;
	vm->irqfd = efd;
	return 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t gpa, uint32_t len, int efd, bool datamatch, uint64_t data)
{
	(void)gpa, (void)len, (void)datamatch;
	if (vm->ioeventfd_err)
		return vm->ioeventfd_err;
	if (data < 4)
		vm->kick_fd[data] = efd;
	vm->nr_kick++;
	return 0;
}

int vm_io_watch(struct vm *vm, int fd, uint32_t events, io_watch_fn cb, void *opaque)
{
	(void)events;
	for (int i = 0; i < FAKE_WATCHES; i++) {
		if (vm->watch[i].fd == fd)
			return -EEXIST;
	}
	for (int i = 0; i < FAKE_WATCHES; i++) {
		if (vm->watch[i].fd < 0) {
			vm->watch[i].fd = fd;
			vm->watch[i].cb = cb;
			vm->watch[i].opaque = opaque;
			return 0;
		}
	}
	return -ENOMEM;
}

int vm_io_unwatch(struct vm *vm, int fd)
{
	for (int i = 0; i < FAKE_WATCHES; i++) {
		if (vm->watch[i].fd == fd) {
			vm->watch[i].fd = -1;
			return 0;
		}
	}
	return -ENOENT;
}

bool fake_vm_watched(struct vm *vm, int fd)
{
	for (int i = 0; i < FAKE_WATCHES; i++) {
		if (vm->watch[i].fd == fd)
			return true;
	}
	return false;
}

unsigned fake_vm_poll(struct vm *vm)
{
	unsigned n = 0;

	for (int i = 0; i < FAKE_WATCHES; i++) {
		struct pollfd p = {.fd = vm->watch[i].fd, .events = POLLIN};

		if (p.fd < 0 || poll(&p, 1, 0) != 1)
			continue;
		vm->watch[i].cb(vm->watch[i].opaque, p.revents);
		n++;
	}
	return n;
}

unsigned fake_vm_irqs(struct vm *vm)
{
	uint64_t cnt = 0;

	if (vm->irqfd >= 0 && read(vm->irqfd, &cnt, sizeof(cnt)) != sizeof(cnt))
		cnt = 0;
	vm->irq_pulses += cnt;
	return vm->irq_pulses;
}

int vm_cmdline_append(struct vm *vm, const char *fmt, ...)
{
	size_t used = strlen(vm->cmdline);
	va_list ap;

	if (used)
		vm->cmdline[used++] = ' ';
	va_start(ap, fmt);
	vsnprintf(vm->cmdline + used, sizeof(vm->cmdline) - used, fmt, ap);
	va_end(ap);
	return 0;
}

void vm_request_exit(struct vm *vm, int status)
{
	(void)vm, (void)status;
}

uint32_t mmio_rd(struct vm *vm, uint64_t off)
{
	uint32_t v;

	vm->mmio_fn(vm->mmio_opaque, off, &v, 4, false);
	return v;
}

void mmio_wr(struct vm *vm, uint64_t off, uint32_t v)
{
	vm->mmio_fn(vm->mmio_opaque, off, &v, 4, true);
}
