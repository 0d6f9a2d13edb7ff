// SPDX-License-Identifier: Apache-2.0
/* KVM vCPU and VM state: saved into state file records, checked and loaded back in order. */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>

#include "log.h"
#include "snapshot.h"
#include "snapshot_kvm.h"
#include "vm_internal.h"

#define CPUID_MAX_ENT 256
#define MSR_MAX_ENT   512
#define MSR_IA32_TSC  0x10u

/* ---- save ---- */

static int kvm_get(int fd, unsigned long req, void *buf, const char *what)
{
	if (ioctl(fd, req, buf) < 0) {
		int e = errno;

		pr_err("snapshot: %s: %s", what, strerror(e));
		return -e;
	}
	return 0;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int snapkvm_save_vm(struct vm *vm, struct sf_writer *w)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock = {0};
	int ret;

	for (uint32_t chip = 0; chip < 3; chip++) {
		struct kvm_irqchip c = {.chip_id = chip};

		ret = kvm_get(vm->vm_fd, KVM_GET_IRQCHIP, &c, "KVM_GET_IRQCHIP");
		if (ret)
			return ret;
		sf_put(w, SF_IRQCHIP, &c, sizeof(c));
	}
	ret = kvm_get(vm->vm_fd, KVM_GET_PIT2, &pit, "KVM_GET_PIT2");
	if (!ret)
		ret = kvm_get(vm->vm_fd, KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK");
	if (ret)
		return ret;
	sf_put(w, SF_PIT2, &pit, sizeof(pit));
	/*
	 * The kvmclock value and the host's wall time at that instant (KVM's
	 * own pair when it gives one): a restore tells the guest how much wall
	 * time passed in between, so ember-init can step CLOCK_REALTIME.
	 */
	if (!(clock.flags & KVM_CLOCK_REALTIME))
		clock.realtime = realtime_ns();
	clock = (struct kvm_clock_data){.clock = clock.clock, .realtime = clock.realtime};
	sf_put(w, SF_CLOCK, &clock, sizeof(clock));
	return 0;
}

/*
 * KVM_GET_MSR_INDEX_LIST: the MSRs KVM says a migration must carry (the
 * msrs_to_save and emulated lists: SYSENTER/SYSCALL, TSC, TSC_DEADLINE,
 * kvmclock, MISC_ENABLE, PAT, MTRRs, speculation controls ...). Fetched once.
 */
static int msr_index_list(int kvm_fd, const uint32_t **idx, unsigned *n)
{
	static struct kvm_msr_list *list;

	if (!list) {
		struct kvm_msr_list *l = calloc(1, sizeof(*l) + MSR_MAX_ENT * sizeof(uint32_t));

		if (!l)
			return -ENOMEM;
		l->nmsrs = MSR_MAX_ENT;
		if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
			int e = errno;

			free(l);
			pr_err("snapshot: KVM_GET_MSR_INDEX_LIST: %s", strerror(e));
			return -e;
		}
		list = l;
	}
	*idx = list->indices;
	*n = list->nmsrs;
	return 0;
}

/*
 * The vCPU's MSRs: each listed MSR is read alone, and the ones this vCPU
 * cannot read (features its CPUID hides, e.g. PMU counters under the
 * baseline template) are left out; they cannot be set on restore either.
 * TSC goes first: TSC_DEADLINE is relative to it when set back.
 */
static int put_msrs(struct vcpu *v, struct sf_writer *w)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one;
	struct kvm_msr_entry *out;
	const uint32_t *idx = NULL;
	unsigned n = 0, k = 0;
	int ret = msr_index_list(v->vm->kvm_fd, &idx, &n);

	if (ret)
		return ret;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	out[k++].index = MSR_IA32_TSC;
	for (unsigned i = 0; i < n; i++) {
		if (idx[i] != MSR_IA32_TSC)
			out[k++].index = idx[i];
	}
	n = k;
	k = 0;
	for (unsigned i = 0; i < n; i++) {
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e.index = out[i].index;
		if (ioctl(v->fd, KVM_GET_MSRS, &one) == 1)
			out[k++] = one.e;
	}
	sf_put(w, SF_MSRS, out, k * sizeof(*out));
	free(out);
	pr_info("snapshot: vCPU %u: %u MSRs", v->id, k);
	return 0;
}

