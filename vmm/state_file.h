/* SPDX-License-Identifier: Apache-2.0 */
/* The snapshot state file container: header, CRC32C, typed records (pure, unit-tested). */
#ifndef EMBER_VMM_STATE_FILE_H
#define EMBER_VMM_STATE_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Layout (docs/snapshot-format.md): a 32-byte header, then payload_len bytes
 * of records. Each record is an 8-byte record header (type, flags 0, len)
 * followed by len bytes, padded with zeros to a multiple of 8. The last
 * record is SF_END (len 0). All integers little-endian (x86 only).
 */
#define SF_MAGIC       "EMBRSNAP"
#define SF_VERSION     1u
#define SF_HEADER_LEN  32u
#define SF_REC_HDR_LEN 8u
#define SF_MAX_PAYLOAD (64u << 20) /* far above any real state: refuse bigger */

struct sf_header {
	char magic[8];	      /* SF_MAGIC, no NUL */
	uint32_t version;     /* SF_VERSION */
	uint32_t flags;	      /* 0 */
	uint64_t payload_len; /* bytes after the header */
	uint32_t payload_crc; /* CRC32C of the payload */
	uint32_t header_crc;  /* CRC32C of the 28 bytes before this field */
};
_Static_assert(sizeof(struct sf_header) == SF_HEADER_LEN, "state file header is 32 bytes");

struct sf_rec_hdr {
	uint16_t type;
	uint16_t flags; /* 0 */
	uint32_t len;	/* data bytes, without padding */
};
_Static_assert(sizeof(struct sf_rec_hdr) == SF_REC_HDR_LEN, "record header is 8 bytes");

/* Record types. VCPU opens a vCPU's group: the records up to the next VCPU belong to it. */
enum sf_type {
	SF_END = 0,
	SF_META = 1,	     /* struct snap_meta */
	SF_IRQCHIP = 2,	     /* struct kvm_irqchip; three: PIC master, PIC slave, IOAPIC */
	SF_PIT2 = 3,	     /* struct kvm_pit_state2 */
	SF_CLOCK = 4,	     /* struct kvm_clock_data */
	SF_VCPU = 16,	     /* struct snap_vcpu */
	SF_CPUID = 17,	     /* kvm_cpuid_entry2[n] */
	SF_MP_STATE = 18,    /* struct kvm_mp_state */
	SF_REGS = 19,	     /* struct kvm_regs */
	SF_SREGS = 20,	     /* struct kvm_sregs */
	SF_FPU = 21,	     /* struct kvm_fpu */
	SF_XSAVE = 22,	     /* struct kvm_xsave (only with KVM_CAP_XSAVE) */
	SF_XCRS = 23,	     /* struct kvm_xcrs (only with KVM_CAP_XCRS) */
	SF_DEBUGREGS = 24,   /* struct kvm_debugregs */
	SF_LAPIC = 25,	     /* struct kvm_lapic_state */
	SF_MSRS = 26,	     /* kvm_msr_entry[n] */
	SF_VCPU_EVENTS = 27, /* struct kvm_vcpu_events */
	SF_SERIAL = 32,	     /* struct snap_serial */
	SF_DOORBELL = 33,    /* struct snap_doorbell */
	SF_VIRTIO = 34,	     /* struct virtio_snap + device bytes; one per device, slot order */
};

/* crc32c() - CRC-32C (Castagnoli, reflected 0x82f63b78), continuing from @crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* A growing buffer that becomes the whole file. */
struct sf_writer {
	uint8_t *buf;
	size_t len, cap;
	int err; /* sticky: first allocation failure */
};

/* sf_writer_init() - start a file (the header is filled by sf_finish). 0 or -ENOMEM. */
int sf_writer_init(struct sf_writer *w);
/* sf_put() - append one record. Errors are sticky and reported by sf_finish(). */
void sf_put(struct sf_writer *w, uint16_t type, const void *data, uint32_t len);
/*
 * sf_finish() - append SF_END, fill the header and checksums. Returns 0 with
 * the file in w->buf/w->len, or -ENOMEM/-E2BIG.
 */
int sf_finish(struct sf_writer *w);
void sf_writer_free(struct sf_writer *w);

struct sf_reader {
	const uint8_t *p; /* the payload */
	size_t len, off;
};

/*
 * sf_open() - check a whole file in @buf: magic, version, length, both
 * checksums. Returns 0 with @r positioned on the first record, or:
 * -EBADMSG (not a state file, corrupted: checksum), -EPROTONOSUPPORT (other
 * format version), -ENODATA (truncated), with a one-line reason in @err.
 */
int sf_open(struct sf_reader *r, const void *buf, size_t len, char *err, size_t errlen);

/*
 * sf_next() - the next record. Returns 1 with @type/@data/@len set, 0 at
 * SF_END, -EBADMSG if the records do not fit the payload.
 */
int sf_next(struct sf_reader *r, uint16_t *type, const void **data, uint32_t *len);

#endif
