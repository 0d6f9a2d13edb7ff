/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot records (the state file's fixed structures) and the snapshot/restore entry points. */
#ifndef EMBER_VMM_SNAPSHOT_H
#define EMBER_VMM_SNAPSHOT_H

#include <stdint.h>

#define SNAP_MEMORY_FILE "memory"
#define SNAP_STATE_FILE	 "state"
/* Pages hashed at both ends of the memory file for its identity check. */
#define SNAP_ID_BYTES 4096u

/* SF_META: what the snapshot needs from the host that restores it. */
struct snap_meta {
	char cpu_template[16]; /* "baseline" / "host", NUL-padded */
	char kvm_kind[8];      /* "hw" / "pvm" */
	char vmm_version[16];  /* informational */
	uint64_t mem_size;     /* guest RAM bytes = memory file size */
	uint32_t nr_vcpus;
	uint32_t nr_devices; /* SF_VIRTIO records */
	/* Identity of the memory file as written (refuse a changed file). */
	uint64_t mem_file_size;
	int64_t mem_mtime_sec;
	int64_t mem_mtime_nsec;
	uint64_t mem_hash; /* FNV-1a 64 of the first and the last SNAP_ID_BYTES */
	uint64_t created_unix_ns;
};
_Static_assert(sizeof(struct snap_meta) == 96, "snap_meta layout is part of the format");

/* SF_VCPU: opens one vCPU's records. */
struct snap_vcpu {
	uint32_t id;
	uint32_t tsc_khz; /* KVM_GET_TSC_KHZ, 0 if unknown */
};

/* SF_SERIAL: the 8250 registers and the level of its IRQ line. */
struct snap_serial {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t thr_ipending, irq;
	uint8_t pad[5];
};
_Static_assert(sizeof(struct snap_serial) == 16, "snap_serial layout is part of the format");

/* SF_DOORBELL: guest lifecycle state seen through the doorbell. */
struct snap_doorbell {
	uint32_t ready;	     /* READY was rung */
	uint32_t ready_port; /* its argument */
};

/* FNV-1a 64 (identity hash of the memory file's ends). */
static inline uint64_t fnv1a64(uint64_t h, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}
#define FNV1A64_INIT 0xcbf29ce484222325ull

struct vm;
struct cli_opts;

/*
 * snapshot_take() - pause every vCPU, freeze the devices, write
 * @dir/memory and @dir/state. The vCPUs stay paused (the caller resumes or
 * exits). Returns 0 or -errno after logging why.
 */
int snapshot_take(struct vm *vm, const char *dir);

/*
 * restore_setup() - read and check @o->snapshot_dir, create the VM from it
 * (memory mapped MAP_PRIVATE), its devices (taps from @o) and every vCPU and
 * VM state; the caller then starts the I/O thread and vCPUs. Returns 0, or
 * -errno after logging a one-line reason (refusals included).
 */
int restore_setup(struct vm *vm, const struct cli_opts *o, int console_fd);

#endif