static int put_cpuid(struct vcpu *v, struct sf_writer *w)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + CPUID_MAX_ENT * sizeof(struct kvm_cpuid_entry2));
	int ret;

	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENT;
	ret = kvm_get(v->fd, KVM_GET_CPUID2, c, "KVM_GET_CPUID2");
	if (!ret)
		sf_put(w, SF_CPUID, c->entries, c->nent * sizeof(c->entries[0]));
	free(c);
	return ret;
}

/* Fixed-size vCPU state read with one ioctl each; the optional ones need a capability. */
static const struct {
	uint16_t type;
	unsigned long get, set;
	uint32_t size;
	int cap; /* 0: always */
	const char *name;
} vcpu_regs[] = {
	{SF_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state), 0,
	 "MP_STATE"},
	{SF_REGS, KVM_GET_REGS, KVM_SET_REGS, sizeof(struct kvm_regs), 0, "REGS"},
	{SF_SREGS, KVM_GET_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs), 0, "SREGS"},
	{SF_FPU, KVM_GET_FPU, KVM_SET_FPU, sizeof(struct kvm_fpu), 0, "FPU"},
	{SF_XSAVE, KVM_GET_XSAVE, KVM_SET_XSAVE, sizeof(struct kvm_xsave), KVM_CAP_XSAVE, "XSAVE"},
	{SF_XCRS, KVM_GET_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs), KVM_CAP_XCRS, "XCRS"},
	{SF_DEBUGREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs), 0,
	 "DEBUGREGS"},
	{SF_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state), 0, "LAPIC"},
	{SF_VCPU_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events),
	 0, "VCPU_EVENTS"},
};
#define NR_VCPU_REGS (sizeof(vcpu_regs) / sizeof(vcpu_regs[0]))

static bool has_cap(struct vm *vm, int cap)
{
	return !cap || ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

int snapkvm_save_vcpu(struct vcpu *v, struct sf_writer *w)
{
	uint8_t buf[sizeof(struct kvm_xsave)];
	struct snap_vcpu h = {.id = v->id};
	int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	int ret;

	_Static_assert(sizeof(struct kvm_xsave) >= sizeof(struct kvm_sregs), "buf size");
	h.tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	sf_put(w, SF_VCPU, &h, sizeof(h));
	ret = put_cpuid(v, w);
	for (size_t i = 0; !ret && i < NR_VCPU_REGS; i++) {
		if (!has_cap(v->vm, vcpu_regs[i].cap))
			continue;
		memset(buf, 0, sizeof(buf));
		ret = kvm_get(v->fd, vcpu_regs[i].get, buf, vcpu_regs[i].name);
		if (!ret)
			sf_put(w, vcpu_regs[i].type, buf, vcpu_regs[i].size);
	}
	return ret ? ret : put_msrs(v, w);
}

/* ---- checks ---- */

int snapkvm_check_vcpu(const struct snapkvm_vcpu *s, char *err, size_t errlen)
{
	const struct sf_rec *c = &s->r[SF_CPUID], *m = &s->r[SF_MSRS];

	for (size_t i = 0; i < NR_VCPU_REGS; i++) {
		const struct sf_rec *r = &s->r[vcpu_regs[i].type];
		bool optional = vcpu_regs[i].cap != 0;

		if ((!r->p && !optional) || (r->p && r->len != vcpu_regs[i].size)) {
			snprintf(err, errlen, "vCPU %u: %s record %s", s->id, vcpu_regs[i].name,
				 r->p ? "has the wrong size" : "missing");
			return -EBADMSG;
		}
	}
	if (!s->r[SF_XSAVE].p && !s->r[SF_FPU].p) {
		snprintf(err, errlen, "vCPU %u: no FPU state", s->id);
		return -EBADMSG;
	}
	if (!c->p || !c->len || c->len % sizeof(struct kvm_cpuid_entry2) ||
	    c->len / sizeof(struct kvm_cpuid_entry2) > CPUID_MAX_ENT || !m->p ||
	    m->len % sizeof(struct kvm_msr_entry) ||
	    m->len / sizeof(struct kvm_msr_entry) > MSR_MAX_ENT + 1) {
		snprintf(err, errlen, "vCPU %u: CPUID or MSR record missing or malformed", s->id);
		return -EBADMSG;
	}
	return 0;
}

int snapkvm_check_vm(const struct snapkvm_vm *s, char *err, size_t errlen)
{
	for (unsigned i = 0; i < s->nr_irqchip; i++) {
		struct kvm_irqchip c;

		if (s->irqchip[i].len != sizeof(c))
			goto bad;
		memcpy(&c, s->irqchip[i].p, sizeof(c));
		if (c.chip_id != i)
			goto bad;
	}
	if (s->nr_irqchip != 3 || !s->pit.p || s->pit.len != sizeof(struct kvm_pit_state2) ||
	    !s->clock.p || s->clock.len != sizeof(struct kvm_clock_data))
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "VM records (irqchip, PIT, clock) missing or malformed");
	return -EBADMSG;
}

