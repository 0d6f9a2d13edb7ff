/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of boot_load(): PVH and bzImage loaders, refusals, MP table, BSP state. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot_fixtures.h"
#include "boot_internal.h"

#define MiB	(1ull << 20)
#define RAM	(64 * MiB)
#define CMDLINE "console=ttyS0 reboot=p quiet"

struct env {
	char dir[64];
	struct guest_mem m;
	char *initrd; /* 5000 bytes of pattern 0x33 */
	struct boot_spec spec;
	struct boot_info bi;
	char err[256];
};

static int setup(void **state)
{
	struct env *t = calloc(1, sizeof(*t));
	uint8_t rd[5000];

	strcpy(t->dir, "/tmp/ember-test-boot-XXXXXX");
	if (!mkdtemp(t->dir) || mem_init(&t->m, RAM))
		return -1;
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = fix_byte(0x33, i);
	t->initrd = fix_write(t->dir, "initrd", rd, sizeof(rd));
	t->spec = (struct boot_spec){.cmdline = CMDLINE, .nr_vcpus = 1};
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct env *t = *state;
	char cmd[128];

	mem_free(&t->m);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t->initrd);
	free(t);
	return 0;
}

/* Write @img as the kernel file and boot_load() it; returns its result. */
static int load_img(struct env *t, uint8_t *img, size_t len)
{
	char *k = fix_write(t->dir, "kernel", img, len);
	int ret;

	t->spec.kernel = k;
	ret = boot_load(&t->m, &t->spec, &t->bi, t->err, sizeof(t->err));
	t->spec.kernel = NULL;
	free(k);
	return ret;
}

static struct fix_elf good_elf(void)
{
	return (struct fix_elf){
		.seg = {{0x1000000, 0x2000, 0x3000, 0x11}, {0x1400000, 0x100, 0x100, 0x22}},
		.nr_seg = 2,
		.note = NOTE_IN_PHDR,
		.descsz = 8,
		.entry = 0x1000100,
	};
}

static int load_elf(struct env *t, const struct fix_elf *e)
{
	size_t len;
	uint8_t *img = fix_build_elf(e, &len);
	int ret = load_img(t, img, len);

	free(img);
	return ret;
}

static void *gp(struct env *t, uint64_t gpa, uint64_t len)
{
	void *p = gpa_ptr(&t->m, gpa, len);

	assert_non_null(p);
	return p;
}

static void check_pattern(struct env *t, uint64_t gpa, size_t len, uint8_t seed)
{
	const uint8_t *p = gp(t, gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != fix_byte(seed, i))
			fail_msg("byte %zu at 0x%llx differs", i, (unsigned long long)gpa);
}

/* The e820 map every 64 MiB guest gets, in either format. */
static void check_e820(const uint64_t (*got)[3], unsigned n, uint64_t ram)
{
	const uint64_t want[3][3] = {
		{0, BOOT_MPTABLE_ADDR, E820_RAM},
		{BOOT_MPTABLE_ADDR, 0x400, E820_RESERVED},
		{MiB, ram - MiB, E820_RAM},
	};

	assert_int_equal(n, 3);
	for (unsigned i = 0; i < 3; i++)
		for (unsigned j = 0; j < 3; j++)
			assert_int_equal(got[i][j], want[i][j]);
}

static void check_initrd(struct env *t, uint64_t gpa, uint64_t size, uint64_t kernel_end)
{
	assert_int_equal(size, 5000);
	assert_int_equal(gpa & 0xfff, 0);
	assert_true(gpa >= kernel_end);
	assert_true(gpa + size <= RAM);
	assert_true(gpa + size > RAM - 0x1000); /* at the top of low RAM */
	check_pattern(t, gpa, size, 0x33);
}

