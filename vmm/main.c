// SPDX-License-Identifier: Apache-2.0
/* ember-vmm's entry point: command line -> VM, devices, kernel -> vCPUs -> exit status. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control.h"
#include "log.h"
#include "snapshot.h"
#include "virtio/kinds.h"
#include "virtio/virtio.h"
#include "vm_internal.h"

#define VMM_VERSION EMBER_VMM_VERSION

/* Exit statuses (besides the guest's own power-off status). */
#define EXIT_SETUP 1
#define EXIT_USAGE 2

int vmm_verbose;
static uint64_t main_t0_ns; /* the origin of every t_us */

static const char usage[] =
	"NAME\n"
	"    ember-vmm - run one Linux microVM on KVM\n"
	"\n"
	"SYNOPSIS\n"
	"    ember-vmm --kernel PATH [--initrd PATH] [--cmdline STRING] [OPTION]...\n"
	"    ember-vmm restore --snapshot-dir DIR [--net ...]... [--disk ...]... [--console ...]\n"
	"              [--events ...] [--cpu-template T] [--paused] [--control PATH]\n"
	"              [--control-fd N] [-v]\n"
	"\n"
	"DESCRIPTION\n"
	"    Boots PATH (a PVH-capable ELF vmlinux or a bzImage) in a new KVM virtual\n"
	"    machine with an 8250 serial console, an i8042 and 0xcf9 reset, the ember\n"
	"    doorbell port and the virtio-mmio devices asked for, and runs until the\n"
	"    guest powers off or resets.\n"
	"\n"
	"OPTIONS\n"
	"    --kernel PATH        guest kernel: vmlinux (PVH entry) or bzImage (required)\n"
	"    --initrd PATH        initramfs loaded next to the kernel\n"
	"    --cmdline STRING     guest kernel command line; devices append their own\n"
	"                         items (virtio_mmio.device=...). The demo uses\n"
	"                         \"console=ttyS0 reboot=p quiet\".\n"
	"    --mem SIZE           guest RAM: a number with suffix k, M or G (no suffix:\n"
	"                         MiB); 16M to 512G; default 256M\n"
	"    --vcpus N            virtual CPUs, 1 to 8; default 1\n"
	"    --net tap=NAME[,mac=MAC] | fd=N[,mac=MAC]\n"
	"                         virtio-net on an existing tap device (by name, or an\n"
	"                         inherited open tap fd); repeatable up to 4 times.\n"
	"                         Default MAC 02:eb:00:00:00:<n>, n counting from 1.\n"
	"    --disk PATH[,ro|,cow]\n"
	"                         virtio-blk on a raw image; ro (default): read-only;\n"
	"                         cow: writable, writes never reach the file.\n"
	"                         Repeatable up to 8 times (/dev/vda, /dev/vdb, ...)\n"
	"    --rng                virtio-rng fed from getrandom()\n"
	"    --console PATH|stdout|none\n"
	"                         where the serial console output goes; default stdout\n"
	"    --events PATH        write one line per guest event, flushed at once:\n"
	"                         vmm_start, init_started, ready port=N,\n"
	"                         workload_exit status=N, poweroff status=N,\n"
	"                         panic errno=N; each ends with t_us=<microseconds\n"
	"                         since ember-vmm started>\n"
	"    --cpu-template baseline|host\n"
	"                         CPUID the guest sees: baseline (default) hides what\n"
	"                         does not migrate or what kvm-pvm cannot emulate;\n"
	"                         host passes KVM's supported CPUID through\n"
	"    --snapshot-dir DIR --snapshot-on-ready\n"
	"                         when the guest rings READY, pause it and write\n"
	"                         DIR/memory and DIR/state (docs/snapshot-format.md),\n"
	"                         then exit 0\n"
	"    --snapshot-continue  keep the guest running after the snapshot\n"
	"    --control PATH       serve the control protocol (docs/control.md: resume,\n"
	"                         pause, status, snapshot DIR) on a Unix stream socket\n"
	"    --control-fd N       the same on an inherited connected socket N\n"
	"    --paused             start with every vCPU parked (no CPU use) until a\n"
	"                         'resume' on the control channel (needs --control*)\n"
	"    -v, --verbose        log setup, device and guest events to stderr\n"
	"    -h, --help           show this text and exit\n"
	"    --version            show the version and exit\n"
	"\n"
	"RESTORE\n"
	"    ember-vmm restore maps DIR/memory copy-on-write, restores every vCPU,\n"
	"    the irqchip, clock and devices from DIR/state and runs the guest on\n"
	"    its own taps (--net, one per virtio-net of the snapshot) and console.\n"
	"    A truncated, corrupted, other-version or other-CPU-template snapshot,\n"
	"    or a memory file changed since, is refused with exit status 1.\n"
	"    Give one --disk per disk of the snapshot, in order, with the same\n"
	"    mode (ro/cow) and the same image file; a cow disk's written pages\n"
	"    come back from DIR/disk<slot>.\n"
	"    Every clone gets a restore hint on its console input: ember-init\n"
	"    reseeds the kernel's random generator, steps the wall clock by the\n"
	"    time since the snapshot and, with mac= on the first --net, gives\n"
	"    eth0 that MAC (default: the snapshot's).\n"
	"\n"
	"EXIT STATUS\n"
	"    N    the guest powered off through the doorbell with status N\n"
	"    0    the guest reset (i8042 0xfe, port 0xcf9, triple fault) or halted\n"
	"    1    setup failed (KVM, guest RAM, kernel image, device back end)\n"
	"    2    usage error (bad option or value, missing file)\n"
	"    3    the guest crashed the vCPU (KVM internal error, failed entry)\n"
	"    128+SIG  ember-vmm was stopped by signal SIG (SIGINT, SIGTERM, SIGHUP)\n"
	"\n"
	"EXAMPLE\n"
	"    ember-vmm --kernel build/guest/vmlinux --initrd build/guest/initramfs.cpio \\\n"
	"        --cmdline 'console=ttyS0 reboot=p' --net tap=tap0 --events /tmp/ev\n";

