/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the CPU templates: every masked bit, topology, kind detection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cpuid_internal.h"

#define ONES 0xffffffffu
#define B(n) (1u << (n))

/* Leaves as KVM_GET_SUPPORTED_CPUID lists them, every register all ones. */
static const uint32_t leaves[][2] = {
	{0x0, 0},	 {0x1, 0},	  {0x4, 0},	   {0x4, 1},	    {0x7, 0},
	{0x7, 1},	 {0xa, 0},	  {0xb, 0},	   {0xb, 1},	    {0xb, 2},
	{0xd, 0},	 {0xd, 1},	  {0xd, 2},	   {0xd, 5},	    {0xd, 9},
	{0x1f, 0},	 {0x40000000, 0}, {0x40000001, 0}, {0x80000001, 0}, {0x80000008, 0},
	{0x8000001e, 0},
};
#define NR_LEAVES (sizeof(leaves) / sizeof(leaves[0]))

static struct kvm_cpuid2 *fake(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NR_LEAVES * sizeof(struct kvm_cpuid_entry2));

	c->nent = NR_LEAVES;
	for (unsigned i = 0; i < NR_LEAVES; i++)
		c->entries[i] = (struct kvm_cpuid_entry2){.function = leaves[i][0],
							  .index = leaves[i][1],
							  .eax = ONES,
							  .ebx = ONES,
							  .ecx = ONES,
							  .edx = ONES};
	return c;
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	fail_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

/* The bits of @reg in @mask are all clear, and those in @kept all set. */
#define assert_bits(reg, clear, kept)                                                              \
	do {                                                                                       \
		assert_int_equal((reg) & (clear), 0);                                              \
		assert_int_equal((reg) & (kept), (kept));                                          \
	} while (0)

static struct kvm_cpuid2 *baseline(enum kvm_kind k)
{
	struct kvm_cpuid2 *c = fake();

	/* A realistic AVX component: 256 bytes at offset 576. */
	leaf(c, 0xd, 2)->eax = 256;
	leaf(c, 0xd, 2)->ebx = 576;
	cpuid_apply(c, CPU_TEMPLATE_BASELINE, k, 0, 1);
	return c;
}

static void test_baseline_hw(void **state)
{
	struct kvm_cpuid2 *c = baseline(KVM_KIND_HW);

	(void)state;
	/* VMX CX16 PDCM POPCNT hidden; XSAVE OSXSAVE AVX FMA F16C, hypervisor, TSC_DEADLINE kept */
	assert_bits(leaf(c, 1, 0)->ecx, B(5) | B(13) | B(15) | B(23),
		    B(12) | B(24) | B(26) | B(27) | B(28) | B(29) | B(31));
	/* ERMS SMAP MPX PT AVX512*; AVX2 BMI kept */
	assert_bits(leaf(c, 7, 0)->ebx,
		    B(9) | B(14) | B(16) | B(17) | B(20) | B(21) | B(25) | B(26) | B(27) | B(28) |
			    B(30) | B(31),
		    B(3) | B(5) | B(8));
	assert_bits(leaf(c, 7, 0)->ecx, B(1) | B(3) | B(4) | B(6) | B(7) | B(11) | B(12) | B(14),
		    B(9) | B(10));
	/* FSRM ARCH_CAPABILITIES AMX CET_IBT...; speculation controls kept */
	assert_bits(leaf(c, 7, 0)->edx,
		    B(2) | B(3) | B(4) | B(8) | B(19) | B(20) | B(22) | B(23) | B(24) | B(25) |
			    B(29),
		    B(26) | B(27) | B(31));
	assert_bits(leaf(c, 7, 1)->eax, B(5), B(4));
	/* XCR0 x87|SSE|AVX, save area recomputed, other components gone */
	assert_int_equal(leaf(c, 0xd, 0)->eax, 0x7);
	assert_int_equal(leaf(c, 0xd, 0)->edx, 0);
	assert_int_equal(leaf(c, 0xd, 0)->ecx, 576 + 256);
	assert_bits(leaf(c, 0xd, 1)->eax, B(3) | B(4), B(0) | B(1) | B(2));
	assert_int_equal(leaf(c, 0xd, 1)->ecx, 0);
	assert_int_equal(leaf(c, 0xd, 1)->edx, 0);
	assert_int_equal(leaf(c, 0xd, 2)->eax, 256);
	assert_int_equal(leaf(c, 0xd, 5)->eax | leaf(c, 0xd, 5)->ebx, 0);
	assert_int_equal(leaf(c, 0xd, 9)->eax | leaf(c, 0xd, 9)->ecx, 0);
	/* kvmclock (0, 3, 24) and NOP_IO_DELAY (1) only; no hints */
	assert_int_equal(leaf(c, 0x40000001, 0)->eax, B(0) | B(1) | B(3) | B(24));
	assert_int_equal(leaf(c, 0x40000001, 0)->edx, 0);
	assert_int_equal(leaf(c, 0x40000000, 0)->ebx, ONES); /* signature untouched */
	assert_int_equal(leaf(c, 0xa, 0)->eax | leaf(c, 0xa, 0)->edx, 0);
	assert_bits(leaf(c, 0x80000001, 0)->ecx, B(2), B(11) | B(16));
	free(c);
}