/* ---- restore ---- */

static int kvm_set(int fd, unsigned long req, const void *buf, const char *what, char *err,
		   size_t errlen)
{
	if (ioctl(fd, req, buf) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", what, strerror(e));
		return -e;
	}
	return 0;
}

static bool host_is_amd(void)
{
	unsigned int a, b, c, d;

	__cpuid(0, a, b, c, d);
	(void)a;
	/* "AuthenticAMD" / "HygonGenuine": EBX of leaf 0 is "Auth" / "Hygo". */
	return b == 0x68747541 || b == 0x6f677948;
}

/*
 * KVM's SVM code reports TR as busy (type 11) whatever the VMCB holds (its
 * "busy flag isn't exposed" work-around), while AMD CPUs keep the type the
 * guest's LTR loaded (9, available) in the VMCB. Writing 11 back is harmless
 * on AMD silicon (VMRUN checks no segment types, 64-bit mode has no task
 * switches), but QEMU's emulated SVM (our nested test machines) then refuses
 * every user-mode port access through the TSS I/O bitmap (its check_io()
 * wants type 9): ember-init's doorbell would #GP. So on AMD hosts TR goes
 * back as the hardware keeps it. VMX needs 11 (a VM-entry check): unchanged.
 */
static void fix_tr_type(struct kvm_sregs *s)
{
	if (s->tr.type == 11 && host_is_amd())
		s->tr.type = 9;
}

static int set_reg(struct vcpu *v, const struct snapkvm_vcpu *s, uint16_t type, char *err,
		   size_t errlen)
{
	uint8_t buf[sizeof(struct kvm_xsave)];

	for (size_t i = 0; i < NR_VCPU_REGS; i++) {
		if (vcpu_regs[i].type != type)
			continue;
		if (!s->r[type].p)
			return 0; /* optional and absent */
		/* Aligned copy: the record sits at an 8-byte boundary, KVM wants its struct. */
		memcpy(buf, s->r[type].p, vcpu_regs[i].size);
		if (type == SF_SREGS)
			fix_tr_type((struct kvm_sregs *)buf);
		if (type == SF_VCPU_EVENTS) {
			struct kvm_vcpu_events *e = (void *)buf;

			/* GET reports these fields without the flags SET needs to take them. */
			e->flags |=
				KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
		}
		return kvm_set(v->fd, vcpu_regs[i].set, buf, vcpu_regs[i].name, err, errlen);
	}
	return -EINVAL;
}

static int set_cpuid(struct vcpu *v, const struct sf_rec *r, char *err, size_t errlen)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + r->len);
	int ret;

	if (!c)
		return -ENOMEM;
	c->nent = r->len / sizeof(struct kvm_cpuid_entry2);
	memcpy(c->entries, r->p, r->len);
	ret = kvm_set(v->fd, KVM_SET_CPUID2, c, "KVM_SET_CPUID2", err, errlen);
	free(c);
	return ret;
}

/*
 * All MSRs in one call; if KVM stops early (it returns how many it set),
 * the rest go one by one and a refusal is logged, not fatal: the list was
 * read from a vCPU with this CPUID, so a refusal is a read-only MSR.
 */
