// SPDX-License-Identifier: Apache-2.0
/* The KVM VM: /dev/kvm, guest RAM slots, irqchip + PIT, interrupts, buses, cmdline, exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "vm_internal.h"

#define KVM_API_VERSION_EXPECTED 12

/* Capabilities without which ember-vmm cannot run at all. */
static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{KVM_CAP_USER_MEMORY, "USER_MEMORY"},
	{KVM_CAP_IRQCHIP, "IRQCHIP"},
	{KVM_CAP_PIT2, "PIT2"},
	{KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
	{KVM_CAP_IOEVENTFD, "IOEVENTFD"},
	{KVM_CAP_IRQFD, "IRQFD"},
	{KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR"},
	{KVM_CAP_EXT_CPUID, "EXT_CPUID"},
};

/* Format "<what>: <strerror>" into @err and return -errno (errno read first). */
static int sys_fail(char *err, size_t errlen, const char *what)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -e;
}

static int kvm_open(struct vm *vm, char *err, size_t errlen)
{
	int v;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return sys_fail(err, errlen, "cannot open /dev/kvm (is KVM available to you?)");
	v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION_EXPECTED) {
		snprintf(err, errlen, "KVM API version %d, need %d", v, KVM_API_VERSION_EXPECTED);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, errlen, "KVM lacks KVM_CAP_%s", required_caps[i].name);
			return -ENOTSUP;
		}
	}
	v = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE returned %d", v);
		return -ENOTSUP;
	}
	vm->run_size = (size_t)v;
	return 0;
}

/* The x86 boot-time fixtures KVM wants before any vCPU exists. */
static int vm_setup_x86(struct vm *vm, char *err, size_t errlen)
{
	uint64_t ident = KVM_IDENTITY_MAP_GPA;
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	/* VMX needs a TSS and identity map for real mode; both sit in the MMIO gap. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
		return sys_fail(err, errlen, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		pr_warn("KVM_SET_IDENTITY_MAP_ADDR: %s (continuing)", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return sys_fail(err, errlen, "KVM_CREATE_IRQCHIP");
	/* Speaker dummy: port 0x61 is then answered in the kernel too. */
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return sys_fail(err, errlen, "KVM_CREATE_PIT2");
	return 0;
}

/* Restore: the snapshot's memory file, private so every clone's writes stay its own. */
static int mem_map_file(struct guest_mem *m, int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	mem_layout(m, p, size);
	return 0;
}

static int vm_setup_memory(struct vm *vm, uint64_t size, int fd, char *err, size_t errlen)
{
	int ret = fd >= 0 ? mem_map_file(&vm->mem, fd, size) : mem_init(&vm->mem, size);

	if (ret) {
		snprintf(err, errlen, "cannot map %llu bytes of guest RAM: %s",
			 (unsigned long long)size, strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return sys_fail(err, errlen, "KVM_SET_USER_MEMORY_REGION");
	}
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *c, char *err, size_t errlen)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	vm->nr_vcpus = c->nr_vcpus;
	vm->tmpl = c->tmpl;
	bus_init(&vm->mmio);
	bus_init(&vm->pio);
	pthread_mutex_init(&vm->exit_lock, NULL);
	pthread_cond_init(&vm->exit_cond, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	pthread_mutex_init(&vm->ops_lock, NULL);
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	ret = iothread_init(&vm->io);
	if (ret) {
		snprintf(err, errlen, "I/O thread: %s", strerror(-ret));
		goto fail;
	}
	ret = kvm_open(vm, err, errlen);
	if (ret)
		goto fail;
	vm->kind = kvm_kind_detect();
	do /* EINTR happens here on busy hosts (Firecracker retries too) */
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		ret = sys_fail(err, errlen, "KVM_CREATE_VM");
		goto fail;
	}
	ret = vm_setup_x86(vm, err, errlen);
	if (ret)
		goto fail;
	ret = vm_setup_memory(vm, c->mem_size, c->mem_fd, err, errlen);
	if (ret)
		goto fail;
	return 0;
fail:
	vm_destroy(vm);
	return ret;
}

void vm_destroy(struct vm *vm)
{
	iothread_stop(&vm->io);
	vcpus_destroy(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	mem_free(&vm->mem);
	bus_destroy(&vm->mmio);
	bus_destroy(&vm->pio);
}

/* ---- vm.h: what devices call ---- */

struct guest_mem *vm_mem(struct vm *vm)
{
	return &vm->mem;
}

int vm_mmio_register(struct vm *vm, uint64_t base, uint64_t len, io_handler_fn fn, void *opaque)
{
	return bus_register(&vm->mmio, base, len, fn, opaque);
}

int vm_pio_register(struct vm *vm, uint16_t base, uint16_t len, io_handler_fn fn, void *opaque)
{
	if ((uint32_t)base + len > 0x10000)
		return -EINVAL;
	return bus_register(&vm->pio, base, len, fn, opaque);
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level ? 1 : 0};

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, int efd, uint32_t gsi)
{
	struct kvm_irqfd f = {.fd = (uint32_t)efd, .gsi = gsi};

	return ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t gpa, uint32_t len, int efd, bool datamatch, uint64_t data)
{
	struct kvm_ioeventfd e = {
		.datamatch = data,
		.addr = gpa,
		.len = len,
		.fd = efd,
		.flags = datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0,
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &e) < 0 ? -errno : 0;
}

int vm_cmdline_append(struct vm *vm, const char *fmt, ...)
{
	size_t room = sizeof(vm->cmdline) - vm->cmdline_len;
	size_t sep = vm->cmdline_len ? 1 : 0;
	va_list ap;
	int n;

	if (room <= sep)
		return -E2BIG;
	va_start(ap, fmt);
	n = vsnprintf(vm->cmdline + vm->cmdline_len + sep, room - sep, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room - sep) {
		vm->cmdline[vm->cmdline_len] = '\0'; /* drop the partial item */
		return -E2BIG;
	}
	if (sep)
		vm->cmdline[vm->cmdline_len] = ' ';
	vm->cmdline_len += sep + (size_t)n;
	return 0;
}

void vm_request_exit(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->exit_lock);
	if (!vm->exiting) {
		__atomic_store_n(&vm->exiting, true, __ATOMIC_RELEASE);
		vm->exit_status = status;
		pthread_cond_broadcast(&vm->exit_cond);
	}
	pthread_mutex_unlock(&vm->exit_lock);
	vcpus_kick(vm);
}

bool vm_exiting(struct vm *vm)
{
	return __atomic_load_n(&vm->exiting, __ATOMIC_ACQUIRE);
}

int vm_wait_exit(struct vm *vm)
{
	int status;

	pthread_mutex_lock(&vm->exit_lock);
	while (!vm->exiting)
		pthread_cond_wait(&vm->exit_cond, &vm->exit_lock);
	status = vm->exit_status;
	pthread_mutex_unlock(&vm->exit_lock);
	return status;
}

int vm_wait(struct vm *vm)
{
	int status = -1;

	pthread_mutex_lock(&vm->exit_lock);
	while (!vm->exiting && !vm->snapshot_req)
		pthread_cond_wait(&vm->exit_cond, &vm->exit_lock);
	if (vm->exiting)
		status = vm->exit_status;
	vm->snapshot_req = false;
	pthread_mutex_unlock(&vm->exit_lock);
	return status;
}

void vm_request_snapshot(struct vm *vm)
{
	pthread_mutex_lock(&vm->exit_lock);
	vm->snapshot_req = true;
	pthread_cond_broadcast(&vm->exit_cond);
	pthread_mutex_unlock(&vm->exit_lock);
}
