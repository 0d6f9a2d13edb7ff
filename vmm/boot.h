/* SPDX-License-Identifier: Apache-2.0 */
/* Loading a guest kernel: PVH vmlinux or bzImage, boot structures, BSP state. */
#ifndef EMBER_VMM_BOOT_H
#define EMBER_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "mem.h"

enum boot_kind {
	BOOT_PVH,     /* ELF vmlinux entered through XEN_ELFNOTE_PHYS32_ENTRY */
	BOOT_BZIMAGE, /* bzImage entered through the 64-bit boot protocol */
};

/* What the caller asks for. */
struct boot_spec {
	const char *kernel;  /* path to vmlinux (ELF) or bzImage; kind is detected */
	const char *initrd;  /* path or NULL */
	const char *cmdline; /* full kernel command line (NUL-terminated) */
	unsigned nr_vcpus;   /* for the MP table */
};

/* What the loader produced: enough to set up the boot vCPU. */
struct boot_info {
	enum boot_kind kind;
	uint64_t entry;	     /* guest-physical entry point */
	uint64_t start_info; /* PVH: hvm_start_info GPA (rbx); bzImage: boot_params GPA (rsi) */
	uint64_t pml4;	     /* bzImage: identity page tables root (cr3) */
	uint64_t gdt;	     /* GPA of the boot GDT */
};

/*
 * boot_load() - read the kernel (and initrd) named in @s into @m, write the
 * command line, e820 map, MP table and the PVH start info or boot_params, and
 * fill @bi. Returns 0, or -errno with a one-line reason in @err (missing file,
 * not an ELF with a PVH note nor a bzImage, truncated or corrupt image, image
 * or initrd too large for guest RAM, ...). Never writes outside guest RAM.
 */
__attribute__((warn_unused_result)) int boot_load(struct guest_mem *m, const struct boot_spec *s,
						  struct boot_info *bi, char *err, size_t errlen);

/*
 * boot_setup_sregs()/boot_setup_regs() - put the boot vCPU's state (as read
 * with KVM_GET_SREGS/KVM_GET_REGS) into the entry state @bi needs: PVH is
 * 32-bit protected mode, paging off, flat segments, rbx = start info;
 * bzImage is 64-bit long mode on identity page tables, rsi = boot_params.
 */
void boot_setup_sregs(const struct boot_info *bi, struct kvm_sregs *s);
void boot_setup_regs(const struct boot_info *bi, struct kvm_regs *r);

#endif
