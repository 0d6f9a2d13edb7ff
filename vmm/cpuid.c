/* SPDX-License-Identifier: Apache-2.0 */
/* CPU templates: CPUID masks, topology leaves, and which KVM serves /dev/kvm. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpuid_internal.h"

enum reg { EAX, EBX, ECX, EDX };
#define ANY_INDEX 0xffffffffu
#define B(n)	  (1u << (n))

/* One row: clear @clear in register @reg of leaf @fn (subleaf @idx or any). */
struct cpuid_mask {
	uint32_t fn, idx;
	enum reg reg;
	uint32_t clear;
};

/*
 * Baseline on every host (docs/vmm-boot.md says why for each bit): what
 * kvm-pvm's emulator lacks or makes slow, what does not migrate between
 * hosts, and every feature whose state lives in an XSAVE component beyond
 * x87/SSE/AVX (the components themselves are hidden in leaf 0xd).
 */
static const struct cpuid_mask baseline_masks[] = {
	/* VMX(5) CX16(13) PDCM(15) POPCNT(23) */
	{0x1, ANY_INDEX, ECX, B(5) | B(13) | B(15) | B(23)},
	/* ERMS(9) MPX(14) AVX512F/DQ(16,17) SMAP(20) IFMA(21) PT(25) PF/ER/CD(26-28) BW/VL */
	{0x7, 0, EBX,
	 B(9) | B(14) | B(16) | B(17) | B(20) | B(21) | B(25) | B(26) | B(27) | B(28) | B(30) |
		 B(31)},
	/* AVX512_VBMI(1) PKU(3) OSPKE(4) VBMI2(6) CET_SS(7) VNNI(11) BITALG(12) VPOPCNTDQ(14) */
	{0x7, 0, ECX, B(1) | B(3) | B(4) | B(6) | B(7) | B(11) | B(12) | B(14)},
	/* 4VNNIW(2) 4FMAPS(3) FSRM(4) VP2INTERSECT(8) ARCH_LBR(19) CET_IBT(20) AMX*,FP16(22-25)
	 * ARCH_CAPABILITIES(29) */
	{0x7, 0, EDX,
	 B(2) | B(3) | B(4) | B(8) | B(19) | B(20) | B(22) | B(23) | B(24) | B(25) | B(29)},
	{0x7, 1, EAX, B(5)},	    /* AVX512_BF16 */
	{0xd, 1, EAX, B(3) | B(4)}, /* XSAVES, XFD: supervisor/dynamic state */
	{0xd, 1, ECX, 0xffffffffu}, /* no IA32_XSS components */
	{0xd, 1, EDX, 0xffffffffu},
	{0x80000001, ANY_INDEX, ECX, B(2)}, /* SVM */
	{0xa, ANY_INDEX, EAX, 0xffffffffu}, /* no architectural PMU */
	{0xa, ANY_INDEX, EBX, 0xffffffffu},
	{0xa, ANY_INDEX, ECX, 0xffffffffu},
	{0xa, ANY_INDEX, EDX, 0xffffffffu},
	{0x40000001, ANY_INDEX, EAX, ~CPUID_KVM_PV_KEEP}, /* PV features that hypercall */
	{0x40000001, ANY_INDEX, EDX, 0xffffffffu},	  /* no PV hints (REALTIME) */
};

/*
 * On kvm-pvm also XSAVE itself (xrstor is not emulated: the guest falls
 * back to fxsave/fxrstor) and everything that needs the YMM state XSAVE
 * enables: AVX, AVX2, FMA, F16C, VEX-encoded AES/CLMUL, AVX-VNNI, XOP, FMA4.
 */
