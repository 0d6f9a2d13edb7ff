/* SPDX-License-Identifier: Apache-2.0 */
/* PVH boot: load an ELF vmlinux by its PT_LOAD segments, write hvm_start_info. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "boot_internal.h"

/*
 * libelf trusts the header's table offsets more than we want to (it quietly
 * shortens a program header table that runs past the end of the file), so
 * the tables are checked against the real file length first.
 */
static int check_tables(struct boot_ctx *c, const GElf_Ehdr *eh)
{
	uint64_t len = c->img_len;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
		return boot_err(c, -ENOEXEC, "kernel %s: not an x86-64 executable ELF",
				c->s->kernel);
	if (eh->e_phnum == 0 || eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * eh->e_phentsize > len - eh->e_phoff)
		return boot_err(c, -ENOEXEC, "kernel %s: program headers outside the file",
				c->s->kernel);
	if (eh->e_shoff &&
	    (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > len ||
	     (uint64_t)(eh->e_shnum ? eh->e_shnum : 1) * eh->e_shentsize > len - eh->e_shoff))
		return boot_err(c, -ENOEXEC,
				"kernel %s: section headers outside the file (truncated?)",
				c->s->kernel);
	return 0;
}

/* Copy one PT_LOAD segment to its physical address; zero its bss part. */
static int load_segment(struct boot_ctx *c, const GElf_Phdr *ph, unsigned idx)
{
	uint8_t *dst;

	if (ph->p_filesz > ph->p_memsz || ph->p_offset > c->img_len ||
	    ph->p_filesz > c->img_len - ph->p_offset)
		return boot_err(c, -ENOEXEC,
				"kernel %s: segment %u is corrupt (data outside the file)",
				c->s->kernel, idx);
	/* Below 1 MiB live the boot structures; the kernel stays in low RAM. */
	if (ph->p_paddr < BOOT_HIGH_MEM || ph->p_paddr > c->low_end ||
	    ph->p_memsz > c->low_end - ph->p_paddr)
		return boot_err(c, -E2BIG,
				"kernel %s: segment %u [0x%llx, +0x%llx) is outside guest RAM "
				"[0x%llx, 0x%llx)",
				c->s->kernel, idx, (unsigned long long)ph->p_paddr,
				(unsigned long long)ph->p_memsz, (unsigned long long)BOOT_HIGH_MEM,
				(unsigned long long)c->low_end);
	dst = gpa_ptr(c->m, ph->p_paddr, ph->p_memsz);
	if (!dst)
		return boot_err(c, -E2BIG, "kernel %s: segment %u is outside guest RAM",
				c->s->kernel, idx);
	memcpy(dst, c->img + ph->p_offset, ph->p_filesz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	if (ph->p_paddr + ph->p_memsz > c->kernel_end)
		c->kernel_end = ph->p_paddr + ph->p_memsz;
	return 0;
}

/* Look for the Xen PHYS32_ENTRY note in one block of notes. */
static int find_note(Elf_Data *d, uint64_t *entry)
{
	GElf_Nhdr nh;
	size_t off = 0, next, name_off, desc_off;
	const uint8_t *p;

	if (!d)
		return 0;
	p = d->d_buf;
	while (off < d->d_size && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(p + name_off, "Xen", 4)) {
			uint32_t e32;

			/* Linux emits a .quad (_ASM_PTR) on x86-64; Xen's ABI says 32 bits. */
			if (nh.n_descsz == 8) {
				memcpy(entry, p + desc_off, 8);
				return 1;
			}
			if (nh.n_descsz == 4) {
				memcpy(&e32, p + desc_off, 4);
				*entry = e32;
				return 1;
			}
			return -1;
		}
		off = next;
	}
	return 0;
}

/* The note is in a PT_NOTE segment in every vmlinux; sections are a fallback. */
static int find_entry(struct boot_ctx *c, Elf *elf, size_t phnum, uint64_t *entry)
{
	Elf_Scn *scn = NULL;
	GElf_Phdr ph;
	GElf_Shdr sh;
	int found = 0;

	for (size_t i = 0; i < phnum && !found; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_NOTE)
			continue;
		found = find_note(elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz,
						       ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR),
				  entry);
	}
	while (!found && (scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE)
			found = find_note(elf_getdata(scn, NULL), entry);
	}
	if (found < 0)
		return boot_err(c, -ENOEXEC, "kernel %s: malformed PVH entry note", c->s->kernel);
	if (!found)
		return boot_err(
			c, -ENOEXEC,
			"kernel %s: ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
			"build with CONFIG_PVH=y or boot the bzImage",
			c->s->kernel);
	return 0;
}

