/* SPDX-License-Identifier: Apache-2.0 */
/* bzImage boot: setup header checks, kernel placement, zero page, identity map. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"

#define BZ_HDR_END_MIN	  0x264u      /* through init_size (protocol 2.10) */
#define BZ_INITRD_MAX_DEF 0x37ffffffu /* protocols before 2.03 */
#define PTE_P		  (1ull << 0)
#define PTE_RW		  (1ull << 1)
#define PTE_PS		  (1ull << 7)

int bz_is_bzimage(const uint8_t *img, size_t len)
{
	uint32_t magic;

	if (len < 0x206)
		return 0;
	memcpy(&magic, img + 0x202, 4);
	return magic == BZ_HDRS_MAGIC;
}

/* End of the setup header in the file: 0x202 + the jump offset byte at 0x201. */
static size_t hdr_end(const uint8_t *img)
{
	return 0x202u + img[0x201];
}

static size_t setup_size(const struct setup_header *h)
{
	return ((size_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
}

/*
 * Load where the kernel will run anyway (pref_address, 16 MiB for a default
 * config): the decompressor then does not have to move itself up first,
 * which is slow when guest kernel code is emulated (kvm-pvm).
 */
static uint64_t load_addr(const struct setup_header *h, uint64_t low_end)
{
	if (h->pref_address >= BOOT_HIGH_MEM && h->pref_address < low_end)
		return h->pref_address;
	return BOOT_HIGH_MEM;
}

/* boot.rst: runtime_start = align_up(load, kernel_alignment) or pref_address. */
static uint64_t runtime_start(const struct setup_header *h, uint64_t load)
{
	uint64_t align = h->kernel_alignment, start = load;

	if (h->relocatable_kernel && align && !(align & (align - 1)))
		start = (load + align - 1) & ~(align - 1);
	/* The 64-bit entry never runs below LOAD_PHYSICAL_ADDR (= pref_address). */
	if (h->pref_address > start)
		start = h->pref_address;
	return start;
}

static int check_header(struct boot_ctx *c, const struct setup_header *h)
{
	const char *k = c->s->kernel;

	if (h->boot_flag != BZ_BOOT_FLAG)
		return boot_err(c, -ENOEXEC, "bzImage %s: bad boot flag 0x%x", k, h->boot_flag);
	if (h->version < BZ_MIN_VERSION)
		return boot_err(c, -ENOEXEC, "bzImage %s: boot protocol %u.%02u, ember needs 2.12+",
				k, h->version >> 8, h->version & 0xff);
	if (!(h->xloadflags & BZ_XLF_KERNEL_64))
		return boot_err(c, -ENOEXEC, "bzImage %s: no 64-bit entry point (XLF_KERNEL_64)",
				k);
	if (hdr_end(c->img) < BZ_HDR_END_MIN)
		return boot_err(c, -ENOEXEC, "bzImage %s: setup header too short", k);
	if (setup_size(h) >= c->img_len)
		return boot_err(c, -ENOEXEC,
				"bzImage %s: setup_sects %u leaves no kernel in a %zu-byte file", k,
				h->setup_sects, c->img_len);
	/* syssize counts 16-byte paragraphs of protected-mode code: truncation shows. */
	if ((uint64_t)h->syssize * 16 > c->img_len - setup_size(h) + 15)
		return boot_err(c, -ENOEXEC,
				"bzImage %s: truncated (%zu kernel bytes, header says %llu)", k,
				c->img_len - setup_size(h), (unsigned long long)h->syssize * 16);
	return 0;
}

int bz_load_kernel(struct boot_ctx *c, struct boot_info *bi)
{
	struct setup_header h;
	uint64_t load, size, end;

	if (c->img_len < BZ_SETUP_HDR_OFF + sizeof(h))
		return boot_err(c, -ENOEXEC, "bzImage %s: truncated setup header", c->s->kernel);
	memcpy(&h, c->img + BZ_SETUP_HDR_OFF, sizeof(h));
	if (check_header(c, &h))
		return -ENOEXEC;

	size = c->img_len - setup_size(&h);
	load = load_addr(&h, c->low_end);
	end = runtime_start(&h, load) + h.init_size;
	if (load + size > end)
		end = load + size;
	if (end > c->low_end)
		return boot_err(
			c, -E2BIG,
			"bzImage %s: the kernel needs RAM up to 0x%llx, guest RAM below the "
			"device gap ends at 0x%llx",
			c->s->kernel, (unsigned long long)end, (unsigned long long)c->low_end);
	if (gpa_write(c->m, load, c->img + setup_size(&h), size))
		return boot_err(c, -EFAULT, "bzImage %s: kernel outside guest RAM", c->s->kernel);

	c->kernel_end = end;
	c->initrd_max = h.initrd_addr_max ? h.initrd_addr_max : BZ_INITRD_MAX_DEF;
	c->cmdline_max =
		h.cmdline_size + 1 < BOOT_CMDLINE_MAX ? h.cmdline_size + 1 : BOOT_CMDLINE_MAX;
	bi->entry = load + BZ_ENTRY64_OFF;
	return 0;
}

/* Identity map of the first 4 GiB with 2 MiB pages: PML4 -> 1 PDPT -> 4 PDs. */
static int write_page_tables(struct boot_ctx *c)
{
	uint64_t *pml4 = gpa_ptr(c->m, BOOT_PML4_ADDR, 0x1000);
	uint64_t *pdpt = gpa_ptr(c->m, BOOT_PDPT_ADDR, 0x1000);
	uint64_t *pd = gpa_ptr(c->m, BOOT_PD_ADDR, BOOT_PD_COUNT * 0x1000ull);

	if (!pml4 || !pdpt || !pd)
		return boot_err(c, -EFAULT, "guest RAM too small for the boot page tables");
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	for (unsigned i = 0; i < BOOT_PD_COUNT; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 0x1000ull) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < BOOT_PD_COUNT * 512ull; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

int bz_write_params(struct boot_ctx *c, struct boot_info *bi)
{
	struct boot_params bp;
	size_t hlen = hdr_end(c->img) - BZ_SETUP_HDR_OFF;

	/* A clean zero page with only the image's setup header copied in (boot.rst). */
	memset(&bp, 0, sizeof(bp));
	memcpy(&bp.hdr, c->img + BZ_SETUP_HDR_OFF, hlen < sizeof(bp.hdr) ? hlen : sizeof(bp.hdr));
	bp.hdr.type_of_loader = BZ_LOADER_UNKNOWN;
	bp.hdr.loadflags |= BZ_LOADED_HIGH;
	bp.hdr.code32_start = (uint32_t)(bi->entry - BZ_ENTRY64_OFF);
	bp.hdr.cmd_line_ptr = BOOT_CMDLINE_ADDR;
	/* The initrd sits below initrd_addr_max (< 4 GiB): no ext_ fields needed. */
	bp.hdr.ramdisk_image = (uint32_t)c->initrd_gpa;
	bp.hdr.ramdisk_size = (uint32_t)c->initrd_size;
	bp.e820_entries = c->nr_e820;
	memcpy(bp.e820_table, c->e820, c->nr_e820 * sizeof(c->e820[0]));
	if (gpa_write(c->m, BOOT_INFO_ADDR, &bp, sizeof(bp)))
		return boot_err(c, -EFAULT, "guest RAM too small for the zero page");
	bi->start_info = BOOT_INFO_ADDR;
	bi->pml4 = BOOT_PML4_ADDR;
	return write_page_tables(c);
}