static const struct cpuid_mask pvm_masks[] = {
	/* FMA(12) XSAVE(26) OSXSAVE(27) AVX(28) F16C(29) */
	{0x1, ANY_INDEX, ECX, B(12) | B(26) | B(27) | B(28) | B(29)},
	{0x7, 0, EBX, B(5)},			     /* AVX2 */
	{0x7, 0, ECX, B(9) | B(10)},		     /* VAES, VPCLMULQDQ */
	{0x7, 1, EAX, B(4) | B(23)},		     /* AVX_VNNI, AVX_IFMA */
	{0x7, 1, EDX, B(4) | B(5)},		     /* AVX_VNNI_INT8, AVX_NE_CONVERT */
	{0x80000001, ANY_INDEX, ECX, B(11) | B(16)}, /* XOP, FMA4 */
};

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum reg r)
{
	switch (r) {
	case EAX:
		return &e->eax;
	case EBX:
		return &e->ebx;
	case ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

static void apply_masks(struct kvm_cpuid2 *c, const struct cpuid_mask *t, size_t n)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		for (size_t j = 0; j < n; j++)
			if (e->function == t[j].fn &&
			    (t[j].idx == ANY_INDEX || e->index == t[j].idx))
				*reg_of(e, t[j].reg) &= ~t[j].clear;
	}
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/*
 * Leaf 0xd with only x87/SSE/AVX: the supported XCR0 bits, no state
 * component beyond AVX, and ECX (the largest save area) recomputed from the
 * components left. KVM rewrites EBX itself whenever the guest sets XCR0.
 */
static void xsave_baseline(struct kvm_cpuid2 *c, uint32_t keep)
{
	struct kvm_cpuid_entry2 *l0 = find(c, 0xd, 0);
	uint64_t size = CPUID_XSAVE_LEGACY_SIZE;

	if (!l0)
		return;
	l0->eax &= keep;
	l0->edx = 0;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != 0xd || e->index < 2)
			continue;
		if (e->index >= 32 || !(l0->eax & B(e->index))) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
			continue;
		}
		if ((uint64_t)e->ebx + e->eax > size)
			size = (uint64_t)e->ebx + e->eax;
	}
	l0->ebx = l0->ecx = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
}

/* No XSAVE at all: every leaf 0xd subleaf reads as zero. */
static void xsave_none(struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0xd)
			c->entries[i].eax = c->entries[i].ebx = c->entries[i].ecx =
				c->entries[i].edx = 0;
}

/* Bits of APIC ID that number the cores of a package: ceil(log2(n)). */
static uint32_t core_bits(unsigned n)
{
	uint32_t b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* Leaf 0xb/0x1f: 1 thread per core, @nr cores, x2APIC ID = vCPU index. */
static void topo_ext(struct kvm_cpuid_entry2 *e, unsigned id, unsigned nr)
{
	e->edx = id;
	if (e->index == 0) { /* SMT level */
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | 0;
	} else if (e->index == 1) { /* core level */
		e->eax = core_bits(nr);
		e->ebx = nr;
		e->ecx = (2u << 8) | 1;
	} else { /* no further level */
		e->eax = e->ebx = 0;
		e->ecx = e->index & 0xff;
	}
}

/* Leaf 4 / 0x8000001d: L1 and L2 per core, L3 shared by the package. */
static void topo_cache(struct kvm_cpuid_entry2 *e, unsigned nr, int intel_cores)
{
	uint32_t level = (e->eax >> 5) & 0x7;
	uint32_t sharing = level >= 3 ? nr - 1 : 0;

	if ((e->eax & 0x1f) == 0) /* no cache at this subleaf */
		return;
	e->eax &= ~(0xfffu << 14);
	e->eax |= (sharing & 0xfff) << 14;
	if (intel_cores) {
		e->eax &= ~(0x3fu << 26);
		e->eax |= ((nr - 1) & 0x3f) << 26;
	}
}

static void topology(struct kvm_cpuid2 *c, unsigned id, unsigned nr)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0xffff) | ((nr & 0xff) << 16) | ((id & 0xff) << 24);
			e->edx = nr > 1 ? e->edx | B(28) : e->edx & ~B(28); /* HTT */
			e->ecx |= B(31);				    /* hypervisor */
			break;
		case 0x4:
			topo_cache(e, nr, 1);
			break;
		case 0xb:
		case 0x1f:
			topo_ext(e, id, nr);
			break;
		case 0x80000008: /* AMD: NC = cores - 1, ApicIdCoreIdSize */
			e->ecx &= ~(0xffu | (0xfu << 12));
			e->ecx |= ((nr - 1) & 0xff) | (core_bits(nr) << 12);
			break;
		case 0x8000001d:
			topo_cache(e, nr, 0);
			break;
		case 0x8000001e: /* AMD extended APIC ID; core ID; node 0 */
			e->eax = id;
			e->ebx = id & 0xff;
			e->ecx = 0;
			break;
		}
	}
}