static void test_pvh_loads(void **state)
{
	struct env *t = *state;
	struct fix_elf e = good_elf();
	struct hvm_start_info *si;
	struct hvm_modlist_entry *mod;
	struct hvm_memmap_table_entry *mm;
	uint64_t got[8][3];

	memset(gp(t, 0x1002000, 0x1000), 0xcc, 0x1000); /* bss must come back zeroed */
	t->spec.initrd = t->initrd;
	assert_int_equal(load_elf(t, &e), 0);
	assert_int_equal(t->bi.kind, BOOT_PVH);
	assert_int_equal(t->bi.entry, 0x1000100);
	assert_int_equal(t->bi.start_info, PVH_START_INFO_ADDR);
	assert_int_equal(t->bi.gdt, BOOT_GDT_ADDR);
	check_pattern(t, 0x1000000, 0x2000, 0x11);
	check_pattern(t, 0x1400000, 0x100, 0x22);
	for (unsigned i = 0; i < 0x1000; i++)
		assert_int_equal(((uint8_t *)gp(t, 0x1002000, 0x1000))[i], 0);

	si = gp(t, t->bi.start_info, sizeof(*si));
	assert_int_equal(si->magic, XEN_HVM_START_MAGIC_VALUE);
	assert_int_equal(si->version, 1);
	assert_string_equal((char *)gp(t, si->cmdline_paddr, sizeof(CMDLINE)), CMDLINE);
	assert_int_equal(si->nr_modules, 1);
	mod = gp(t, si->modlist_paddr, sizeof(*mod));
	check_initrd(t, mod->paddr, mod->size, 0x1400100);
	mm = gp(t, si->memmap_paddr, si->memmap_entries * sizeof(*mm));
	for (unsigned i = 0; i < si->memmap_entries && i < 8; i++) {
		got[i][0] = mm[i].addr, got[i][1] = mm[i].size, got[i][2] = mm[i].type;
		assert_int_equal(mm[i].reserved, 0);
	}
	check_e820(got, si->memmap_entries, RAM);
	assert_memory_equal(gp(t, BOOT_MPTABLE_ADDR, 4), "_MP_", 4);
}

static void test_pvh_note_variants(void **state)
{
	struct env *t = *state;
	struct fix_elf e = good_elf();
	struct hvm_start_info *si;

	e.note = NOTE_IN_SECTION; /* found through SHT_NOTE */
	assert_int_equal(load_elf(t, &e), 0);
	assert_int_equal(t->bi.entry, 0x1000100);
	si = gp(t, t->bi.start_info, sizeof(*si));
	assert_int_equal(si->nr_modules, 0); /* no initrd asked for */
	e = good_elf();
	e.descsz = 4; /* Xen's 32-bit form */
	assert_int_equal(load_elf(t, &e), 0);
	assert_int_equal(t->bi.entry, 0x1000100);
}

static void test_pvh_missing_note(void **state)
{
	struct env *t = *state;
	struct fix_elf e = good_elf();

	e.note = NOTE_NONE;
	assert_int_equal(load_elf(t, &e), -ENOEXEC);
	assert_non_null(strstr(t->err, "PVH entry note"));
	e = good_elf();
	e.entry = 0x1300000; /* in no segment */
	assert_int_equal(load_elf(t, &e), -ENOEXEC);
	assert_non_null(strstr(t->err, "not in a loaded segment"));
}

static void test_pvh_truncated(void **state)
{
	struct env *t = *state;
	struct fix_elf e = good_elf();
	size_t len;
	uint8_t *img = fix_build_elf(&e, &len);
	const size_t cuts[] = {0,
			       3,
			       16,
			       63,
			       64,
			       FIX_PHOFF + 60,
			       FIX_NOTEOFF + 10,
			       FIX_DATAOFF + 0x100,
			       FIX_DATAOFF + 0x2000,
			       len - 1};

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		int ret = load_img(t, img, cuts[i]);

		if (ret != -ENOEXEC)
			fail_msg("cut at %zu: got %d (%s)", cuts[i], ret, t->err);
		assert_true(strlen(t->err) > 0);
	}
	free(img);
}

/* Build the good ELF, let @mutate corrupt its program headers, load it. */
static int load_corrupt(struct env *t, void (*mutate)(uint8_t *img, Elf64_Phdr *ph))
{
	struct fix_elf e = good_elf();
	size_t len;
	uint8_t *img = fix_build_elf(&e, &len);
	int ret;

	mutate(img, (Elf64_Phdr *)(img + FIX_PHOFF));
	ret = load_img(t, img, len);
	free(img);
	return ret;
}