static int check_file(const char *what, const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	fprintf(stderr, "ember-vmm: %s '%s': %s\n", what, path, strerror(errno));
	return -1;
}

/* Every path given on the command line must be readable before we touch KVM. */
static int check_files(const struct cli_opts *o)
{
	int bad = check_file("--kernel", o->kernel);

	if (o->initrd)
		bad |= check_file("--initrd", o->initrd);
	for (unsigned i = 0; i < o->nr_disk; i++)
		bad |= check_file("--disk", o->disk[i].path);
	return bad;
}

static int open_console(const struct cli_opts *o)
{
	int fd;

	if (o->console == CONSOLE_NONE)
		return -1;
	if (o->console == CONSOLE_STDOUT)
		return STDOUT_FILENO;
	fd = open(o->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		pr_err("--console '%s': %s", o->console_path, strerror(errno));
	return fd < 0 ? -2 : fd;
}

/* Every virtio device the command line asks for, kind by kind (virtio/kinds.c). */
static int add_devices(struct vm *vm, const struct cli_opts *o)
{
	for (const struct virtio_kind *const *k = virtio_kinds; *k; k++) {
		unsigned n = (*k)->count(o);

		for (unsigned i = 0; i < n; i++) {
			int ret = (*k)->create(vm, o, i);

			if (ret)
				return ret;
		}
	}
	return 0;
}

static int add_platform(struct vm *vm, const struct cli_opts *o, int console_fd)
{
	int ret;

	if (o->cmdline && o->cmdline[0] && vm_cmdline_append(vm, "%s", o->cmdline)) {
		pr_err("--cmdline: longer than %d bytes", VM_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	ret = serial_init(vm, console_fd);
	if (!ret)
		ret = legacy_init(vm);
	if (!ret)
		ret = doorbell_init(vm);
	if (ret) {
		pr_err("platform devices: %s", strerror(-ret));
		return ret;
	}
	return add_devices(vm, o);
}

static int load_kernel(struct vm *vm, const struct cli_opts *o)
{
	struct boot_spec spec = {.kernel = o->kernel,
				 .initrd = o->initrd,
				 .cmdline = vm->cmdline,
				 .nr_vcpus = vm->nr_vcpus};
	char err[256] = "";
	int ret = boot_load(&vm->mem, &spec, &vm->boot, err, sizeof(err));

	if (ret)
		pr_err("%s", err[0] ? err : strerror(-ret)); /* err names the file */
	return ret;
}

/* SIGINT/SIGTERM/SIGHUP arrive on a signalfd the I/O thread watches. */
static struct {
	struct vm *vm;
	int fd;
} sigs = {.fd = -1};

static void on_signal(void *opaque, uint32_t revents)
{
	struct signalfd_siginfo si;

	(void)opaque, (void)revents;
	if (read(sigs.fd, &si, sizeof(si)) != sizeof(si))
		return;
	pr_warn("stopping on signal %u", si.ssi_signo);
	vm_request_exit(sigs.vm, 128 + (int)si.ssi_signo);
}

/* Block the stop signals in every thread (inherited) and route them to a signalfd. */
static int setup_signals(struct vm *vm)
{
	sigset_t set;
	int ret = vcpu_signal_setup();

	if (ret)
		return ret;
	signal(SIGPIPE, SIG_IGN); /* a closed console pipe must not kill the VM */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigs.vm = vm;
	sigs.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigs.fd < 0)
		return -errno;
	return vm_io_watch(vm, sigs.fd, EPOLLIN, on_signal, NULL);
}

static void on_ready(void *opaque, unsigned port)
{
	(void)port;
	vm_request_snapshot(opaque);
}

/*
 * The main thread waits here; a snapshot request (READY with
 * --snapshot-on-ready) is served on this thread while the vCPUs are parked.
 */
static int wait_loop(struct vm *vm, const struct cli_opts *o)
{
	int status;

	while ((status = vm_wait(vm)) < 0) {
		pthread_mutex_lock(&vm->ops_lock);
		if (snapshot_take(vm, o->snapshot_dir))
			vm_request_exit(vm, EXIT_SETUP);
		else if (o->snapshot_continue)
			vcpus_resume(vm);
		else
			vm_request_exit(vm, 0);
		pthread_mutex_unlock(&vm->ops_lock);
	}
	return status;
}

/*
 * The control channel starts once the vCPU threads exist (and, with --paused,
 * are all parked): a --control socket that accepts means "ready to resume".
 */
static void start_control(struct vm *vm, const struct cli_opts *o)
{
	char err[256] = "";

	if (!o->control_path && o->control_fd < 0)
		return;
	if (o->paused && vcpus_pause(vm, 5000)) {
		pr_err("--paused: the vCPU threads did not park");
		vm_request_exit(vm, EXIT_SETUP);
		return;
	}
	if (control_init(vm, o->control_path, o->control_fd, main_t0_ns, err, sizeof(err))) {
		pr_err("%s", err);
		vm_request_exit(vm, EXIT_SETUP);
	}
}

/* Signals, I/O thread and vCPU threads for a VM whose vCPUs exist; returns the exit status. */
static int start_vm(struct vm *vm, const struct cli_opts *o)
{
	int ret = setup_signals(vm);

	if (o->snapshot_on_ready)
		doorbell_on_ready(on_ready, vm);
	if (!ret)
		ret = iothread_start(&vm->io);
	if (ret) {
		pr_err("starting the VM: %s", strerror(-ret));
		return EXIT_SETUP;
	}
	/* --paused: the vCPU threads park before their first KVM_RUN. */
	vm->pause_req = o->paused;
	ret = vcpus_start(vm);
	if (ret) {
		pr_err("starting vCPU threads: %s", strerror(-ret));
		vm_request_exit(vm, EXIT_SETUP);
	} else {
		start_control(vm, o);
	}
	ret = wait_loop(vm, o);
	control_close();
	if (!vcpus_join(vm)) {
		/* Its kvm_run must stay mapped: leave teardown to the kernel. */
		serial_flush();
		_exit(ret);
	}
	return ret;
}

static int run_vm(struct vm *vm, const struct cli_opts *o, int console_fd)
{
	int ret;

	if (add_platform(vm, o, console_fd) || load_kernel(vm, o))
		return EXIT_SETUP;
	/* Always said: which KVM and CPU template a guest runs on decides what
	 * it may use and where its snapshots can be restored. */
	fprintf(stderr, "ember-vmm: kvm=%s template=%s vcpus=%u mem=%lluM\n",
		kvm_kind_name(vm->kind), cpu_template_name(vm->tmpl), vm->nr_vcpus,
		(unsigned long long)(o->mem >> 20));
	pr_info("cmdline: %s", vm->cmdline);
	ret = vcpus_create(vm);
	if (ret) {
		pr_err("starting the VM: %s", strerror(-ret));
		return EXIT_SETUP;
	}
	return start_vm(vm, o);
}

static int parse_args(int argc, char **argv, struct cli_opts *o, enum cpu_template *tmpl)
{
	char err[256] = "";

	switch (cli_parse(argc, argv, o, err, sizeof(err))) {
	case CLI_HELP:
		fputs(usage, stdout);
		return 0;
	case CLI_VERSION:
		printf("ember-vmm %s\n", VMM_VERSION);
		return 0;
	case CLI_USAGE:
		fprintf(stderr, "ember-vmm: %s\n", err);
		return EXIT_USAGE;
	case CLI_RUN:
		break;
	}
	if (cpu_template_parse(o->cpu_template, tmpl)) {
		fprintf(stderr, "ember-vmm: --cpu-template: '%s' is not baseline or host\n",
			o->cpu_template);
		return EXIT_USAGE;
	}
	if (!o->restore && check_files(o))
		return EXIT_USAGE;
	return -1;
}

int main(int argc, char **argv)
{
	uint64_t t0 = main_t0_ns = now_ns();
	struct timespec t0_wall;
	struct cli_opts o;
	struct vm_config cfg;
	static struct vm vm; /* large (cmdline, vCPUs): not on the stack */
	char err[256] = "";
	int status, console_fd;

	clock_gettime(CLOCK_REALTIME, &t0_wall);
	status = parse_args(argc, argv, &o, &cfg.tmpl);
	if (status >= 0)
		return status;
	vmm_verbose = o.verbose;
	cfg.mem_size = o.mem;
	cfg.nr_vcpus = o.vcpus;
	cfg.mem_fd = -1;
	if (events_open(o.events, t0)) {
		pr_err("--events '%s': %s", o.events, strerror(errno));
		return EXIT_SETUP;
	}
	/* Lets a caller split its own launch-to-X time into exec and VMM work. */
	events_emit("main unix_ns=%llu", (unsigned long long)t0_wall.tv_sec * 1000000000ull +
						 (unsigned long long)t0_wall.tv_nsec);
	console_fd = open_console(&o);
	if (console_fd == -2)
		return EXIT_SETUP;
	if (o.restore) {
		/* restore_setup() creates the VM itself: RAM size and vCPUs come from the snapshot.
		 */
		if (restore_setup(&vm, &o, console_fd))
			return EXIT_SETUP;
		status = start_vm(&vm, &o);
	} else if (vm_create(&vm, &cfg, err, sizeof(err))) {
		pr_err("%s", err);
		return EXIT_SETUP;
	} else {
		status = run_vm(&vm, &o, console_fd);
	}
	serial_flush();
	vm_destroy(&vm);
	return status;
}