static void test_baseline_pvm(void **state)
{
	struct kvm_cpuid2 *c = baseline(KVM_KIND_PVM);

	(void)state;
	/* everything of the hw baseline, plus XSAVE and what needs YMM state */
	assert_bits(leaf(c, 1, 0)->ecx,
		    B(5) | B(12) | B(13) | B(15) | B(23) | B(26) | B(27) | B(28) | B(29),
		    B(24) | B(31));
	assert_bits(leaf(c, 7, 0)->ebx, B(5) | B(9) | B(16) | B(20), B(3) | B(8));
	assert_bits(leaf(c, 7, 0)->ecx, B(3) | B(9) | B(10), 0);
	assert_bits(leaf(c, 7, 0)->edx, B(4) | B(29), B(26));
	assert_bits(leaf(c, 7, 1)->eax, B(4) | B(5) | B(23), 0);
	assert_bits(leaf(c, 7, 1)->edx, B(4) | B(5), 0);
	assert_bits(leaf(c, 0x80000001, 0)->ecx, B(2) | B(11) | B(16), B(5));
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0xd)
			assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	}
	assert_int_equal(leaf(c, 0x40000001, 0)->eax, B(0) | B(1) | B(3) | B(24));
	free(c);
}

/* Host: features untouched; only topology leaves and fields change. */
static void test_host_untouched(void **state)
{
	struct kvm_cpuid2 *c = fake();

	(void)state;
	cpuid_apply(c, CPU_TEMPLATE_HOST, KVM_KIND_PVM, 0, 1);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
		case 0x4:
		case 0xb:
		case 0x1f:
		case 0x80000008:
		case 0x8000001e:
			continue;
		}
		assert_int_equal(e->eax & e->ebx & e->ecx & e->edx, ONES);
	}
	assert_int_equal(leaf(c, 1, 0)->ecx, ONES);
	assert_int_equal(leaf(c, 1, 0)->edx, ONES & ~B(28)); /* HTT only with > 1 vCPU */
	free(c);
}

static void check_topology(struct kvm_cpuid2 *c, unsigned id, unsigned nr, unsigned bits)
{
	struct kvm_cpuid_entry2 *e;

	e = leaf(c, 1, 0);
	assert_int_equal(e->ebx >> 24, id);
	assert_int_equal((e->ebx >> 16) & 0xff, nr);
	assert_int_equal(e->ebx & 0xffff, 0xffff); /* CLFLUSH size, brand kept */
	assert_int_equal(!!(e->edx & B(28)), nr > 1);
	for (uint32_t fn = 0xb; fn <= 0x1f; fn += 0x14) {
		e = leaf(c, fn, 0);
		assert_int_equal(e->eax, 0);
		assert_int_equal(e->ebx, 1);
		assert_int_equal(e->ecx, 0x100);
		assert_int_equal(e->edx, id);
	}
	e = leaf(c, 0xb, 1);
	assert_int_equal(e->eax, bits);
	assert_int_equal(e->ebx, nr);
	assert_int_equal(e->ecx, 0x201);
	assert_int_equal(e->edx, id);
	e = leaf(c, 0xb, 2);
	assert_int_equal(e->eax | e->ebx, 0);
	assert_int_equal(e->ecx, 2);
	assert_int_equal(e->edx, id);
	/* leaf 4: cores per package; subleaf 0 is an L1 (per core), 1 an L3 */
	assert_int_equal(leaf(c, 4, 0)->eax >> 26, nr - 1);
	assert_int_equal((leaf(c, 4, 0)->eax >> 14) & 0xfff, 0);
	assert_int_equal((leaf(c, 4, 1)->eax >> 14) & 0xfff, nr - 1);
	assert_int_equal(leaf(c, 0x80000008, 0)->ecx & 0xf0ff, (bits << 12) | (nr - 1));
	assert_int_equal(leaf(c, 0x8000001e, 0)->eax, id);
}

