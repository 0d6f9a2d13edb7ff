/* SPDX-License-Identifier: Apache-2.0 */
/* KVM vCPU and VM state to and from state file records (snapshot_kvm.c). */
#ifndef EMBER_VMM_SNAPSHOT_KVM_H
#define EMBER_VMM_SNAPSHOT_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "state_file.h"

struct vm;
struct vcpu;

/* A record found in the state file (points into the file's buffer). */
struct sf_rec {
	const void *p;
	uint32_t len;
};

#define SNAPKVM_VCPU_TYPES 32 /* record types below this index a vCPU's records */

/* One vCPU's records, indexed by enum sf_type (SF_CPUID .. SF_VCPU_EVENTS). */
struct snapkvm_vcpu {
	uint32_t id, tsc_khz;
	struct sf_rec r[SNAPKVM_VCPU_TYPES];
};

/* The VM-wide records. */
struct snapkvm_vm {
	struct sf_rec irqchip[3]; /* PIC master, PIC slave, IOAPIC */
	unsigned nr_irqchip;
	struct sf_rec pit, clock;
};

/* snapkvm_save_vm() - PIC, IOAPIC, PIT2 and kvmclock as records. 0 or -errno (logged). */
int snapkvm_save_vm(struct vm *vm, struct sf_writer *w);
/* snapkvm_save_vcpu() - SF_VCPU and the vCPU's state records. 0 or -errno (logged). */
int snapkvm_save_vcpu(struct vcpu *v, struct sf_writer *w);

/*
 * snapkvm_check_vcpu() - every record a vCPU needs is present with the size
 * of its KVM structure. 0 or -EBADMSG with @err.
 */
int snapkvm_check_vcpu(const struct snapkvm_vcpu *s, char *err, size_t errlen);
int snapkvm_check_vm(const struct snapkvm_vm *s, char *err, size_t errlen);

/* snapkvm_restore_vcpu() - load @s into the freshly created vCPU @v (order in the .c). */
int snapkvm_restore_vcpu(struct vcpu *v, const struct snapkvm_vcpu *s, char *err, size_t errlen);
/* snapkvm_restore_irqchip() - PIC, IOAPIC and PIT2 (before the vCPUs). */
int snapkvm_restore_irqchip(struct vm *vm, const struct snapkvm_vm *s, char *err, size_t errlen);
/*
 * snapkvm_restore_clock() - kvmclock (after every vCPU's MSRs), then
 * KVMCLOCK_CTRL. @step_ns: how far the guest's wall clock is now behind the
 * host's (host time since the snapshot; 0 if the snapshot did not record it).
 */
int snapkvm_restore_clock(struct vm *vm, const struct snapkvm_vm *s, int64_t *step_ns, char *err,
			  size_t errlen);

#endif
