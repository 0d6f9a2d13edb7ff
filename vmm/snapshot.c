// SPDX-License-Identifier: Apache-2.0
/* Ready-point snapshot: pause the vCPUs, freeze devices, write the memory and state files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "snapshot.h"
#include "snapshot_kvm.h"
#include "state_file.h"
#include "virtio/kinds.h"
#include "virtio/virtio.h"
#include "vm_internal.h"

#define PAUSE_TIMEOUT_MS 5000
#define PAGE		 4096ull

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

/*
 * Guest RAM, sparse: the file is sized first (a hole), then only runs of
 * non-zero pages are written, so zero pages cost neither disk nor, after
 * restore, page cache.
 */
static int write_pages(int fd, const struct guest_mem *m)
{
	uint64_t off = 0, size = m->size;

	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	while (off < size) {
		uint64_t end;
		int ret;

		if (page_is_zero(m->base + off)) {
			off += PAGE;
			continue;
		}
		for (end = off + PAGE; end < size && !page_is_zero(m->base + end); end += PAGE)
			;
		ret = file_rw_all(fd, true, m->base + off, end - off, off);
		if (ret)
			return ret;
		off = end;
	}
	return 0;
}

struct mem_fill {
	const struct guest_mem *m;
	struct stat st;
};

static int fill_memory(int fd, void *arg)
{
	struct mem_fill *f = arg;
	int ret = write_pages(fd, f->m);

	return ret ? ret : fstat(fd, &f->st) < 0 ? -errno : 0;
}

static int write_memory(const struct guest_mem *m, const char *dir, struct snap_meta *meta)
{
	struct mem_fill f = {.m = m};
	char path[4096];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_MEMORY_FILE);
	ret = file_replace(path, 0600, true, fill_memory, &f);
	if (ret)
		return ret;
	/* Identity: size, mtime (rename keeps it) and a hash of both ends. */
	meta->mem_file_size = (uint64_t)f.st.st_size;
	meta->mem_mtime_sec = f.st.st_mtim.tv_sec;
	meta->mem_mtime_nsec = f.st.st_mtim.tv_nsec;
	meta->mem_hash = fnv1a64(FNV1A64_INIT, m->base, SNAP_ID_BYTES);
	meta->mem_hash = fnv1a64(meta->mem_hash, m->base + m->size - SNAP_ID_BYTES, SNAP_ID_BYTES);
	return 0;
}

static int write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return file_replace_buf(path, 0600, true, buf, len);
}

static void fill_meta(struct vm *vm, struct snap_meta *meta)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	memset(meta, 0, sizeof(*meta));
	snprintf(meta->cpu_template, sizeof(meta->cpu_template), "%s", cpu_template_name(vm->tmpl));
	snprintf(meta->kvm_kind, sizeof(meta->kvm_kind), "%s", kvm_kind_name(vm->kind));
	snprintf(meta->vmm_version, sizeof(meta->vmm_version), "%s", EMBER_VMM_VERSION);
	meta->mem_size = vm->mem.size;
	meta->nr_vcpus = vm->nr_vcpus;
	meta->nr_devices = virtio_mmio_count();
	meta->created_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A device can be snapshotted when its kind can make it again at restore. */
static int check_devices(void)
{
	for (unsigned i = 0; i < virtio_mmio_count(); i++) {
		struct virtio_dev *d = virtio_mmio_dev(i);
		const struct virtio_kind *k = virtio_kind_of(d->ops->device_id);

		if (!k || !k->restore_create) {
			pr_err("snapshot: virtio-%s (slot %u) cannot be snapshotted yet",
			       d->ops->name, i);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* Devices' own files (a cow disk's DIR/disk<slot>), before the state that names them. */
static int write_device_files(const char *dir)
{
	for (unsigned i = 0; i < virtio_mmio_count(); i++) {
		struct virtio_dev *d = virtio_mmio_dev(i);
		const struct virtio_kind *k = virtio_kind_of(d->ops->device_id);
		int ret;

		if (!k->save_files)
			continue;
		ret = k->save_files(d, dir);
		if (ret) {
			pr_err("snapshot: files of virtio-%s (slot %u) in %s: %s", d->ops->name, i,
			       dir, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void devices_lock(bool lock)
{
	for (unsigned i = 0; i < virtio_mmio_count(); i++) {
		struct virtio_dev *d = virtio_mmio_dev(i);

		if (lock)
			pthread_mutex_lock(&d->lock);
		else
			pthread_mutex_unlock(&d->lock);
	}
}

static int put_devices(struct sf_writer *w)
{
	uint8_t buf[sizeof(struct virtio_snap) + VIRTIO_SNAP_DEV_MAX];

	for (unsigned i = 0; i < virtio_mmio_count(); i++) {
		int n = virtio_mmio_save(virtio_mmio_dev(i), buf, sizeof(buf));

		if (n < 0)
			return n;
		sf_put(w, SF_VIRTIO, buf, (uint32_t)n);
	}
	return 0;
}

static int put_platform(struct sf_writer *w)
{
	struct snap_serial ser;
	struct snap_doorbell db = {0};
	unsigned port;

	serial_save(&ser);
	sf_put(w, SF_SERIAL, &ser, sizeof(ser));
	db.ready = doorbell_ready(&port);
	db.ready_port = port;
	sf_put(w, SF_DOORBELL, &db, sizeof(db));
	return put_devices(w);
}

/* With everything frozen: memory (its identity goes into META), cow disk overlays, the state. */
static int write_snapshot(struct vm *vm, const char *dir)
{
	struct sf_writer w;
	struct snap_meta meta;
	int ret;

	fill_meta(vm, &meta);
	ret = write_memory(&vm->mem, dir, &meta);
	if (ret) {
		pr_err("snapshot: writing %s/%s: %s", dir, SNAP_MEMORY_FILE, strerror(-ret));
		return ret;
	}
	ret = write_device_files(dir);
	if (!ret)
		ret = sf_writer_init(&w);
	if (ret)
		return ret;
	sf_put(&w, SF_META, &meta, sizeof(meta));
	ret = snapkvm_save_vm(vm, &w);
	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = snapkvm_save_vcpu(&vm->vcpus[i], &w);
	if (!ret)
		ret = put_platform(&w);
	if (!ret)
		ret = sf_finish(&w);
	if (!ret) {
		ret = write_file(dir, SNAP_STATE_FILE, w.buf, w.len);
		if (ret)
			pr_err("snapshot: writing %s/%s: %s", dir, SNAP_STATE_FILE, strerror(-ret));
	} else {
		pr_err("snapshot: collecting state: %s", strerror(-ret));
	}
	sf_writer_free(&w);
	return ret;
}

int snapshot_take(struct vm *vm, const char *dir)
{
	uint64_t t0 = now_ns(), t1;
	int ret = check_devices();

	if (ret)
		return ret;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		pr_err("snapshot: mkdir %s: %s", dir, strerror(errno));
		return -errno;
	}
	ret = vcpus_pause(vm, PAUSE_TIMEOUT_MS);
	if (ret) {
		pr_err("snapshot: vCPUs did not pause within %d ms", PAUSE_TIMEOUT_MS);
		return ret;
	}
	t1 = now_ns();
	/* vCPUs first (their MMIO handlers take device locks), then the I/O thread's devices. */
	devices_lock(true);
	ret = write_snapshot(vm, dir);
	devices_lock(false);
	if (!ret)
		events_emit("snapshot dir=%s pause_us=%llu write_us=%llu", dir,
			    (unsigned long long)(t1 - t0) / 1000,
			    (unsigned long long)(now_ns() - t1) / 1000);
	return ret;
}
