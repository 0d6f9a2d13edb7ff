// SPDX-License-Identifier: Apache-2.0
/* ember-vmm restore: check a snapshot directory and rebuild the VM from it. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "clone.h"
#include "log.h"
#include "snapshot.h"
#include "snapshot_kvm.h"
#include "state_file.h"
#include "virtio/kinds.h"
#include "virtio/virtio.h"
#include "vm_internal.h"

struct restore_ctx {
	uint8_t *file; /* the whole state file */
	size_t len;
	struct snap_meta meta;
	struct snapkvm_vm vm;
	struct snapkvm_vcpu vcpu[VM_MAX_VCPUS];
	unsigned nr_vcpus;
	struct sf_rec serial, doorbell, virtio[VIRTIO_MMIO_SLOTS];
	unsigned nr_virtio;
	char err[8192]; /* room for paths */
};

/* Every refusal: a one-line reason, -EBADMSG. */
__attribute__((format(printf, 2, 3))) static int refuse(struct restore_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int read_state(struct restore_ctx *c, const char *dir)
{
	char path[4096];
	struct stat st;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_STATE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(c->err, sizeof(c->err), "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size > SF_MAX_PAYLOAD + SF_HEADER_LEN) {
		ret = refuse(c, "%s: %lld bytes, too large for a state file", path,
			     (long long)st.st_size);
		goto out;
	}
	c->len = (size_t)st.st_size;
	c->file = malloc(c->len ? c->len : 1);
	if (!c->file || (c->len && pread(fd, c->file, c->len, 0) != (ssize_t)c->len)) {
		ret = -EIO;
		snprintf(c->err, sizeof(c->err), "%s: cannot read", path);
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* File order: META, VM records, vCPU groups, SERIAL, DOORBELL, VIRTIO*. */
static int take_record(struct restore_ctx *c, uint16_t type, const void *p, uint32_t len)
{
	struct sf_rec r = {.p = p, .len = len};
	struct snap_vcpu h;

	if (type == SF_META && len == sizeof(c->meta)) {
		memcpy(&c->meta, p, len);
	} else if (type == SF_IRQCHIP && c->vm.nr_irqchip < 3) {
		c->vm.irqchip[c->vm.nr_irqchip++] = r;
	} else if (type == SF_PIT2) {
		c->vm.pit = r;
	} else if (type == SF_CLOCK) {
		c->vm.clock = r;
	} else if (type == SF_VCPU && len == sizeof(h) && c->nr_vcpus < VM_MAX_VCPUS) {
		memcpy(&h, p, sizeof(h));
		if (h.id != c->nr_vcpus)
			return refuse(c, "vCPU records out of order");
		c->vcpu[c->nr_vcpus].id = h.id;
		c->vcpu[c->nr_vcpus++].tsc_khz = h.tsc_khz;
	} else if (type > SF_VCPU && type < SNAPKVM_VCPU_TYPES && c->nr_vcpus) {
		c->vcpu[c->nr_vcpus - 1].r[type] = r;
	} else if (type == SF_SERIAL && len == sizeof(struct snap_serial)) {
		c->serial = r;
	} else if (type == SF_DOORBELL && len == sizeof(struct snap_doorbell)) {
		c->doorbell = r;
	} else if (type == SF_VIRTIO && c->nr_virtio < VIRTIO_MMIO_SLOTS) {
		c->virtio[c->nr_virtio++] = r;
	} else {
		return refuse(c, "unexpected record type %u (%u bytes)", type, len);
	}
	return 0;
}

static int parse_state(struct restore_ctx *c)
{
	struct sf_reader r;
	const void *p;
	uint16_t type;
	uint32_t len;
	int ret = sf_open(&r, c->file, c->len, c->err, sizeof(c->err));

	while (!ret && (ret = sf_next(&r, &type, &p, &len)) > 0)
		ret = take_record(c, type, p, len);
	if (ret == -EBADMSG && !c->err[0])
		return refuse(c, "malformed records");
	if (ret)
		return ret;
	if (!c->meta.mem_size || c->meta.nr_vcpus != c->nr_vcpus || !c->serial.p ||
	    !c->doorbell.p || c->meta.nr_devices != c->nr_virtio)
		return refuse(c, "state file incomplete (metadata, vCPUs, serial or devices)");
	ret = snapkvm_check_vm(&c->vm, c->err, sizeof(c->err));
	for (unsigned i = 0; !ret && i < c->nr_vcpus; i++)
		ret = snapkvm_check_vcpu(&c->vcpu[i], c->err, sizeof(c->err));
	return ret;
}

/*
 * What the kind of record @i gets: its transport header and its own bytes,
 * and which of its kind it is (the nth --net, the nth --disk).
 */
static void record_arg(struct restore_ctx *c, const struct cli_opts *o, unsigned i,
		       struct virtio_snap *hdr, struct virtio_restore_arg *a)
{
	unsigned nth = 0;

	memcpy(hdr, c->virtio[i].p, sizeof(*hdr));
	for (unsigned j = 0; j < i; j++) {
		struct virtio_snap s;

		memcpy(&s, c->virtio[j].p, sizeof(s));
		nth += s.device_id == hdr->device_id;
	}
	*a = (struct virtio_restore_arg){.rec = hdr,
					 .dev = (const uint8_t *)c->virtio[i].p + sizeof(*hdr),
					 .dev_len = hdr->dev_len,
					 .nth = nth,
					 .snapshot_dir = o->snapshot_dir,
					 .err = c->err,
					 .errlen = sizeof(c->err)};
}

/* Each device's kind checks its back end on the command line (blk: the image, the overlay). */
static int check_backends(struct restore_ctx *c, const struct cli_opts *o)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < c->nr_virtio; i++) {
		struct virtio_restore_arg a;
		struct virtio_snap s;
		const struct virtio_kind *k;

		record_arg(c, o, i, &s, &a);
		k = virtio_kind_of(s.device_id);
		if (k->restore_check)
			ret = k->restore_check(o, &a);
	}
	return ret;
}

/* The host and the command line must agree with what the snapshot was taken on. */
static int check_host(struct restore_ctx *c, const struct cli_opts *o, enum cpu_template *t)
{
	const char *kind = kvm_kind_name(kvm_kind_detect());

	c->meta.cpu_template[sizeof(c->meta.cpu_template) - 1] = '\0';
	c->meta.kvm_kind[sizeof(c->meta.kvm_kind) - 1] = '\0';
	if (cpu_template_parse(c->meta.cpu_template, t))
		return refuse(c, "unknown CPU template '%s' in the snapshot", c->meta.cpu_template);
	if (o->cpu_template_set && strcmp(o->cpu_template, c->meta.cpu_template))
		return refuse(c, "snapshot taken with CPU template '%s', --cpu-template '%s' asked",
			      c->meta.cpu_template, o->cpu_template);
	if (strcmp(kind, c->meta.kvm_kind))
		return refuse(c, "snapshot taken on kvm=%s, this host is kvm=%s", c->meta.kvm_kind,
			      kind);
	for (unsigned i = 0; i < c->nr_virtio; i++) {
		struct virtio_snap s;

		if (c->virtio[i].len < sizeof(s))
			return refuse(c, "virtio record %u too short", i);
		memcpy(&s, c->virtio[i].p, sizeof(s));
		if (s.slot != i)
			return refuse(c, "virtio records out of slot order");
		if (s.dev_len != c->virtio[i].len - sizeof(s))
			return refuse(c, "virtio record %u: %u device bytes in a %u-byte record", i,
				      s.dev_len, c->virtio[i].len);
		if (!virtio_kind_of(s.device_id) || !virtio_kind_of(s.device_id)->restore_create)
			return refuse(c, "virtio device type %u cannot be restored", s.device_id);
	}
	/* Kinds with a back end on the command line: one given per device, in order. */
	for (const struct virtio_kind *const *k = virtio_kinds; *k; k++) {
		unsigned n = 0;

		if (!(*k)->option)
			continue;
		for (unsigned i = 0; i < c->nr_virtio; i++) {
			struct virtio_snap s;

			memcpy(&s, c->virtio[i].p, sizeof(s));
			n += s.device_id == (*k)->device_id;
		}
		if (n != (*k)->count(o))
			return refuse(c,
				      "the snapshot has %u virtio-%s device(s): give as many %s%s",
				      n, (*k)->name, (*k)->option,
				      (*k)->restore_hint ? (*k)->restore_hint : "");
	}
	return check_backends(c, o);
}

/*
 * The memory file must be the one written with the state file: same size,
 * same mtime, same first and last page (cheap: no full read at restore).
 */
static int open_memory(struct restore_ctx *c, const char *dir)
{
	uint8_t page[SNAP_ID_BYTES];
	char path[4096];
	struct stat st;
	uint64_t h = FNV1A64_INIT;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, SNAP_MEMORY_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(c->err, sizeof(c->err), "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((uint64_t)st.st_size != c->meta.mem_file_size ||
	    c->meta.mem_size != c->meta.mem_file_size) {
		refuse(c, "memory file %s: %lld bytes, the snapshot has %llu (%s)", path,
		       (long long)st.st_size, (unsigned long long)c->meta.mem_file_size,
		       (uint64_t)st.st_size < c->meta.mem_file_size ? "truncated" : "size changed");
		goto fail;
	}
	if (st.st_mtim.tv_sec != c->meta.mem_mtime_sec ||
	    st.st_mtim.tv_nsec != c->meta.mem_mtime_nsec) {
		refuse(c, "memory file %s was modified after the snapshot (mtime differs)", path);
		goto fail;
	}
	for (int end = 0; end < 2; end++) {
		off_t off = end ? (off_t)(st.st_size - SNAP_ID_BYTES) : 0;

		if (pread(fd, page, sizeof(page), off) != (ssize_t)sizeof(page)) {
			refuse(c, "memory file %s: cannot read", path);
			goto fail;
		}
		h = fnv1a64(h, page, sizeof(page));
	}
	if (h != c->meta.mem_hash) {
		refuse(c, "memory file %s does not belong to this state file (content differs)",
		       path);
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Devices in slot order, as the snapshot had them; each clone gets its own back ends. */
static int create_devices(struct restore_ctx *c, struct vm *vm, const struct cli_opts *o)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < c->nr_virtio; i++) {
		struct virtio_restore_arg a;
		struct virtio_snap s;

		record_arg(c, o, i, &s, &a);
		ret = virtio_kind_of(s.device_id)->restore_create(vm, o, &a);
	}
	if (ret && !c->err[0])
		snprintf(c->err, sizeof(c->err), "creating devices: %s", strerror(-ret));
	return ret;
}

static int restore_devices(struct restore_ctx *c)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < c->nr_virtio; i++)
		ret = virtio_mmio_restore(virtio_mmio_dev(i), c->virtio[i].p, c->virtio[i].len,
					  c->err, sizeof(c->err));
	return ret;
}

