/* SPDX-License-Identifier: Apache-2.0 */
/* CPU templates: what the guest sees of CPUID, and which KVM this host has. */
#ifndef EMBER_VMM_CPUID_H
#define EMBER_VMM_CPUID_H

#include <stdbool.h>

#include <linux/kvm.h>

enum cpu_template {
	/*
	 * Masks what breaks under kvm-pvm's emulator or does not migrate
	 * between hosts (docs/vmm-boot.md has the table): XSAVE components beyond
	 * AVX, XSAVE itself on PVM, CX16, POPCNT, ERMS+FSRM, SMAP,
	 * ARCH_CAPABILITIES, and every KVM paravirt bit that leads to a
	 * hypercall (kvmclock stays).
	 */
	CPU_TEMPLATE_BASELINE,
	/* KVM_GET_SUPPORTED_CPUID as is, plus topology (fast, not portable). */
	CPU_TEMPLATE_HOST,
};

enum kvm_kind {
	KVM_KIND_HW,  /* VMX/SVM hardware virtualisation */
	KVM_KIND_PVM, /* kvm-pvm: guest kernel code is emulated */
};

/* cpu_template_parse() - "baseline"/"host" -> @t. Returns 0 or -EINVAL. */
int cpu_template_parse(const char *name, enum cpu_template *t);
const char *cpu_template_name(enum cpu_template t);

/* kvm_kind_detect() - which KVM serves /dev/kvm here (looks for kvm_pvm). */
enum kvm_kind kvm_kind_detect(void);
const char *kvm_kind_name(enum kvm_kind k); /* "hw" or "pvm" */

/*
 * cpuid_apply() - turn @c, a KVM_GET_SUPPORTED_CPUID result, into the CPUID
 * of vCPU @vcpu_id of @nr_vcpus under template @t on a host of kind @k:
 * APIC IDs and topology leaves, the template's masks, hypervisor leaves.
 * Pure function on @c (unit-tested without /dev/kvm).
 */
void cpuid_apply(struct kvm_cpuid2 *c, enum cpu_template t, enum kvm_kind k, unsigned vcpu_id,
		 unsigned nr_vcpus);

#endif
