// SPDX-License-Identifier: Apache-2.0
/* The MMIO and port-I/O buses: a sorted range table mapping guest addresses to handlers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

void bus_init(struct io_bus *b)
{
	memset(b, 0, sizeof(*b));
	pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct io_bus *b)
{
	free(b->r);
	pthread_rwlock_destroy(&b->lock);
	memset(b, 0, sizeof(*b));
}

/* Index of the first range whose base is above @addr (binary search). */
static size_t bus_upper(const struct io_bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->r[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The range containing @addr, or NULL. */
static const struct bus_range *bus_find(const struct io_bus *b, uint64_t addr)
{
	size_t i = bus_upper(b, addr);
	const struct bus_range *r;

	if (i == 0)
		return NULL;
	r = &b->r[i - 1];
	return addr - r->base < r->len ? r : NULL;
}

int bus_register(struct io_bus *b, uint64_t base, uint64_t len, io_handler_fn fn, void *opaque)
{
	size_t i;
	int err = 0;

	if (!len || !fn || base + len - 1 < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	i = bus_upper(b, base);
	/* Neighbours: the one before must end before base, the next start after. */
	if ((i > 0 && base - b->r[i - 1].base < b->r[i - 1].len) ||
	    (i < b->nr && b->r[i].base - base < len)) {
		err = -EEXIST;
		goto out;
	}
	if (b->nr == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct bus_range *r = realloc(b->r, cap * sizeof(*r));

		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		b->r = r;
		b->cap = cap;
	}
	memmove(&b->r[i + 1], &b->r[i], (b->nr - i) * sizeof(*b->r));
	b->r[i] = (struct bus_range){.base = base, .len = len, .fn = fn, .opaque = opaque};
	b->nr++;
out:
	pthread_rwlock_unlock(&b->lock);
	return err;
}

bool bus_access(struct io_bus *b, uint64_t addr, void *data, uint32_t len, bool is_write)
{
	const struct bus_range *r;
	io_handler_fn fn = NULL;
	void *opaque = NULL;
	uint64_t off = 0;

	if (len > 8)
		len = 8;
	pthread_rwlock_rdlock(&b->lock);
	r = bus_find(b, addr);
	/* An access straddling the end of a range is nobody's. */
	if (r && len && len <= r->len - (addr - r->base)) {
		fn = r->fn;
		opaque = r->opaque;
		off = addr - r->base;
	}
	pthread_rwlock_unlock(&b->lock);
	/* Ranges are never removed, so calling after unlocking is safe. */
	if (fn) {
		fn(opaque, off, data, len, is_write);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
