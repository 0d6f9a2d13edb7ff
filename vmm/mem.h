/* SPDX-License-Identifier: Apache-2.0 */
/* Guest physical memory and the one bounds-checked accessor into it. */
#ifndef EMBER_VMM_MEM_H
#define EMBER_VMM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM is one host mapping split into at most two guest-physical
 * regions: [0, low_size) and, for guests larger than MEM_LOW_MAX, the rest
 * from MEM_HIGH_BASE up. The gap between them holds the MMIO devices.
 */
#define MEM_LOW_MAX   0xc0000000ull /* 3 GiB: devices live above */
#define MEM_HIGH_BASE 0x100000000ull
#define MEM_MAX_REGIONS 2

struct mem_region {
	uint64_t gpa;  /* guest-physical start */
	uint64_t size; /* bytes */
	uint8_t *host; /* host address of gpa */
};

struct guest_mem {
	uint8_t *base; /* the whole mapping (region 0 starts here) */
	uint64_t size; /* total RAM bytes */
	unsigned nr_regions;
	struct mem_region region[MEM_MAX_REGIONS];
};

/*
 * mem_init() - map @size bytes of anonymous guest RAM (MAP_NORESERVE) and lay
 * out the regions. Returns 0 on success, -errno otherwise.
 */
int mem_init(struct guest_mem *m, uint64_t size);

/*
 * mem_layout() - lay out regions over an existing mapping @base of @size bytes
 * (the unit tests and, later, restore from a mapped snapshot use it).
 */
void mem_layout(struct guest_mem *m, uint8_t *base, uint64_t size);

/* mem_free() - unmap guest RAM. */
void mem_free(struct guest_mem *m);

/*
 * gpa_ptr() - the only way from a guest-physical address to a host pointer.
 * Returns a pointer to @len bytes at @gpa if the whole range [gpa, gpa+len)
 * lies inside one RAM region, NULL otherwise (including on arithmetic
 * overflow and for len == 0 at an address outside RAM). Never trust a
 * guest-supplied address or length without it.
 */
void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* gpa_read()/gpa_write() - checked copies. Return 0, or -EFAULT if out of range. */
int gpa_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);
int gpa_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);

#endif
