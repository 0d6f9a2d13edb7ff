/* SPDX-License-Identifier: Apache-2.0 */
/* Builders of synthetic PVH ELF images and bzImages for test_boot. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_fixtures.h"
#include "boot_internal.h"

/* The Xen PHYS32_ENTRY note: header, "Xen\0", then a 4- or 8-byte address. */
static size_t put_note(uint8_t *p, const struct fix_elf *e)
{
	Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = e->descsz, .n_type = 18};

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), "Xen", 4);
	memcpy(p + sizeof(nh) + 4, &e->entry, e->descsz);
	return sizeof(nh) + 4 + e->descsz;
}

static size_t data_size(const struct fix_elf *e)
{
	size_t n = 0;

	for (unsigned i = 0; i < e->nr_seg; i++)
		n += (e->seg[i].filesz + 0xfff) & ~0xfffull;
	return n;
}

static void put_phdrs(uint8_t *buf, const struct fix_elf *e, size_t note_len)
{
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + FIX_PHOFF);
	size_t off = FIX_DATAOFF;
	unsigned i;

	for (i = 0; i < e->nr_seg; i++) {
		const struct fix_seg *s = &e->seg[i];

		ph[i] = (Elf64_Phdr){.p_type = PT_LOAD,
				     .p_flags = PF_R | PF_X,
				     .p_offset = off,
				     .p_vaddr = 0xffffffff80000000ull + s->paddr,
				     .p_paddr = s->paddr,
				     .p_filesz = s->filesz,
				     .p_memsz = s->memsz,
				     .p_align = 0x1000};
		for (size_t j = 0; j < s->filesz; j++)
			buf[off + j] = fix_byte(s->seed, j);
		off += (s->filesz + 0xfff) & ~0xfffull;
	}
	if (e->note == NOTE_IN_PHDR)
		ph[i] = (Elf64_Phdr){.p_type = PT_NOTE,
				     .p_offset = FIX_NOTEOFF,
				     .p_filesz = note_len,
				     .p_memsz = note_len,
				     .p_align = 4};
}

uint8_t *fix_build_elf(const struct fix_elf *e, size_t *len)
{
	size_t shoff = FIX_DATAOFF + data_size(e), note_len = 0;
	uint8_t *buf = calloc(1, shoff + 2 * sizeof(Elf64_Shdr));
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Shdr *sh = (Elf64_Shdr *)(buf + shoff);

	if (!buf)
		abort();
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ull;
	eh->e_phoff = FIX_PHOFF;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = e->nr_seg + (e->note == NOTE_IN_PHDR);
	eh->e_shoff = shoff;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 2;
	if (e->note != NOTE_NONE)
		note_len = put_note(buf + FIX_NOTEOFF, e);
	put_phdrs(buf, e, note_len);
	/* Section 1 describes the notes too (the loader's fallback path). */
	sh[1] = (Elf64_Shdr){.sh_type = e->note == NOTE_NONE ? SHT_PROGBITS : SHT_NOTE,
			     .sh_offset = FIX_NOTEOFF,
			     .sh_size = note_len ? note_len : 4,
			     .sh_addralign = 4};
	*len = shoff + 2 * sizeof(Elf64_Shdr);
	return buf;
}

struct fix_bz fix_bz_default(void)
{
	return (struct fix_bz){
		.setup_sects = 4,
		.version = 0x020f,
		.xloadflags = BZ_XLF_KERNEL_64,
		.magic = BZ_HDRS_MAGIC,
		.boot_flag = BZ_BOOT_FLAG,
		.kernel_len = 0x5000,
		.pref_address = 0x1000000,
		.init_size = 0x800000,
		.seed = 0x5a,
	};
}

uint8_t *fix_build_bz(const struct fix_bz *b, size_t *len)
{
	size_t setup = ((size_t)(b->setup_sects ? b->setup_sects : 4) + 1) * 512;
	uint8_t *buf = calloc(1, setup + b->kernel_len);
	struct setup_header h = {
		.setup_sects = b->setup_sects,
		.syssize = (uint32_t)((b->kernel_len + 15) / 16 + b->syssize_extra),
		.boot_flag = b->boot_flag,
		.jump = 0x6aeb, /* "jmp +0x6a": the header ends at 0x26c */
		.header = b->magic,
		.version = b->version,
		.loadflags = BZ_LOADED_HIGH,
		.initrd_addr_max = 0x7fffffff,
		.kernel_alignment = 0x200000,
		.relocatable_kernel = 1,
		.xloadflags = b->xloadflags,
		.cmdline_size = 2047,
		.pref_address = b->pref_address,
		.init_size = b->init_size,
	};

	if (!buf)
		abort();
	memcpy(buf + BZ_SETUP_HDR_OFF, &h, sizeof(h));
	for (size_t i = 0; i < b->kernel_len; i++)
		buf[setup + i] = fix_byte(b->seed, i);
	*len = setup + b->kernel_len;
	return buf;
}

char *fix_write(const char *dir, const char *name, const void *buf, size_t len)
{
	char *path;
	int fd;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len))
		abort();
	close(fd);
	return path;
}
