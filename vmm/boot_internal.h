/* SPDX-License-Identifier: Apache-2.0 */
/* Guest boot internals: memory layout, boot ABI structures, loader steps. */
#ifndef EMBER_VMM_BOOT_INTERNAL_H
#define EMBER_VMM_BOOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "boot.h"

/*
 * Guest-physical layout below 1 MiB (docs/vmm-boot.md has the whole map).
 * Everything the loader writes lives here, apart from the kernel (>= 1 MiB)
 * and the initrd (top of low RAM), so no image can overlap it.
 */
#define BOOT_GDT_ADDR	  0x1000ull /* boot GDT (both kinds) */
#define BOOT_INFO_ADDR	  0x2000ull /* boot_params, or hvm_start_info + tables */
#define BOOT_STACK_TOP	  0x8ff0ull /* rsp at entry; kernels set their own */
#define BOOT_PML4_ADDR	  0x9000ull /* bzImage identity map: PML4 */
#define BOOT_PDPT_ADDR	  0xa000ull /*   one PDPT */
#define BOOT_PD_ADDR	  0xb000ull /*   four PDs of 2 MiB pages = 4 GiB */
#define BOOT_PD_COUNT	  4u
#define BOOT_CMDLINE_ADDR 0x20000ull  /* NUL-terminated command line */
#define BOOT_CMDLINE_MAX  2048u	      /* Linux x86 COMMAND_LINE_SIZE, with NUL */
#define BOOT_MPTABLE_ADDR 0x9fc00ull  /* 639 KiB: scanned by Linux, EBDA-like */
#define BOOT_MPTABLE_SIZE 0x400ull    /* up to the 640 KiB hole */
#define BOOT_HIGH_MEM	  0x100000ull /* 1 MiB: lowest kernel address */
#define BOOT_ISA_HOLE_END 0x100000ull

/* GDT selectors; 0x10/0x18 are what the 64-bit boot protocol asks for. */
#define BOOT_SEL_CS32	 0x08
#define BOOT_SEL_CS64	 0x10
#define BOOT_SEL_DS	 0x18
#define BOOT_SEL_TSS	 0x20
#define BOOT_GDT_ENTRIES 5

/* Local APIC and IOAPIC, as the VM core maps them (in-kernel irqchip). */
#define BOOT_LAPIC_ADDR	 0xfee00000u
#define BOOT_IOAPIC_ADDR 0xfec00000u
#define BOOT_IOAPIC_PINS 24u

/* Largest vCPU count whose MP table fits in BOOT_MPTABLE_SIZE. */
#define BOOT_MAX_VCPUS 32u

/* e820 types (the same numbers as the PVH memmap types). */
#define E820_RAM      1u
#define E820_RESERVED 2u
#define BOOT_E820_MAX 8u

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "boot protocol e820 entry");

/* --- PVH: Xen's hvm_start_info ABI (include/xen/interface/hvm/start_info.h) --- */
#define XEN_ELFNOTE_PHYS32_ENTRY  18u
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version; /* 1: memmap_paddr/memmap_entries are valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry");

/* Where the PVH structures go inside the BOOT_INFO_ADDR page. */
#define PVH_START_INFO_ADDR BOOT_INFO_ADDR
#define PVH_MODLIST_ADDR    (BOOT_INFO_ADDR + 0x100)
#define PVH_MEMMAP_ADDR	    (BOOT_INFO_ADDR + 0x200)

/* --- bzImage: the x86 boot protocol (Documentation/x86/boot.rst) --- */
#define BZ_SETUP_HDR_OFF  0x1f1u
#define BZ_HDRS_MAGIC	  0x53726448u /* "HdrS" at 0x202 */
#define BZ_BOOT_FLAG	  0xaa55u
#define BZ_MIN_VERSION	  0x020cu /* 2.12: xloadflags (XLF_KERNEL_64) */
#define BZ_XLF_KERNEL_64  (1u << 0)
#define BZ_LOADED_HIGH	  (1u << 0)
#define BZ_LOADER_UNKNOWN 0xffu
#define BZ_ENTRY64_OFF	  0x200u

struct setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));
_Static_assert(sizeof(struct setup_header) == 0x26c - 0x1f1, "setup_header");

/* The zero page: only the fields ember fills are named. */
struct boot_params {
	uint8_t _pad0[0xc0];
	uint32_t ext_ramdisk_image; /* 0x0c0 */
	uint32_t ext_ramdisk_size;  /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;  /* 0x0c8 */
	uint8_t _pad1[0x1e8 - 0xcc];
	uint8_t e820_entries; /* 0x1e8 */
	uint8_t _pad2[0x1f1 - 0x1e9];
	struct setup_header hdr; /* 0x1f1 */
	uint8_t _pad3[0x2d0 - 0x26c];
	struct e820_entry e820_table[128]; /* 0x2d0 */
	uint8_t _pad4[0x1000 - 0xcd0];
} __attribute__((packed));
_Static_assert(sizeof(struct boot_params) == 4096, "zero page");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "zero page hdr");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "zero page e820");

/* --- What the loader steps share --- */
struct boot_ctx {
	struct guest_mem *m;
	const struct boot_spec *s;
	const uint8_t *img; /* the kernel file */
	size_t img_len;
	uint64_t low_end;    /* end of guest RAM below 4 GiB */
	uint64_t kernel_end; /* first byte above everything the kernel needs */
	uint64_t initrd_max; /* highest legal initrd byte (bzImage limit) */
	uint64_t initrd_gpa, initrd_size;
	uint32_t cmdline_max; /* bytes including the NUL */
	uint32_t cmdline_len; /* without the NUL */
	struct e820_entry e820[BOOT_E820_MAX];
	unsigned nr_e820;
	char *err;
	size_t errlen;
};

/* boot_err() - format a one-line reason into c->err and return @ret. */
int boot_err(struct boot_ctx *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * pvh_load_kernel()/bz_load_kernel() - check the image in c->img and copy the
 * kernel into guest RAM; set c->kernel_end (and the bzImage limits). Return
 * 0 or -errno with c->err filled.
 */
int pvh_load_kernel(struct boot_ctx *c, struct boot_info *bi);
int bz_load_kernel(struct boot_ctx *c, struct boot_info *bi);

/*
 * pvh_write_info()/bz_write_params() - once the initrd, command line and
 * e820 map are placed, write hvm_start_info or the zero page (and, for
 * bzImage, the identity page tables). Return 0 or -errno.
 */
int pvh_write_info(struct boot_ctx *c, struct boot_info *bi);
int bz_write_params(struct boot_ctx *c, struct boot_info *bi);

/* bz_is_bzimage() - does @img look like a bzImage ("HdrS" at 0x202)? */
int bz_is_bzimage(const uint8_t *img, size_t len);

/*
 * mptable_write() - write the Intel MP floating pointer and configuration
 * table for @nr_vcpus CPUs at BOOT_MPTABLE_ADDR. Returns 0, -EINVAL for a
 * vCPU count outside 1..BOOT_MAX_VCPUS, -EFAULT if RAM does not hold it.
 */
int mptable_write(struct guest_mem *m, unsigned nr_vcpus);

/* mptable_size() - bytes the MP structures take for @nr_vcpus CPUs. */
size_t mptable_size(unsigned nr_vcpus);

#endif