static void beyond_file(uint8_t *img, Elf64_Phdr *ph)
{
	(void)img, ph[1].p_offset = 1ull << 40;
}
static void filesz_big(uint8_t *img, Elf64_Phdr *ph)
{
	(void)img, ph[0].p_filesz = 0x4000;
}
static void beyond_ram(uint8_t *img, Elf64_Phdr *ph)
{
	(void)img, ph[1].p_paddr = RAM - 0x80;
}
static void wraps(uint8_t *img, Elf64_Phdr *ph)
{
	(void)img, ph[1].p_paddr = UINT64_MAX - 0x10;
}
static void low_mem(uint8_t *img, Elf64_Phdr *ph)
{
	(void)img, ph[1].p_paddr = 0x2000;
}
static void huge_memsz(uint8_t *img, Elf64_Phdr *ph)
{
	(void)img, ph[1].p_memsz = UINT64_MAX;
}
static void off_wraps(uint8_t *img, Elf64_Phdr *ph)
{
	(void)img, ph[0].p_offset = UINT64_MAX - 8;
}
static void phoff_out(uint8_t *img, Elf64_Phdr *ph)
{
	(void)ph, ((Elf64_Ehdr *)img)->e_phoff = 1ull << 32;
}
static void phnum_big(uint8_t *img, Elf64_Phdr *ph)
{
	(void)ph, ((Elf64_Ehdr *)img)->e_phnum = 0xffff;
}
static void phent_bad(uint8_t *img, Elf64_Phdr *ph)
{
	(void)ph, ((Elf64_Ehdr *)img)->e_phentsize = 32;
}
static void machine(uint8_t *img, Elf64_Phdr *ph)
{
	(void)ph, ((Elf64_Ehdr *)img)->e_machine = EM_386;
}

static void test_pvh_corrupt(void **state)
{
	struct env *t = *state;

	assert_int_equal(load_corrupt(t, beyond_file), -ENOEXEC);
	assert_int_equal(load_corrupt(t, filesz_big), -ENOEXEC);
	assert_int_equal(load_corrupt(t, off_wraps), -ENOEXEC);
	assert_int_equal(load_corrupt(t, beyond_ram), -E2BIG);
	assert_non_null(strstr(t->err, "outside guest RAM"));
	assert_int_equal(load_corrupt(t, wraps), -E2BIG);
	assert_int_equal(load_corrupt(t, low_mem), -E2BIG);
	assert_int_equal(load_corrupt(t, huge_memsz), -E2BIG);
	assert_int_equal(load_corrupt(t, phoff_out), -ENOEXEC);
	assert_int_equal(load_corrupt(t, phnum_big), -ENOEXEC);
	assert_int_equal(load_corrupt(t, phent_bad), -ENOEXEC);
	assert_int_equal(load_corrupt(t, machine), -ENOEXEC);
}

static int load_bz(struct env *t, const struct fix_bz *b)
{
	size_t len;
	uint8_t *img = fix_build_bz(b, &len);
	int ret = load_img(t, img, len);

	free(img);
	return ret;
}

static void check_page_tables(struct env *t)
{
	const uint64_t *pml4 = gp(t, t->bi.pml4, 0x1000);
	const uint64_t *pdpt = gp(t, BOOT_PDPT_ADDR, 0x1000);
	const uint64_t *pd = gp(t, BOOT_PD_ADDR, 4 * 0x1000);

	assert_int_equal(pml4[0], BOOT_PDPT_ADDR | 3);
	assert_int_equal(pml4[1], 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(pdpt[i], (BOOT_PD_ADDR + i * 0x1000) | 3);
	assert_int_equal(pdpt[4], 0);
	assert_int_equal(pd[0], 0x83);
	assert_int_equal(pd[8], (8ull << 21) | 0x83); /* 16 MiB: the kernel */
	assert_int_equal(pd[2047], (2047ull << 21) | 0x83);
}

static void test_bz_loads(void **state)
{
	struct env *t = *state;
	struct fix_bz b = fix_bz_default();
	struct boot_params *bp;
	uint64_t got[8][3];
	const uint64_t *gdt;

	t->spec.initrd = t->initrd;
	assert_int_equal(load_bz(t, &b), 0);
	assert_int_equal(t->bi.kind, BOOT_BZIMAGE);
	assert_int_equal(t->bi.entry, 0x1000000 + 0x200);
	assert_int_equal(t->bi.start_info, BOOT_INFO_ADDR);
	assert_int_equal(t->bi.pml4, BOOT_PML4_ADDR);
	check_pattern(t, 0x1000000, b.kernel_len, b.seed);

	bp = gp(t, t->bi.start_info, sizeof(*bp));
	assert_int_equal(bp->hdr.header, BZ_HDRS_MAGIC);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & BZ_LOADED_HIGH);
	assert_int_equal(bp->hdr.code32_start, 0x1000000);
	assert_string_equal((char *)gp(t, bp->hdr.cmd_line_ptr, sizeof(CMDLINE)), CMDLINE);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	check_initrd(t, bp->hdr.ramdisk_image, bp->hdr.ramdisk_size, 0x1000000 + b.init_size);
	for (unsigned i = 0; i < bp->e820_entries && i < 8; i++)
		got[i][0] = bp->e820_table[i].addr, got[i][1] = bp->e820_table[i].size,
		got[i][2] = bp->e820_table[i].type;
	check_e820(got, bp->e820_entries, RAM);
	check_page_tables(t);

	gdt = gp(t, t->bi.gdt, BOOT_GDT_ENTRIES * 8);
	assert_int_equal(gdt[BOOT_SEL_CS64 / 8], 0x00af9b000000ffffull); /* L=1, flat */
	assert_int_equal(gdt[BOOT_SEL_DS / 8], 0x00cf93000000ffffull);
	assert_int_equal(gdt[BOOT_SEL_CS32 / 8], 0x00cf9b000000ffffull);
}