static int restore_vcpus(struct restore_ctx *c, struct vm *vm)
{
	int ret = 0;

	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++) {
		ret = vcpu_open(vm, i);
		if (ret)
			snprintf(c->err, sizeof(c->err), "KVM_CREATE_VCPU: %s", strerror(-ret));
		else
			ret = snapkvm_restore_vcpu(&vm->vcpus[i], &c->vcpu[i], c->err,
						   sizeof(c->err));
	}
	return ret;
}

/*
 * Order: irqchip and PIT before the vCPUs (nothing can inject yet), the
 * vCPUs, kvmclock after every vCPU's MSRs (KVM_SET_CLOCK updates every
 * vCPU's pvclock page), then devices (their restore may raise an interrupt,
 * which must land on the restored irqchip) and serial.
 */
/* Per-clone state: a MAC given with --net for the first NIC (eth0 in the guest), and the hint. */
static int refresh_clone(struct restore_ctx *c, const struct cli_opts *o, int64_t step_ns)
{
	int slot = -1;

	for (unsigned i = 0; i < c->nr_virtio && slot < 0; i++) {
		struct virtio_snap s;

		memcpy(&s, c->virtio[i].p, sizeof(s));
		if (virtio_kind_of(s.device_id)->clone_mac)
			slot = (int)i;
	}
	for (unsigned i = 1; i < o->nr_net; i++)
		if (o->net[i].mac_set)
			pr_warn("restore: mac= of --net #%u ignored: only the first NIC's MAC "
				"can change in a clone",
				i + 1);
	return clone_refresh(step_ns, slot,
			     slot >= 0 && o->nr_net && o->net[0].mac_set ? o->net[0].mac : NULL,
			     c->err, sizeof(c->err));
}