static int set_msrs(struct vcpu *v, const struct sf_rec *r)
{
	unsigned n = r->len / sizeof(struct kvm_msr_entry);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + r->len);
	int done;

	if (!m)
		return -ENOMEM;
	m->nmsrs = n;
	memcpy(m->entries, r->p, r->len);
	done = ioctl(v->fd, KVM_SET_MSRS, m);
	for (unsigned i = done < 0 ? 0 : (unsigned)done; i < n; i++) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e;
		} one = {.hdr.nmsrs = 1, .e = m->entries[i]};

		if (ioctl(v->fd, KVM_SET_MSRS, &one) != 1)
			pr_info("restore: vCPU %u: MSR 0x%x not settable", v->id, one.e.index);
	}
	free(m);
	return 0;
}

/* A different TSC frequency here: ask KVM to scale (needs TSC_CONTROL), else warn. */
static void set_tsc_khz(struct vcpu *v, uint32_t khz)
{
	int now = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);

	if (!khz || now <= 0 || (uint32_t)now == khz)
		return;
	if (ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
		pr_warn("restore: vCPU %u: TSC runs at %d kHz here, %u in the snapshot, and "
			"KVM cannot scale it: guest time may drift",
			v->id, now, khz);
}

/*
 * Order (Firecracker's, docs/snapshot-format.md): CPUID first (it decides
 * which MSRs and XSAVE components exist), MP state, SREGS before REGS (mode,
 * then registers), FPU/XSAVE, XCRS, DEBUGREGS, LAPIC after SREGS (the APIC
 * base MSR comes with sregs), MSRS after LAPIC (TSC_DEADLINE only sticks
 * with the LAPIC timer in deadline mode), VCPU_EVENTS last (pending
 * exceptions and interrupts land on the final state).
 */
static const uint16_t restore_order[] = {
	SF_MP_STATE, SF_SREGS, SF_REGS, SF_FPU, SF_XSAVE, SF_XCRS, SF_DEBUGREGS, SF_LAPIC,
};

int snapkvm_restore_vcpu(struct vcpu *v, const struct snapkvm_vcpu *s, char *err, size_t errlen)
{
	int ret = set_cpuid(v, &s->r[SF_CPUID], err, errlen);

	set_tsc_khz(v, s->tsc_khz);
	for (size_t i = 0; !ret && i < sizeof(restore_order) / sizeof(restore_order[0]); i++)
		ret = set_reg(v, s, restore_order[i], err, errlen);
	if (!ret)
		ret = set_msrs(v, &s->r[SF_MSRS]);
	if (!ret)
		ret = set_reg(v, s, SF_VCPU_EVENTS, err, errlen);
	return ret;
}

int snapkvm_restore_irqchip(struct vm *vm, const struct snapkvm_vm *s, char *err, size_t errlen)
{
	struct kvm_pit_state2 pit;
	int ret = 0;

	for (unsigned i = 0; !ret && i < 3; i++) {
		struct kvm_irqchip c;

		memcpy(&c, s->irqchip[i].p, sizeof(c));
		ret = kvm_set(vm->vm_fd, KVM_SET_IRQCHIP, &c, "KVM_SET_IRQCHIP", err, errlen);
	}
	memcpy(&pit, s->pit.p, sizeof(pit));
	return ret ? ret : kvm_set(vm->vm_fd, KVM_SET_PIT2, &pit, "KVM_SET_PIT2", err, errlen);
}

int snapkvm_restore_clock(struct vm *vm, const struct snapkvm_vm *s, int64_t *step_ns, char *err,
			  size_t errlen)
{
	struct kvm_clock_data c;
	int ret;

	memcpy(&c, s->clock.p, sizeof(c));
	c.flags = 0;
	/* The guest's clocks continue from the snapshot instant: wall time is
	 * behind by exactly the host time between that instant and now. */
	ret = kvm_set(vm->vm_fd, KVM_SET_CLOCK, &c, "KVM_SET_CLOCK", err, errlen);
	*step_ns = c.realtime ? (int64_t)(realtime_ns() - c.realtime) : 0;
	/* Tell a kvmclock guest it was stopped (no soft-lockup warning); EINVAL without kvmclock.
	 */
	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++)
		ioctl(vm->vcpus[i].fd, KVM_KVMCLOCK_CTRL, 0);
	return ret;
}