static void test_bz_refused(void **state)
{
	struct env *t = *state;
	struct fix_bz b;

	b = fix_bz_default(), b.boot_flag = 0x1234;
	assert_int_equal(load_bz(t, &b), -ENOEXEC);
	b = fix_bz_default(), b.magic = 0x12345678; /* then it is no bzImage at all */
	assert_int_equal(load_bz(t, &b), -ENOEXEC);
	assert_non_null(strstr(t->err, "neither"));
	b = fix_bz_default(), b.version = 0x0206;
	assert_int_equal(load_bz(t, &b), -ENOEXEC);
	assert_non_null(strstr(t->err, "2.12"));
	b = fix_bz_default(), b.xloadflags = 0;
	assert_int_equal(load_bz(t, &b), -ENOEXEC);
	assert_non_null(strstr(t->err, "64-bit"));
	b = fix_bz_default(), b.syssize_extra = 0x100; /* kernel part cut short */
	assert_int_equal(load_bz(t, &b), -ENOEXEC);
	assert_non_null(strstr(t->err, "truncated"));
	b = fix_bz_default(), b.init_size = 64 * MiB; /* needs more RAM than there is */
	assert_int_equal(load_bz(t, &b), -E2BIG);
}

static void test_bz_truncated_setup(void **state)
{
	struct env *t = *state;
	struct fix_bz b = fix_bz_default();
	size_t len;
	uint8_t *img = fix_build_bz(&b, &len);

	assert_int_equal(load_img(t, img, 0x240), -ENOEXEC); /* HdrS there, header cut */
	assert_non_null(strstr(t->err, "truncated setup header"));
	assert_int_equal(load_img(t, img, 5 * 512), -ENOEXEC); /* setup only, no kernel */
	img[BZ_SETUP_HDR_OFF] = 200; /* setup_sects: setup beyond the end of the file */
	assert_int_equal(load_img(t, img, len), -ENOEXEC);
	assert_non_null(strstr(t->err, "setup_sects"));
	free(img);
}

static void test_too_large(void **state)
{
	struct env *t = *state;
	struct fix_bz b = fix_bz_default();
	char *big = fix_write(t->dir, "big", "", 0);

	assert_int_equal(truncate(big, 60 * MiB), 0); /* sparse: kernel ends at 24 MiB */
	t->spec.initrd = big;
	assert_int_equal(load_bz(t, &b), -E2BIG);
	assert_non_null(strstr(t->err, "initrd"));
	t->spec.initrd = NULL;
	assert_int_equal(truncate(big, RAM + 1), 0);
	t->spec.kernel = big;
	assert_int_equal(boot_load(&t->m, &t->spec, &t->bi, t->err, sizeof(t->err)), -E2BIG);
	assert_non_null(strstr(t->err, "do not fit"));
	free(big);
}

static void test_missing_files(void **state)
{
	struct env *t = *state;
	struct fix_elf e = good_elf();
	char path[128];

	snprintf(path, sizeof(path), "%s/no-such-kernel", t->dir);
	t->spec.kernel = path;
	assert_int_equal(boot_load(&t->m, &t->spec, &t->bi, t->err, sizeof(t->err)), -ENOENT);
	assert_non_null(strstr(t->err, path));
	assert_non_null(strstr(t->err, "No such file"));
	snprintf(path, sizeof(path), "%s/no-such-initrd", t->dir);
	t->spec.initrd = path;
	assert_int_equal(load_elf(t, &e), -ENOENT);
	assert_non_null(strstr(t->err, "initrd"));
}