/* The entry is a 32-bit physical address that must land in loaded code. */
static int check_entry(struct boot_ctx *c, Elf *elf, size_t phnum, uint64_t entry)
{
	GElf_Phdr ph;

	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_filesz && entry < (1ull << 32))
			return 0;
	}
	return boot_err(c, -ENOEXEC, "kernel %s: PVH entry 0x%llx is not in a loaded segment",
			c->s->kernel, (unsigned long long)entry);
}

static int load_segments(struct boot_ctx *c, Elf *elf, size_t phnum)
{
	unsigned loaded = 0;
	GElf_Phdr ph;
	int ret;

	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &ph))
			return boot_err(c, -ENOEXEC, "kernel %s: program header %zu: %s",
					c->s->kernel, i, elf_errmsg(-1));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		ret = load_segment(c, &ph, i);
		if (ret)
			return ret;
		loaded++;
	}
	if (!loaded)
		return boot_err(c, -ENOEXEC, "kernel %s: no loadable segment", c->s->kernel);
	return 0;
}

int pvh_load_kernel(struct boot_ctx *c, struct boot_info *bi)
{
	uint64_t entry = 0;
	GElf_Ehdr eh;
	size_t phnum;
	Elf *elf;
	int ret;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return boot_err(c, -ENOSYS, "libelf: %s", elf_errmsg(-1));
	/* libelf wants a non-const buffer; it only reads ours (native byte order). */
	elf = elf_memory((char *)c->img, c->img_len);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		ret = boot_err(c, -ENOEXEC, "kernel %s: not a valid ELF file (truncated?)",
			       c->s->kernel);
		goto out;
	}
	ret = check_tables(c, &eh);
	if (ret)
		goto out;
	if (elf_getphdrnum(elf, &phnum) || phnum != eh.e_phnum) {
		ret = boot_err(c, -ENOEXEC, "kernel %s: bad program header table", c->s->kernel);
		goto out;
	}
	ret = find_entry(c, elf, phnum, &entry);
	if (ret)
		goto out;
	ret = load_segments(c, elf, phnum);
	if (ret)
		goto out;
	ret = check_entry(c, elf, phnum, entry);
	if (ret)
		goto out;
	bi->entry = entry;
out:
	if (elf)
		elf_end(elf);
	return ret;
}

int pvh_write_info(struct boot_ctx *c, struct boot_info *bi)
{
	struct hvm_memmap_table_entry mm[BOOT_E820_MAX];
	struct hvm_start_info si = {
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = 1, /* Linux needs v1: it takes the memory map only from there */
		.cmdline_paddr = BOOT_CMDLINE_ADDR,
		.memmap_paddr = PVH_MEMMAP_ADDR,
		.memmap_entries = c->nr_e820,
	};
	struct hvm_modlist_entry mod = {
		.paddr = c->initrd_gpa,
		.size = c->initrd_size,
	};

	_Static_assert(PVH_MODLIST_ADDR >= PVH_START_INFO_ADDR + sizeof(si), "layout");
	_Static_assert(PVH_MEMMAP_ADDR + sizeof(mm) <= BOOT_INFO_ADDR + 0x1000, "layout");
	for (unsigned i = 0; i < c->nr_e820; i++)
		mm[i] = (struct hvm_memmap_table_entry){
			.addr = c->e820[i].addr, .size = c->e820[i].size, .type = c->e820[i].type};
	if (c->initrd_size) {
		/* Linux takes the first module as its initrd. */
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
		if (gpa_write(c->m, PVH_MODLIST_ADDR, &mod, sizeof(mod)))
			return boot_err(c, -EFAULT, "guest RAM too small for the PVH module list");
	}
	if (gpa_write(c->m, PVH_MEMMAP_ADDR, mm, c->nr_e820 * sizeof(mm[0])) ||
	    gpa_write(c->m, PVH_START_INFO_ADDR, &si, sizeof(si)))
		return boot_err(c, -EFAULT, "guest RAM too small for hvm_start_info");
	bi->start_info = PVH_START_INFO_ADDR;
	bi->pml4 = 0;
	return 0;
}