void cpuid_apply(struct kvm_cpuid2 *c, enum cpu_template t, enum kvm_kind k, unsigned vcpu_id,
		 unsigned nr_vcpus)
{
	if (nr_vcpus == 0)
		nr_vcpus = 1;
	if (t == CPU_TEMPLATE_BASELINE) {
		apply_masks(c, baseline_masks, sizeof(baseline_masks) / sizeof(baseline_masks[0]));
		xsave_baseline(c, CPUID_XCR0_BASELINE);
		if (k == KVM_KIND_PVM) {
			apply_masks(c, pvm_masks, sizeof(pvm_masks) / sizeof(pvm_masks[0]));
			xsave_none(c);
		}
	}
	topology(c, vcpu_id, nr_vcpus);
}

int cpu_template_parse(const char *name, enum cpu_template *t)
{
	if (name && !strcmp(name, "baseline"))
		*t = CPU_TEMPLATE_BASELINE;
	else if (name && !strcmp(name, "host"))
		*t = CPU_TEMPLATE_HOST;
	else
		return -EINVAL;
	return 0;
}

const char *cpu_template_name(enum cpu_template t)
{
	return t == CPU_TEMPLATE_HOST ? "host" : "baseline";
}

const char *kvm_kind_name(enum kvm_kind k)
{
	return k == KVM_KIND_PVM ? "pvm" : "hw";
}

static int path_exists(const char *root, const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s%s", root, path);
	return access(p, F_OK) == 0;
}

/* 1 if /proc/cpuinfo lists vmx or svm, 0 if not, -1 if unreadable. */
static int cpuinfo_has_hwvirt(const char *root)
{
	char p[512], line[8192];
	int found = -1;
	FILE *f;

	snprintf(p, sizeof(p), "%s/proc/cpuinfo", root);
	f = fopen(p, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		found = 0;
		for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
			if (!strcmp(tok, "vmx") || !strcmp(tok, "svm"))
				found = 1;
		break;
	}
	fclose(f);
	return found;
}

/*
 * The kvm_pvm module is the certain sign. Without it, a kvm_intel/kvm_amd
 * module or vmx/svm in the CPU flags means hardware KVM; a readable cpuinfo
 * with neither means KVM runs without hardware support, i.e. a PVM-like
 * host (only a hint: the module may be built in). Unknown -> hardware.
 */
enum kvm_kind kvm_kind_detect_in(const char *root)
{
	const char *env = getenv("EMBER_KVM_KIND");

	if (env && !strcmp(env, "pvm"))
		return KVM_KIND_PVM;
	if (env && !strcmp(env, "hw"))
		return KVM_KIND_HW;
	if (path_exists(root, "/sys/module/kvm_pvm"))
		return KVM_KIND_PVM;
	if (path_exists(root, "/sys/module/kvm_intel") || path_exists(root, "/sys/module/kvm_amd"))
		return KVM_KIND_HW;
	return cpuinfo_has_hwvirt(root) == 0 ? KVM_KIND_PVM : KVM_KIND_HW;
}

enum kvm_kind kvm_kind_detect(void)
{
	return kvm_kind_detect_in("");
}
