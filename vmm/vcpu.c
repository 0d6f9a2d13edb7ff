// SPDX-License-Identifier: Apache-2.0
/* vCPUs: creation and initial state, one thread each running KVM_RUN, exit dispatch. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vm_internal.h"

/* The signal that knocks a vCPU thread out of KVM_RUN (handler is empty). */
#define VCPU_KICK_SIG	    SIGUSR1
#define EXIT_CRASH	    3
#define CPUID_MAX_ENT	    256
#define VCPU_JOIN_TIMEOUT_S 2

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signal_setup(void)
{
	/* No SA_RESTART: KVM_RUN must return EINTR. */
	struct sigaction sa = {.sa_handler = kick_handler};

	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIG, &sa, NULL) < 0 ? -errno : 0;
}

/* ---- initial state ---- */

static struct kvm_cpuid2 *cpuid_alloc(void)
{
	return calloc(1,
		      sizeof(struct kvm_cpuid2) + CPUID_MAX_ENT * sizeof(struct kvm_cpuid_entry2));
}

static int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *host)
{
	size_t sz = sizeof(*host) + host->nent * sizeof(host->entries[0]);
	struct kvm_cpuid2 *c = malloc(sizeof(*host) + CPUID_MAX_ENT * sizeof(host->entries[0]));
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, host, sz);
	cpuid_apply(c, v->vm->tmpl, v->vm->kind, v->id, v->vm->nr_vcpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

/*
 * MSRs a fresh x86 CPU has after reset that KVM leaves at zero: fast strings
 * on, MTRRs enabled with write-back default (otherwise Linux maps RAM UC).
 */
static const struct {
	uint32_t index;
	uint64_t data;
} boot_msrs[] = {
	{0x174, 0},		 /* IA32_SYSENTER_CS */
	{0x175, 0},		 /* IA32_SYSENTER_ESP */
	{0x176, 0},		 /* IA32_SYSENTER_EIP */
	{0xc0000081, 0},	 /* STAR */
	{0xc0000082, 0},	 /* LSTAR */
	{0xc0000083, 0},	 /* CSTAR */
	{0xc0000084, 0},	 /* SYSCALL_MASK */
	{0xc0000102, 0},	 /* KERNEL_GS_BASE */
	{0x1a0, 1},		 /* IA32_MISC_ENABLE: fast strings */
	{0x2ff, (1u << 11) | 6}, /* MTRRdefType: enabled, WB */
};

static void vcpu_set_msrs(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	/* One at a time: KVM stops at the first refused MSR (PVM refuses some). */
	for (size_t i = 0; i < sizeof(boot_msrs) / sizeof(boot_msrs[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = boot_msrs[i].index;
		m.e.data = boot_msrs[i].data;
		if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1)
			pr_info("vCPU %u: MSR 0x%x not settable (left as KVM has it)", v->id,
				boot_msrs[i].index);
	}
}

static int vcpu_set_fpu_lapic(struct vcpu *v)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	struct kvm_lapic_state la;
	uint32_t *lvt0 = (uint32_t *)&la.regs[0x350], *lvt1 = (uint32_t *)&la.regs[0x360];

	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		return -errno;
	/* Virtual wire: LINT0 takes the PIC (ExtINT), LINT1 is NMI. */
	*lvt0 = (*lvt0 & ~0x700u) | (7u << 8);
	*lvt1 = (*lvt1 & ~0x700u) | (4u << 8);
	return ioctl(v->fd, KVM_SET_LAPIC, &la) < 0 ? -errno : 0;
}

static int vcpu_set_boot_regs(struct vcpu *v)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	boot_setup_sregs(&v->vm->boot, &s);
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return -errno;
	boot_setup_regs(&v->vm->boot, &r);
	return ioctl(v->fd, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

int vcpu_open(struct vm *vm, unsigned id)
{
	struct vcpu *v = &vm->vcpus[id];
	void *run;

	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return -errno;
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED)
		return -errno;
	v->run = run;
	return 0;
}

static int vcpu_create(struct vm *vm, unsigned id, const struct kvm_cpuid2 *host)
{
	struct vcpu *v = &vm->vcpus[id];
	int ret = vcpu_open(vm, id);

	if (ret)
		return ret;
	ret = vcpu_set_cpuid(v, host);
	if (ret)
		return ret;
	vcpu_set_msrs(v);
	ret = vcpu_set_fpu_lapic(v);
	if (ret)
		return ret;
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC. */
	return id == 0 ? vcpu_set_boot_regs(v) : 0;
}

int vcpus_create(struct vm *vm)
{
	struct kvm_cpuid2 *host = cpuid_alloc();
	int ret = -ENOMEM;

	if (!host)
		return ret;
	host->nent = CPUID_MAX_ENT;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, host) < 0) {
		ret = -errno;
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(vm, i, host);
		if (ret) {
			pr_err("vCPU %u: setup failed: %s", i, strerror(-ret));
			goto out;
		}
	}
out:
	free(host);
	return ret;
}