static void test_bad_spec(void **state)
{
	struct env *t = *state;
	struct fix_elf e = good_elf();
	char *longline = malloc(4000);

	t->spec.nr_vcpus = 0;
	assert_int_equal(load_elf(t, &e), -EINVAL);
	t->spec.nr_vcpus = BOOT_MAX_VCPUS + 1;
	assert_int_equal(load_elf(t, &e), -EINVAL);
	t->spec.nr_vcpus = 1;
	memset(longline, 'x', 3999);
	longline[3999] = '\0';
	t->spec.cmdline = longline;
	assert_int_equal(load_elf(t, &e), -E2BIG);
	assert_non_null(strstr(t->err, "command line"));
	t->spec.cmdline = NULL; /* means "" */
	assert_int_equal(load_elf(t, &e), 0);
	assert_string_equal((char *)gp(t, BOOT_CMDLINE_ADDR, 1), "");
	free(longline);
}

/* A guest above 3 GiB: RAM above 4 GiB in the map, initrd still below 3 GiB. */
static void test_high_memory(void **state)
{
	struct env *t = *state;
	struct fix_elf e = good_elf();
	struct guest_mem small = t->m;
	struct hvm_start_info *si;
	struct hvm_memmap_table_entry *mm;
	struct hvm_modlist_entry *mod;

	assert_int_equal(mem_init(&t->m, MEM_LOW_MAX + 64 * MiB), 0);
	t->spec.initrd = t->initrd;
	assert_int_equal(load_elf(t, &e), 0);
	si = gp(t, t->bi.start_info, sizeof(*si));
	assert_int_equal(si->memmap_entries, 4);
	mm = gp(t, si->memmap_paddr, 4 * sizeof(*mm));
	assert_int_equal(mm[2].addr + mm[2].size, MEM_LOW_MAX);
	assert_int_equal(mm[3].addr, MEM_HIGH_BASE);
	assert_int_equal(mm[3].size, 64 * MiB);
	mod = gp(t, si->modlist_paddr, sizeof(*mod));
	assert_true(mod->paddr + mod->size <= MEM_LOW_MAX);
	assert_true(mod->paddr + mod->size > MEM_LOW_MAX - 0x1000);
	mem_free(&t->m);
	t->m = small;
}

static void test_mptable(void **state)
{
	struct env *t = *state;
	const unsigned counts[] = {1, 2, 4, BOOT_MAX_VCPUS};

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		unsigned n = counts[k], cpus = 0, ints = 0, lints = 0, ioapics = 0;
		const uint8_t *mpf = gp(t, BOOT_MPTABLE_ADDR, 16), *mpc, *p;
		uint32_t physptr;
		uint16_t len, count;
		uint8_t sum = 0;

		assert_int_equal(mptable_write(&t->m, n), 0);
		assert_true(mptable_size(n) <= BOOT_MPTABLE_SIZE);
		for (unsigned i = 0; i < 16; i++)
			sum += mpf[i];
		assert_int_equal(sum, 0);
		assert_memory_equal(mpf, "_MP_", 4);
		assert_int_equal(mpf[8], 1); /* length in paragraphs */
		assert_int_equal(mpf[9], 4); /* spec 1.4 */
		memcpy(&physptr, mpf + 4, 4);
		mpc = gp(t, physptr, 44);
		memcpy(&len, mpc + 4, 2);
		memcpy(&count, mpc + 34, 2);
		mpc = gp(t, physptr, len);
		for (unsigned i = 0; i < len; i++)
			sum += mpc[i];
		assert_int_equal(sum, 0);
		assert_memory_equal(mpc, "PCMP", 4);
		assert_int_equal(count, n + 1 + 1 + 24 + 2);
		assert_int_equal(len, mptable_size(n) - 16);
		for (p = mpc + 44; p < mpc + len;) {
			switch (p[0]) {
			case 0: /* processor: APIC ID = index, BSP flag on CPU 0 only */
				assert_int_equal(p[1], cpus);
				assert_int_equal(p[3], cpus == 0 ? 3 : 1);
				cpus++, p += 20;
				break;
			case 2: /* IOAPIC */
				assert_int_equal(p[1], n);
				assert_int_equal(p[4] | p[5] << 8 | p[6] << 16 |
							 (uint32_t)p[7] << 24,
						 BOOT_IOAPIC_ADDR);
				ioapics++, p += 8;
				break;
			case 3: /* ISA IRQ i -> IOAPIC pin i, edge, active high */
				assert_int_equal(p[5], ints);
				assert_int_equal(p[7], ints);
				assert_int_equal(p[6], n);
				assert_int_equal(p[2], 0x5);
				ints++, p += 8;
				break;
			case 4:
				lints++, p += 8;
				break;
			default:
				p += 8; /* the bus */
			}
		}
		assert_int_equal(cpus, n);
		assert_int_equal(ioapics, 1);
		assert_int_equal(ints, 24);
		assert_int_equal(lints, 2);
	}
	assert_int_equal(mptable_write(&t->m, 0), -EINVAL);
	assert_int_equal(mptable_write(&t->m, BOOT_MAX_VCPUS + 1), -EINVAL);
}