static void test_topology(void **state)
{
	const unsigned nrs[] = {1, 2, 3, 4, 8}, bits[] = {0, 1, 2, 2, 3};

	(void)state;
	for (unsigned k = 0; k < 5; k++)
		for (unsigned id = 0; id < nrs[k]; id++)
			for (int t = CPU_TEMPLATE_BASELINE; t <= CPU_TEMPLATE_HOST; t++) {
				struct kvm_cpuid2 *c = fake();

				leaf(c, 4, 0)->eax = (ONES & ~0xe0u) | (1u << 5); /* level 1 */
				cpuid_apply(c, t, KVM_KIND_HW, id, nrs[k]);
				check_topology(c, id, nrs[k], bits[k]);
				free(c);
			}
}

static void test_names(void **state)
{
	enum cpu_template t = CPU_TEMPLATE_HOST;

	(void)state;
	assert_int_equal(cpu_template_parse("baseline", &t), 0);
	assert_int_equal(t, CPU_TEMPLATE_BASELINE);
	assert_int_equal(cpu_template_parse("host", &t), 0);
	assert_int_equal(t, CPU_TEMPLATE_HOST);
	assert_int_equal(cpu_template_parse("Host", &t), -EINVAL);
	assert_int_equal(cpu_template_parse("", &t), -EINVAL);
	assert_int_equal(cpu_template_parse(NULL, &t), -EINVAL);
	assert_int_equal(t, CPU_TEMPLATE_HOST); /* untouched on error */
	assert_string_equal(cpu_template_name(CPU_TEMPLATE_BASELINE), "baseline");
	assert_string_equal(cpu_template_name(CPU_TEMPLATE_HOST), "host");
	assert_string_equal(kvm_kind_name(KVM_KIND_HW), "hw");
	assert_string_equal(kvm_kind_name(KVM_KIND_PVM), "pvm");
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_kind_detect(void **state)
{
	char root[] = "/tmp/ember-test-cpuid-XXXXXX", p[256], cmd[300];

	(void)state;
	unsetenv("EMBER_KVM_KIND");
	assert_non_null(mkdtemp(root));
	assert_int_equal(kvm_kind_detect_in(root), KVM_KIND_HW); /* nothing known */
	snprintf(p, sizeof(p), "%s/proc", root);
	assert_int_equal(mkdir(p, 0755), 0);
	put_file(root, "proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu sse2 hypervisor\n");
	assert_int_equal(kvm_kind_detect_in(root), KVM_KIND_PVM); /* no vmx/svm: a hint */
	put_file(root, "proc/cpuinfo", "flags\t\t: fpu vmx sse2\nvmx flags\t: vnmi\n");
	assert_int_equal(kvm_kind_detect_in(root), KVM_KIND_HW);
	snprintf(p, sizeof(p), "%s/sys/module/kvm_pvm", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(kvm_kind_detect_in(root), KVM_KIND_PVM); /* the module decides */
	setenv("EMBER_KVM_KIND", "hw", 1);
	assert_int_equal(kvm_kind_detect_in(root), KVM_KIND_HW);
	setenv("EMBER_KVM_KIND", "pvm", 1);
	assert_int_equal(kvm_kind_detect_in(""), KVM_KIND_PVM);
	unsetenv("EMBER_KVM_KIND");
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		assert_int_equal(kvm_kind_detect(), KVM_KIND_PVM);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_hw),    cmocka_unit_test(test_baseline_pvm),
		cmocka_unit_test(test_host_untouched), cmocka_unit_test(test_topology),
		cmocka_unit_test(test_names),	       cmocka_unit_test(test_kind_detect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
