// SPDX-License-Identifier: Apache-2.0
/* Guest RAM mapping and the bounds-checked guest-physical accessor. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

void mem_layout(struct guest_mem *m, uint8_t *base, uint64_t size)
{
	uint64_t low = size < MEM_LOW_MAX ? size : MEM_LOW_MAX;

	memset(m, 0, sizeof(*m));
	m->base = base;
	m->size = size;
	m->region[0] = (struct mem_region){ .gpa = 0, .size = low, .host = base };
	m->nr_regions = 1;
	if (size > low) {
		m->region[1] = (struct mem_region){
			.gpa = MEM_HIGH_BASE, .size = size - low, .host = base + low
		};
		m->nr_regions = 2;
	}
}

int mem_init(struct guest_mem *m, uint64_t size)
{
	void *p;

	if (size == 0)
		return -EINVAL;
	/* NORESERVE: a guest only costs the pages it touches. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	mem_layout(m, p, size);
	return 0;
}

void mem_free(struct guest_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	memset(m, 0, sizeof(*m));
}

void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->region[i];

		/* Written so that no sum can overflow: gpa >= r->gpa first. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gpa_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gpa_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gpa_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gpa_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}
