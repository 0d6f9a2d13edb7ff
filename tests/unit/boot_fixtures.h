/* SPDX-License-Identifier: Apache-2.0 */
/* Synthetic guest kernels for the boot tests: a PVH ELF and a bzImage header. */
#ifndef EMBER_TESTS_BOOT_FIXTURES_H
#define EMBER_TESTS_BOOT_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#define FIX_MAX_SEGS 4

/* Byte @i of a segment or kernel whose pattern seed is @seed. */
static inline uint8_t fix_byte(uint8_t seed, size_t i)
{
	return (uint8_t)(seed ^ (i * 7) ^ (i >> 8));
}

struct fix_seg {
	uint64_t paddr, filesz, memsz;
	uint8_t seed;
};

enum fix_note { NOTE_IN_PHDR, NOTE_IN_SECTION, NOTE_NONE };

struct fix_elf {
	struct fix_seg seg[FIX_MAX_SEGS];
	unsigned nr_seg;
	enum fix_note note;
	unsigned descsz; /* 4 or 8 */
	uint64_t entry;
};

/* File offsets of the ELF's parts (for corrupting and truncating). */
#define FIX_PHOFF   64u
#define FIX_NOTEOFF 0x200u
#define FIX_DATAOFF 0x1000u

/*
 * fix_build_elf() - write an x86-64 ET_EXEC image described by @e into a
 * new malloc()ed buffer; returns it and its length in @len. PT_LOAD headers
 * come first, in order, then the PT_NOTE (if NOTE_IN_PHDR); section
 * headers (null + SHT_NOTE) are at the very end of the file.
 */
uint8_t *fix_build_elf(const struct fix_elf *e, size_t *len);

struct fix_bz {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint32_t magic;
	uint16_t boot_flag;
	size_t kernel_len;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t syssize_extra; /* added to the true paragraph count */
	uint8_t seed;
};

/* fix_bz_default() - a valid 2.15 bzImage with a 0x5000-byte kernel. */
struct fix_bz fix_bz_default(void);

/* fix_build_bz() - as fix_build_elf() for a bzImage. */
uint8_t *fix_build_bz(const struct fix_bz *b, size_t *len);

/* fix_write() - write @len bytes to @dir/@name; returns the malloc()ed path. */
char *fix_write(const char *dir, const char *name, const void *buf, size_t len);

#endif
