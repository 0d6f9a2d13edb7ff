/* SPDX-License-Identifier: Apache-2.0 */
/* boot_load(): read the images, place initrd and command line, e820, BSP state. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_internal.h"

#define PAGE_SIZE 0x1000ull

int boot_err(struct boot_ctx *c, int ret, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Open @path for reading and learn its size, refusing anything above @max. */
static int open_sized(struct boot_ctx *c, const char *what, const char *path, uint64_t max, int *fd,
		      uint64_t *size)
{
	struct stat st;
	int ret;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		ret = -errno;
		return boot_err(c, ret, "%s %s: %s", what, path, strerror(-ret));
	}
	if (fstat(*fd, &st) < 0) {
		ret = -errno;
		close(*fd);
		return boot_err(c, ret, "%s %s: %s", what, path, strerror(-ret));
	}
	if (!S_ISREG(st.st_mode)) {
		close(*fd);
		return boot_err(c, -EINVAL, "%s %s: not a regular file", what, path);
	}
	if ((uint64_t)st.st_size > max) {
		close(*fd);
		return boot_err(c, -E2BIG, "%s %s: %lld bytes do not fit in guest RAM", what, path,
				(long long)st.st_size);
	}
	*size = st.st_size;
	return 0;
}

/* Read exactly @len bytes of @fd into @dst (a file shorter than fstat said fails). */
static int read_all(int fd, void *dst, uint64_t len)
{
	uint8_t *p = dst;

	while (len) {
		ssize_t n = read(fd, p, len > (1u << 30) ? (1u << 30) : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

static int read_kernel(struct boot_ctx *c, uint8_t **buf, size_t *len)
{
	uint64_t size;
	int fd, ret;

	ret = open_sized(c, "kernel", c->s->kernel, c->low_end, &fd, &size);
	if (ret)
		return ret;
	*buf = malloc(size ? size : 1);
	if (!*buf) {
		ret = boot_err(c, -ENOMEM, "kernel %s: out of memory", c->s->kernel);
		goto out;
	}
	ret = read_all(fd, *buf, size);
	if (ret) {
		free(*buf);
		*buf = NULL;
		ret = boot_err(c, ret, "kernel %s: read: %s", c->s->kernel, strerror(-ret));
		goto out;
	}
	*len = size;
out:
	close(fd);
	return ret;
}

/*
 * The initrd goes at the top of low RAM, page aligned, below the kernel's
 * limit: Linux leaves it there, and the kernel's decompression buffer grows
 * upwards from its load address, so the two are as far apart as possible.
 * It is read straight into guest RAM (no second copy of a large file).
 */
static int load_initrd(struct boot_ctx *c)
{
	uint64_t size, top, gpa;
	int fd, ret;
	void *dst;

	if (!c->s->initrd)
		return 0;
	ret = open_sized(c, "initrd", c->s->initrd, c->low_end, &fd, &size);
	if (ret)
		return ret;
	top = c->low_end < c->initrd_max + 1 ? c->low_end : c->initrd_max + 1;
	gpa = size <= top ? (top - size) & ~(PAGE_SIZE - 1) : 0;
	if (size > top || gpa < c->kernel_end) {
		ret = boot_err(
			c, -E2BIG,
			"initrd %s: %llu bytes do not fit between the kernel (ends at 0x%llx) "
			"and 0x%llx",
			c->s->initrd, (unsigned long long)size, (unsigned long long)c->kernel_end,
			(unsigned long long)top);
		goto out;
	}
	dst = gpa_ptr(c->m, gpa, size);
	if (!dst) {
		ret = boot_err(c, -EFAULT, "initrd %s: 0x%llx is outside guest RAM", c->s->initrd,
			       (unsigned long long)gpa);
		goto out;
	}
	ret = read_all(fd, dst, size);
	if (ret) {
		ret = boot_err(c, ret, "initrd %s: read: %s", c->s->initrd, strerror(-ret));
		goto out;
	}
	c->initrd_gpa = gpa;
	c->initrd_size = size;
out:
	close(fd);
	return ret;
}

static int write_cmdline(struct boot_ctx *c)
{
	const char *cl = c->s->cmdline ? c->s->cmdline : "";
	size_t len = strlen(cl);

	if (len + 1 > c->cmdline_max)
		return boot_err(c, -E2BIG, "kernel command line: %zu bytes, the kernel takes %u",
				len, c->cmdline_max - 1);
	if (gpa_write(c->m, BOOT_CMDLINE_ADDR, cl, len + 1))
		return boot_err(c, -EFAULT, "guest RAM too small for the command line");
	c->cmdline_len = len;
	return 0;
}

static void e820_add(struct boot_ctx *c, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size && c->nr_e820 < BOOT_E820_MAX)
		c->e820[c->nr_e820++] = (struct e820_entry){addr, size, type};
}

/*
 * RAM below the EBDA-like MP area, the MP area itself, a hole for the ISA
 * window (VGA/BIOS: Linux reserves it on its own), RAM from 1 MiB to the
 * device gap, RAM above 4 GiB. Devices (virtio-mmio, IOAPIC, LAPIC) sit in
 * the gap and are not listed, as on a PC without ACPI.
 */
static void build_e820(struct boot_ctx *c)
{
	const struct guest_mem *m = c->m;

	c->nr_e820 = 0;
	e820_add(c, 0, BOOT_MPTABLE_ADDR, E820_RAM);
	e820_add(c, BOOT_MPTABLE_ADDR, BOOT_MPTABLE_SIZE, E820_RESERVED);
	e820_add(c, BOOT_HIGH_MEM, c->low_end - BOOT_HIGH_MEM, E820_RAM);
	for (unsigned i = 1; i < m->nr_regions; i++)
		e820_add(c, m->region[i].gpa, m->region[i].size, E820_RAM);
}

/* Flat descriptors: base 0, limit 4 GiB, granularity 4 KiB. */
#define GDT_ENTRY(flags, base, limit)                                                              \
	((((base)&0xff000000ull) << 32) | (((uint64_t)(flags)&0xf0ffull) << 40) |                  \
	 (((limit)&0xf0000ull) << 32) | (((base)&0x00ffffffull) << 16) | ((limit)&0xffffull))

static int write_gdt(struct boot_ctx *c, struct boot_info *bi)
{
	const uint64_t gdt[BOOT_GDT_ENTRIES] = {
		[0] = 0,
		[BOOT_SEL_CS32 / 8] = GDT_ENTRY(0xc09b, 0, 0xfffff), /* 32-bit code, PVH */
		[BOOT_SEL_CS64 / 8] = GDT_ENTRY(0xa09b, 0, 0xfffff), /* 64-bit code (L) */
		[BOOT_SEL_DS / 8] = GDT_ENTRY(0xc093, 0, 0xfffff),   /* data, read/write */
		[BOOT_SEL_TSS / 8] = GDT_ENTRY(0x008b, 0, 0x67),     /* busy 32-bit TSS */
	};

	if (gpa_write(c->m, BOOT_GDT_ADDR, gdt, sizeof(gdt)))
		return boot_err(c, -EFAULT, "guest RAM too small for the boot GDT");
	bi->gdt = BOOT_GDT_ADDR;
	return 0;
}

static int check_spec(struct boot_ctx *c)
{
	const struct boot_spec *s = c->s;

	if (!s->kernel)
		return boot_err(c, -EINVAL, "no kernel given");
	if (s->nr_vcpus < 1 || s->nr_vcpus > BOOT_MAX_VCPUS)
		return boot_err(c, -EINVAL, "%u vCPUs: the MP table takes 1 to %u", s->nr_vcpus,
				BOOT_MAX_VCPUS);
	/* Room for the boot structures below 1 MiB and a kernel above it. */
	if (c->m->nr_regions < 1 || c->m->region[0].gpa != 0 ||
	    c->low_end < BOOT_HIGH_MEM + 2 * PAGE_SIZE)
		return boot_err(c, -E2BIG, "guest RAM too small (%llu bytes)",
				(unsigned long long)c->m->size);
	return 0;
}

int boot_load(struct guest_mem *m, const struct boot_spec *s, struct boot_info *bi, char *err,
	      size_t errlen)
{
	struct boot_ctx c = {.m = m, .s = s, .err = err, .errlen = errlen};
	uint8_t *img = NULL;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	memset(bi, 0, sizeof(*bi));
	c.low_end = m->nr_regions ? m->region[0].size : 0;
	c.initrd_max = UINT64_MAX - 1;
	c.cmdline_max = BOOT_CMDLINE_MAX;
	ret = check_spec(&c);
	if (ret)
		return ret;
	ret = read_kernel(&c, &img, &c.img_len);
	if (ret)
		return ret;
	c.img = img;
	/* The boot structures below 1 MiB start from zeroes, as on a fresh guest. */
	memset(gpa_ptr(m, 0, BOOT_HIGH_MEM), 0, BOOT_HIGH_MEM);

	if (c.img_len >= 4 && !memcmp(img, "\177ELF", 4)) {
		bi->kind = BOOT_PVH;
		ret = pvh_load_kernel(&c, bi);
	} else if (bz_is_bzimage(img, c.img_len)) {
		bi->kind = BOOT_BZIMAGE;
		ret = bz_load_kernel(&c, bi);
	} else {
		ret = boot_err(&c, -ENOEXEC, "kernel %s: neither an ELF vmlinux nor a bzImage",
			       s->kernel);
	}
	if (ret)
		goto out;
	ret = load_initrd(&c);
	if (ret)
		goto out;
	ret = write_cmdline(&c);
	if (ret)
		goto out;
	build_e820(&c);
	ret = mptable_write(m, s->nr_vcpus);
	if (ret) {
		ret = boot_err(&c, ret, "cannot write the MP table");
		goto out;
	}
	ret = write_gdt(&c, bi);
	if (ret)
		goto out;
	ret = bi->kind == BOOT_PVH ? pvh_write_info(&c, bi) : bz_write_params(&c, bi);
out:
	free(img);
	return ret;
}

static struct kvm_segment flat_seg(uint16_t sel, uint8_t type, int code64)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1, /* L and D/B must not both be set */
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

#define CR0_PE	  (1ull << 0)
#define CR0_ET	  (1ull << 4)
#define CR0_PG	  (1ull << 31)
#define CR4_PAE	  (1ull << 5)
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)
#define SEG_CODE  0xb /* execute/read, accessed */
#define SEG_DATA  0x3 /* read/write, accessed */
#define SEG_TSS32 0xb /* busy 32-bit TSS */

void boot_setup_sregs(const struct boot_info *bi, struct kvm_sregs *s)
{
	int lm = bi->kind == BOOT_BZIMAGE;
	struct kvm_segment ds = flat_seg(BOOT_SEL_DS, SEG_DATA, 0);

	s->cs = flat_seg(lm ? BOOT_SEL_CS64 : BOOT_SEL_CS32, SEG_CODE, lm);
	s->ds = s->es = s->fs = s->gs = s->ss = ds;
	s->tr = (struct kvm_segment){
		.selector = BOOT_SEL_TSS, .limit = 0x67, .type = SEG_TSS32, .present = 1};
	s->gdt.base = bi->gdt;
	s->gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	/* PVH: protected mode, paging off, CR4 clear (the kernel turns on PAE). */
	s->cr0 = CR0_PE | CR0_ET;
	s->cr4 = 0;
	s->cr3 = 0;
	s->efer = 0;
	if (lm) {
		s->cr0 |= CR0_PG;
		s->cr4 = CR4_PAE;
		s->cr3 = bi->pml4;
		s->efer = EFER_LME | EFER_LMA;
	}
}

void boot_setup_regs(const struct boot_info *bi, struct kvm_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rflags = 0x2; /* reserved bit 1; IF, TF and VM clear */
	r->rip = bi->entry;
	r->rsp = BOOT_STACK_TOP;
	r->rbp = BOOT_STACK_TOP;
	if (bi->kind == BOOT_PVH)
		r->rbx = bi->start_info;
	else
		r->rsi = bi->start_info;
}