static int build_vm(struct restore_ctx *c, struct vm *vm, const struct cli_opts *o, int console_fd)
{
	struct snap_doorbell db;
	struct snap_serial ser;
	int64_t step_ns = 0;
	int ret = serial_init(vm, console_fd);

	if (!ret)
		ret = legacy_init(vm);
	if (!ret)
		ret = doorbell_init(vm);
	if (ret) {
		snprintf(c->err, sizeof(c->err), "platform devices: %s", strerror(-ret));
		return ret;
	}
	ret = create_devices(c, vm, o);
	if (!ret)
		ret = snapkvm_restore_irqchip(vm, &c->vm, c->err, sizeof(c->err));
	if (!ret)
		ret = restore_vcpus(c, vm);
	if (!ret)
		ret = snapkvm_restore_clock(vm, &c->vm, &step_ns, c->err, sizeof(c->err));
	if (!ret)
		ret = restore_devices(c);
	if (ret)
		return ret;
	memcpy(&ser, c->serial.p, sizeof(ser));
	serial_restore(&ser);
	memcpy(&db, c->doorbell.p, sizeof(db));
	if (db.ready)
		doorbell_set_ready(db.ready_port);
	return refresh_clone(c, o, step_ns);
}

int restore_setup(struct vm *vm, const struct cli_opts *o, int console_fd)
{
	struct restore_ctx *c = calloc(1, sizeof(*c));
	struct vm_config cfg = {.mem_fd = -1};
	unsigned port;
	int ret;

	if (!c)
		return -ENOMEM;
	ret = read_state(c, o->snapshot_dir);
	if (!ret)
		ret = parse_state(c);
	if (!ret)
		ret = check_host(c, o, &cfg.tmpl);
	if (!ret && (cfg.mem_fd = open_memory(c, o->snapshot_dir)) < 0)
		ret = -EBADMSG;
	if (ret) {
		pr_err("restore: %s: %s", o->snapshot_dir, c->err);
		goto out;
	}
	cfg.mem_size = c->meta.mem_size;
	cfg.nr_vcpus = c->nr_vcpus;
	ret = vm_create(vm, &cfg, c->err, sizeof(c->err));
	close(cfg.mem_fd); /* the mapping keeps the file */
	if (ret) {	   /* vm_create() cleaned up after itself */
		pr_err("restore: %s", c->err[0] ? c->err : strerror(-ret));
		goto out;
	}
	ret = build_vm(c, vm, o, console_fd);
	if (ret) {
		pr_err("restore: %s", c->err[0] ? c->err : strerror(-ret));
		vm_destroy(vm);
		goto out;
	}
	pr_info("restored %s: kvm=%s template=%s vcpus=%u mem=%lluM", o->snapshot_dir,
		kvm_kind_name(vm->kind), cpu_template_name(vm->tmpl), vm->nr_vcpus,
		(unsigned long long)(cfg.mem_size >> 20));
	events_emit("restored");
	if (doorbell_ready(&port))
		events_emit("ready port=%u restored=1", port);
out:
	free(c->file);
	free(c);
	return ret;
}
