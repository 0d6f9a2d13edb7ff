/* SPDX-License-Identifier: Apache-2.0 */
/* Intel MP table: tells Linux (without ACPI) about the CPUs and the IOAPIC. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"

/* Intel MultiProcessor Specification 1.4 structures (packed by layout). */
struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* configuration table */
	uint8_t length;	   /* in 16-byte paragraphs */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5]; /* 0: a configuration table is present */
};

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;
	uint32_t reserved;
};

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag;
	uint32_t reserved[2];
};

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
};

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
};

struct mpc_intsrc { /* also the layout of a local interrupt (LINTSRC) entry */
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

_Static_assert(sizeof(struct mpf_intel) == 16, "mpf_intel");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc_table");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");
_Static_assert(sizeof(struct mpc_bus) == 8, "mpc_bus");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "mpc_ioapic");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "mpc_intsrc");

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define CPU_ENABLED	  1
#define CPU_BOOTPROCESSOR 2
#define MPC_APIC_USABLE	  1
#define APIC_VERSION	  0x14	/* KVM's in-kernel local APIC and IOAPIC */
#define CPU_SIGNATURE	  0x600 /* family 6; Linux reads the real one from CPUID */
#define CPU_FEATURE_FPU	  (1u << 0)
#define CPU_FEATURE_APIC  (1u << 9)
#define MP_IRQ_EDGE_HIGH  0x5 /* MP_IRQTRIG_EDGE | MP_IRQPOL_ACTIVE_HIGH */
#define MP_BUS_ISA_ID	  0

size_t mptable_size(unsigned nr_vcpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       nr_vcpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (BOOT_IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc);
}

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

/* Appends one entry at *pos and counts it. */
static void put(uint8_t **pos, struct mpc_table *mpc, const void *e, size_t len)
{
	memcpy(*pos, e, len);
	*pos += len;
	mpc->oemcount++;
}

static void put_cpus(uint8_t **pos, struct mpc_table *mpc, unsigned nr_vcpus)
{
	for (unsigned i = 0; i < nr_vcpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = i, /* = vCPU index = CPUID initial APIC ID */
			.apicver = APIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = CPU_SIGNATURE,
			.featureflag = CPU_FEATURE_FPU | CPU_FEATURE_APIC,
		};
		put(pos, mpc, &cpu, sizeof(cpu));
	}
}

/*
 * Every IOAPIC pin is an ISA interrupt of the same number, edge-triggered
 * and active-high, up to pin 23: virtio-mmio devices raise pins 5..20 with
 * irqfd edges, so Linux must know those pins exist and how they fire.
 */
static void put_irqs(uint8_t **pos, struct mpc_table *mpc, uint8_t ioapic_id)
{
	struct mpc_intsrc lint[2] = {
		{MP_LINTSRC, MP_EXTINT, 0, MP_BUS_ISA_ID, 0, 0, 0}, /* BSP LINT0: 8259 */
		{MP_LINTSRC, MP_NMI, 0, MP_BUS_ISA_ID, 0, 0xff, 1}, /* all LINT1: NMI */
	};

	for (unsigned pin = 0; pin < BOOT_IOAPIC_PINS; pin++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC,
			.irqtype = MP_INT,
			.irqflag = MP_IRQ_EDGE_HIGH,
			.srcbus = MP_BUS_ISA_ID,
			.srcbusirq = pin,
			.dstapic = ioapic_id,
			.dstirq = pin,
		};
		put(pos, mpc, &src, sizeof(src));
	}
	put(pos, mpc, &lint[0], sizeof(lint[0]));
	put(pos, mpc, &lint[1], sizeof(lint[1]));
}

int mptable_write(struct guest_mem *m, unsigned nr_vcpus)
{
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	struct mpc_bus bus = {MP_BUS, MP_BUS_ISA_ID, "ISA"};
	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apicid = nr_vcpus, /* first ID after the CPUs' */
		.apicver = APIC_VERSION,
		.flags = MPC_APIC_USABLE,
		.apicaddr = BOOT_IOAPIC_ADDR,
	};
	uint8_t *base, *pos;

	if (nr_vcpus < 1 || nr_vcpus > BOOT_MAX_VCPUS)
		return -EINVAL;
	_Static_assert(sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
				       BOOT_MAX_VCPUS * sizeof(struct mpc_cpu) + 16 +
				       (BOOT_IOAPIC_PINS + 2) * 8 <=
			       BOOT_MPTABLE_SIZE,
		       "MP table must fit its reserved area");
	base = gpa_ptr(m, BOOT_MPTABLE_ADDR, BOOT_MPTABLE_SIZE);
	if (!base)
		return -EFAULT;
	memset(base, 0, BOOT_MPTABLE_SIZE);
	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(base + sizeof(*mpf));

	memcpy(mpc->signature, "PCMP", 4);
	mpc->spec = 4;
	memcpy(mpc->oem, "EMBER   ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->lapic = BOOT_LAPIC_ADDR;
	pos = (uint8_t *)(mpc + 1);
	put_cpus(&pos, mpc, nr_vcpus);
	put(&pos, mpc, &bus, sizeof(bus));
	put(&pos, mpc, &ioapic, sizeof(ioapic));
	put_irqs(&pos, mpc, ioapic.apicid);
	mpc->length = pos - (uint8_t *)mpc;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = BOOT_MPTABLE_ADDR + sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