static void test_sregs_regs(void **state)
{
	struct boot_info pvh = {
		.kind = BOOT_PVH, .entry = 0x1000100, .start_info = 0x2000, .gdt = BOOT_GDT_ADDR};
	struct boot_info bz = {.kind = BOOT_BZIMAGE,
			       .entry = 0x1000200,
			       .start_info = 0x2000,
			       .pml4 = 0x9000,
			       .gdt = BOOT_GDT_ADDR};
	struct kvm_sregs s;
	struct kvm_regs r;

	(void)state;
	memset(&s, 0xff, sizeof(s));
	boot_setup_sregs(&pvh, &s);
	assert_int_equal(s.cr0 & 0x80000001, 1); /* PE, no PG */
	assert_int_equal(s.cr4, 0);
	assert_int_equal(s.efer, 0);
	assert_int_equal(s.cs.l, 0);
	assert_int_equal(s.cs.db, 1);
	assert_int_equal(s.cs.base, 0);
	assert_int_equal(s.cs.limit, 0xffffffff);
	assert_int_equal(s.cs.type, 0xb);
	assert_int_equal(s.ds.type, 0x3);
	assert_int_equal(s.tr.limit, 0x67);
	assert_int_equal(s.gdt.base, BOOT_GDT_ADDR);
	memset(&r, 0xff, sizeof(r));
	boot_setup_regs(&pvh, &r);
	assert_int_equal(r.rip, 0x1000100);
	assert_int_equal(r.rbx, 0x2000);
	assert_int_equal(r.rflags, 2);

	boot_setup_sregs(&bz, &s);
	assert_int_equal(s.cr0 & 0x80000001, 0x80000001);
	assert_int_equal(s.cr4 & 0x20, 0x20);
	assert_int_equal(s.efer & 0x500, 0x500);
	assert_int_equal(s.cr3, 0x9000);
	assert_int_equal(s.cs.l, 1);
	assert_int_equal(s.cs.db, 0);
	assert_int_equal(s.cs.selector, 0x10);
	assert_int_equal(s.ds.selector, 0x18);
	assert_int_equal(s.ss.selector, 0x18);
	boot_setup_regs(&bz, &r);
	assert_int_equal(r.rip, 0x1000200);
	assert_int_equal(r.rsi, 0x2000);
	assert_int_equal(r.rbx, 0);
}

/* The kernels `make guest` builds, when they exist (never built here). */
static void test_real_kernels(void **state)
{
	struct env *t = *state;
	const char *paths[] = {"build/guest/vmlinux", "build/guest/bzImage"};
	const enum boot_kind kinds[] = {BOOT_PVH, BOOT_BZIMAGE};
	struct guest_mem small = t->m;
	unsigned found = 0;

	assert_int_equal(mem_init(&t->m, 256 * MiB), 0);
	for (unsigned i = 0; i < 2; i++) {
		if (access(paths[i], R_OK))
			continue;
		found++;
		t->spec.kernel = paths[i];
		t->spec.initrd = t->initrd;
		if (boot_load(&t->m, &t->spec, &t->bi, t->err, sizeof(t->err)))
			fail_msg("%s: %s", paths[i], t->err);
		assert_int_equal(t->bi.kind, kinds[i]);
		assert_true(t->bi.entry >= MiB && t->bi.entry < (1ull << 32));
	}
	mem_free(&t->m);
	t->m = small;
	t->spec.kernel = NULL;
	if (found)
		return;
	/* `make test` builds the guest first, so in CI a missing kernel is a
	 * broken build, not a reason to skip; by hand it may not be built yet. */
	if (getenv("EMBER_REQUIRE_KVM") && !strcmp(getenv("EMBER_REQUIRE_KVM"), "1"))
		fail_msg("build/guest/vmlinux and bzImage are missing (make guest)");
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pvh_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_note_variants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_missing_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bz_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bz_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bz_truncated_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_high_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mptable, setup, teardown),
		cmocka_unit_test(test_sregs_regs),
		cmocka_unit_test_setup_teardown(test_real_kernels, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