void vcpus_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
		v->run = NULL;
		v->fd = -1;
	}
}

/* ---- crash reports ---- */

/* Print the instruction bytes at the guest's rip, if its page is mapped RAM. */
static void vcpu_dump_insn(struct vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s)
{
	struct kvm_translation t = {.linear_address = s->cs.base + r->rip};
	char hex[3 * 16 + 1] = "";
	uint64_t room;
	const uint8_t *p;

	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) {
		pr_err("vCPU %u: rip 0x%llx not translatable", v->id, (unsigned long long)r->rip);
		return;
	}
	room = 0x1000 - (t.physical_address & 0xfff); /* stay inside the page */
	if (room > 15)
		room = 15;
	p = gpa_ptr(&v->vm->mem, t.physical_address, room);
	if (!p) {
		pr_err("vCPU %u: rip 0x%llx -> gpa 0x%llx is not RAM", v->id,
		       (unsigned long long)r->rip, (unsigned long long)t.physical_address);
		return;
	}
	for (uint64_t i = 0; i < room; i++)
		snprintf(hex + 3 * i, 4, "%02x ", p[i]);
	pr_err("vCPU %u: code at rip (gpa 0x%llx): %s", v->id,
	       (unsigned long long)t.physical_address, hex);
}

static void vcpu_dump(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vCPU %u: cannot read registers: %s", v->id, strerror(errno));
		return;
	}
	pr_err("vCPU %u: rip=0x%llx rsp=0x%llx rflags=0x%llx cs=0x%x cr0=0x%llx cr3=0x%llx "
	       "cr4=0x%llx efer=0x%llx",
	       v->id, (unsigned long long)r.rip, (unsigned long long)r.rsp,
	       (unsigned long long)r.rflags, s.cs.selector, (unsigned long long)s.cr0,
	       (unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer);
	vcpu_dump_insn(v, &r, &s);
}

static int exit_internal_error(struct vcpu *v)
{
	const struct kvm_run *run = v->run;
	char data[128] = "";
	size_t used = 0;

	for (uint32_t i = 0; i < run->internal.ndata && i < 8 && used < sizeof(data); i++)
		used += snprintf(data + used, sizeof(data) - used, " 0x%llx",
				 (unsigned long long)run->internal.data[i]);
	pr_err("vCPU %u: KVM internal error, suberror %u%s (data:%s)", v->id,
	       run->internal.suberror,
	       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure: "
									"instruction not emulated)"
								      : "",
	       data);
	vcpu_dump(v);
	return EXIT_CRASH;
}

static int exit_fail_entry(struct vcpu *v)
{
	pr_err("vCPU %u: VM entry failed, hardware reason 0x%llx on cpu %u", v->id,
	       (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason,
	       v->run->fail_entry.cpu);
	vcpu_dump(v);
	return EXIT_CRASH;
}

static int exit_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		pr_info("guest powered off (system event)");
		return 0;
	case KVM_SYSTEM_EVENT_RESET:
		pr_info("guest reset (system event)");
		return 0;
	case KVM_SYSTEM_EVENT_CRASH:
		pr_err("vCPU %u: guest crashed (system event)", v->id);
		return EXIT_CRASH;
	default:
		pr_warn("vCPU %u: system event %u ignored", v->id, v->run->system_event.type);
		return -1;
	}
}

/* ---- the run loop ---- */

/* Accesses nobody claims are normal (Linux probes absent hardware): log a few with -v. */
static void log_unclaimed(const char *space, bool write, uint64_t addr, uint32_t len)
{
	static unsigned count;

	if (__atomic_fetch_add(&count, 1, __ATOMIC_RELAXED) < 32)
		pr_info("unclaimed %s %s 0x%llx size %u", space, write ? "write" : "read",
			(unsigned long long)addr, len);
}

static void exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	/* rep ins/outs: count accesses of size bytes back to back. */
	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size) {
		if (!bus_access(&v->vm->pio, run->io.port, p, run->io.size, out))
			log_unclaimed("port", out, run->io.port, run->io.size);
	}
}

static void exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (!bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			run->mmio.is_write))
		log_unclaimed("MMIO", run->mmio.is_write, run->mmio.phys_addr, run->mmio.len);
}

/* Returns the VM's exit status, or -1 to keep running. */
static int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit_io(v);
		return -1;
	case KVM_EXIT_MMIO:
		exit_mmio(v);
		return -1;
	case KVM_EXIT_INTR:
		return -1;
	case KVM_EXIT_HLT:
		pr_info("vCPU %u halted: guest stopped", v->id);
		return 0;
	case KVM_EXIT_SHUTDOWN:
		pr_warn("guest reset (triple fault on vCPU %u)", v->id);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		return exit_system_event(v);
	case KVM_EXIT_INTERNAL_ERROR:
		return exit_internal_error(v);
	case KVM_EXIT_FAIL_ENTRY:
		return exit_fail_entry(v);
	default:
		pr_err("vCPU %u: unexpected exit reason %u", v->id, run->exit_reason);
		vcpu_dump(v);
		return EXIT_CRASH;
	}
}

/*
 * Park this vCPU until vcpus_resume() or an exit. KVM_RUN with
 * immediate_exit first finishes the exit we just handled (an OUT's rip
 * advance, an MMIO read's register write) without running guest code, so
 * the registers a snapshot reads are consistent (KVM API: "userspace should
 * ensure that the operation is completed before performing a live
 * migration"). A vCPU that never ran (restore --paused) has nothing pending.
 * Returns true when it leaves the park to run (not for an exit).
 */
static bool vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool run;

	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->has_run && (ioctl(v->fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN)))
		pr_warn("vCPU %u: completing the pending exit before the pause failed", v->id);
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (vm->pause_req && !vm_exiting(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	run = !vm_exiting(vm);
	if (run)
		vm->running_ns = now_ns();
	/* The last one out wakes vcpus_resume_wait(). */
	if (--vm->nr_parked == 0)
		pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	/* An exit request sets immediate_exit too; the loop re-checks vm_exiting() after this. */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	return run;
}

/*
 * vCPU 0 stamps the moments the guest (re)starts running: vmm_start once
 * (VMM setup time), vcpu_running at the first run and after every resume.
 */
static void vcpu_announce(struct vcpu *v)
{
	if (v->id == 0) {
		if (!v->has_run) {
			__atomic_store_n(&v->vm->running_ns, now_ns(), __ATOMIC_RELAXED);
			events_emit("vmm_start");
		}
		events_emit("vcpu_running");
	}
	v->has_run = true;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	bool announce = true;

	while (!vm_exiting(vm)) {
		int status;

		if (__atomic_load_n(&vm->pause_req, __ATOMIC_SEQ_CST)) {
			announce |= vcpu_park(v);
			continue;
		}
		if (announce) {
			vcpu_announce(v);
			announce = false;
		}

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pr_err("vCPU %u: KVM_RUN: %s", v->id, strerror(errno));
			vcpu_dump(v);
			vm_request_exit(vm, EXIT_CRASH);
			break;
		}
		status = vcpu_handle_exit(v);
		if (status >= 0) {
			vm_request_exit(vm, status);
			break;
		}
	}
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		char name[16];
		int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);

		if (ret)
			return -ret;
		__atomic_store_n(&v->started, true, __ATOMIC_RELEASE);
		snprintf(name, sizeof(name), "ember-vcpu%u", i);
		pthread_setname_np(v->thread, name);
	}
	return 0;
}

void vcpus_kick(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!__atomic_load_n(&v->started, __ATOMIC_ACQUIRE))
			continue;
		/* immediate_exit covers a thread about to enter KVM_RUN; the
		 * signal one already inside it. */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, VCPU_KICK_SIG);
	}
	/* Parked vCPUs wait on pause_cond: wake them to see the exit. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static unsigned vcpus_started(struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		n += __atomic_load_n(&vm->vcpus[i].started, __ATOMIC_ACQUIRE);
	return n;
}

static void deadline_in(struct timespec *d, unsigned timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, d);
	d->tv_sec += timeout_ms / 1000;
	d->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

int vcpus_pause(struct vm *vm, unsigned timeout_ms)
{
	struct timespec deadline;
	int ret = 0;

	deadline_in(&deadline, timeout_ms);
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause_lock);
	/* Same kick as an exit: signal for a vCPU inside KVM_RUN, immediate_exit for one about
	 * to enter it. The threads then sleep; nothing here polls. */
	vcpus_kick(vm);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vcpus_started(vm) && !ret)
		ret = -pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &deadline);
	if (vm->nr_parked >= vcpus_started(vm))
		ret = 0;
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

void vcpus_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_req, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

/* The cheap path of a resume: one broadcast; the vCPU threads' state is already loaded. */
int64_t vcpus_resume_wait(struct vm *vm, unsigned timeout_ms)
{
	struct timespec deadline;
	int64_t t = 0;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->pause_req) {
		pthread_mutex_unlock(&vm->pause_lock);
		return -EALREADY;
	}
	__atomic_store_n(&vm->pause_req, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->pause_cond);
	deadline_in(&deadline, timeout_ms);
	while (vm->nr_parked && !ret && !vm_exiting(vm))
		ret = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &deadline);
	if (!vm->nr_parked && !vm_exiting(vm))
		t = (int64_t)vm->running_ns;
	pthread_mutex_unlock(&vm->pause_lock);
	return t;
}

bool vcpus_join(struct vm *vm)
{
	struct timespec deadline;
	bool all = true;

	/* A vCPU stuck in the kernel (a hung hypercall on PVM) must not hang ember-vmm. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += VCPU_JOIN_TIMEOUT_S;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		if (pthread_timedjoin_np(v->thread, NULL, &deadline)) {
			pr_warn("vCPU %u did not stop within %d s", i, VCPU_JOIN_TIMEOUT_S);
			all = false;
			continue;
		}
		v->started = false;
	}
	return all;
}
