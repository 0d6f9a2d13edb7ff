/* SPDX-License-Identifier: Apache-2.0 */
/* emberd: options, the one epoll event loop, dataplane and API setup, clean shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "emberd.h"

static const char usage_text[] =
	"Usage: emberd [OPTION]...\n"
	"\n"
	"The ember pool manager: keeps each deployed app's guests as paused,\n"
	"pre-restored microVMs, resumes one when the XDP dataplane reports a packet\n"
	"for an app without a live guest, and pauses it again when it is idle.\n"
	"Driven through a REST API on a Unix socket (docs/api.md); the daemon\n"
	"itself is described in docs/emberd.md.\n"
	"\n"
	"Options:\n"
	"  --state-dir DIR  per-app directories (snapshot, guest consoles, VMM\n"
	"                   logs) go under DIR/apps/NAME, OCI images under\n"
	"                   DIR/images (default /var/lib/ember)\n"
	"  --run-dir DIR    runtime directory; the API socket is DIR/api.sock\n"
	"                   (default /run/ember)\n"
	"  --ingress IFNAME attach the XDP router to IFNAME: native mode when the\n"
	"                   driver supports it, else generic; the mode is logged.\n"
	"                   Without it the dataplane is loaded but routes nothing.\n"
	"  --pin-root DIR   bpffs directory of the dataplane's pinned maps and\n"
	"                   programs (default " DP_PIN_ROOT "); removed on a\n"
	"                   clean exit\n"
	"  --vmm PATH       the ember-vmm binary (default: ember-vmm next to\n"
	"                   emberd)\n"
	"  --guest-kernel PATH, --guest-initramfs PATH\n"
	"                   what the guest of every OCI image boots: ember's kernel\n"
	"                   and its initramfs with ember-init (default:\n"
	"                   ../guest/vmlinux and ../guest/initramfs.cpio from\n"
	"                   emberd's directory, as the build tree has them)\n"
	"  --scale-ms N     the autoscaler's period while any guest is live: read\n"
	"                   each live guest's active flows, add or remove guests\n"
	"                   (1-1000, default 10; 100 ms when nothing is live)\n"
	"  --min-avail-mib N\n"
	"                   while MemAvailable is below N MiB, stop paused guests,\n"
	"                   least recently used apps first, and refill none\n"
	"                   (default 256; 0 = never)\n"
	"  --image-max-bytes N\n"
	"                   an image's root filesystem may hold at most N bytes of\n"
	"                   files (apparent sizes: a sparse file counts whole), all\n"
	"                   layers summed; a larger image fails its import\n"
	"                   (default 16 GiB; 0 = no limit)\n"
	"  --image-max-entries N\n"
	"                   and at most N tar entries, all layers summed\n"
	"                   (default 1000000; 0 = no limit)\n"
	"  --config FILE    a JSON object overriding these defaults (keys state_dir,\n"
	"                   run_dir, ingress, pin_root, vmm, guest_kernel,\n"
	"                   guest_initramfs, scale_ms, min_avail_mib,\n"
	"                   image_max_bytes, image_max_entries) and naming\n"
	"                   host images (host_images: kernels and initramfs an\n"
	"                   app names by {\"host\": NAME}, docs/emberd.md);\n"
	"                   default " EMBERD_CONFIG_DEFAULT " if it exists. The\n"
	"                   command line overrides the file.\n"
	"                   Only in the file: registry_stall_timeout_s, seconds\n"
	"                   without a byte before a pull fails (1-3600, default\n"
	"                   30); image_fs, \"erofs\" (default) or \"ext4\": what\n"
	"                   images' root filesystems are built as.\n"
	"  -v, --verbose    debug log lines\n"
	"  -h, --help       this text\n"
	"\n"
	"Guests: every clone sees eth0 as " EMBERD_GUEST_IP "/24 with gateway " EMBERD_GW_IP "\n"
	"and " EMBERD_GUEST_IP6 "/64 with gateway " EMBERD_GW_IP6 "\n"
	"(answered by the dataplane); one tap per guest, created by emberd and\n"
	"handed to ember-vmm as an fd, so it disappears with the VMM.\n"
	"\n"
	"Restarts: apps (DIR/apps/NAME/app.json) come back at every start; VMMs\n"
	"left running by an emberd that died are adopted (docs/emberd.md).\n"
	"\n"
	"Signals: SIGTERM or SIGINT stop every VMM emberd started, detach the\n"
	"router, remove the API socket and the pins, and exit 0.\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 when setup fails (the message says\n"
	"why), 2 on a usage error.\n";

static void on_signal(struct emberd *d, struct watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u: stopping", si.ssi_signo);
		d->stop = true;
	}
}

static void on_tick(struct emberd *d, struct watch *w, uint32_t events)
{
	uint64_t n;

	(void)events;
	if (read(w->fd, &n, sizeof(n)) != sizeof(n))
		return;
	pool_tick(d);
	guest_stop_tick(d, mono_ns());
	if (mono_ns() - d->host_sync_ns > EMBERD_HOST_SYNC_MS * 1000000ull)
		host_addrs_sync(d);
}

static void on_api(struct emberd *d, struct watch *w, uint32_t events)
{
	(void)w, (void)events;
	api_run(d->api);
}

static void on_dp(struct emberd *d, struct watch *w, uint32_t events)
{
	int rc;

	(void)w, (void)events;
	rc = dp_events_poll(d->dp, 0);
	if (rc < 0)
		log_err("reading wake events: %s", strerror(-rc));
}

/* A number 0-(max) of option (name), digits only: "1e9" or "-1" is a typo, not a limit. */
static int u64_opt(const char *name, const char *arg, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || errno || v > max) {
		fprintf(stderr, "emberd: %s %s: want a number 0-%llu\n", name, arg,
			(unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_opts(struct emberd_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"state-dir", required_argument, NULL, 's'},
		{"run-dir", required_argument, NULL, 'r'},
		{"ingress", required_argument, NULL, 'i'},
		{"pin-root", required_argument, NULL, 'p'},
		{"vmm", required_argument, NULL, 'm'},
		{"guest-kernel", required_argument, NULL, 'K'},
		{"guest-initramfs", required_argument, NULL, 'I'},
		{"scale-ms", required_argument, NULL, 'S'},
		{"min-avail-mib", required_argument, NULL, 'M'},
		{"image-max-bytes", required_argument, NULL, 'B'},
		{"image-max-entries", required_argument, NULL, 'E'},
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->state_dir = optarg;
			break;
		case 'r':
			o->run_dir = optarg;
			break;
		case 'i':
			o->ingress = optarg;
			break;
		case 'p':
			o->pin_root = optarg;
			break;
		case 'm':
			o->vmm = optarg;
			break;
		case 'S': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 1000) {
				fprintf(stderr, "emberd: --scale-ms %s: want 1-1000 (ms)\n",
					optarg);
				return -EINVAL;
			}
			o->scale_ms = (int)v;
			break;
		}
		case 'M': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || end == optarg || v > 1u << 30) {
				fprintf(stderr,
					"emberd: --min-avail-mib %s: want a number of MiB\n",
					optarg);
				return -EINVAL;
			}
			o->min_avail_mib = (unsigned int)v;
			break;
		}
		case 'K':
			o->guest_kernel = optarg;
			break;
		case 'I':
			o->guest_initramfs = optarg;
			break;
		case 'B':
			if (u64_opt("--image-max-bytes", optarg, EMBERD_IMAGE_BYTES_BOUND,
				    &o->image_max_bytes))
				return -EINVAL;
			break;
		case 'E':
			if (u64_opt("--image-max-entries", optarg, EMBERD_IMAGE_ENTRIES_BOUND,
				    &o->image_max_entries))
				return -EINVAL;
			break;
		case 'c': /* read before the other options: see config_first() */
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs("Try 'emberd --help'.\n", stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "emberd: unexpected argument '%s'\nTry 'emberd --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/*
 * The configuration file comes first so that the command line overrides
 * it: --config FILE (or --config=FILE) if given, else
 * EMBERD_CONFIG_DEFAULT if it exists. Returns 0, or the exit status.
 */
static int config_first(struct emberd_opts *o, int argc, char **argv)
{
	const char *path = NULL;
	char err[512];
	bool given = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			path = argv[++i];
			given = true;
		} else if (!strncmp(argv[i], "--config=", 9)) {
			path = argv[i] + 9;
			given = true;
		}
	}
	if (!path && access(EMBERD_CONFIG_DEFAULT, F_OK) == 0)
		path = EMBERD_CONFIG_DEFAULT;
	if (!path)
		return 0;
	if (emberd_config_load(path, o, err, sizeof(err))) {
		fprintf(stderr, "emberd: %s%s\n", err,
			given ? "" : " (the default configuration file)");
		return given ? 2 : 1;
	}
	return 0;
}

/* (rel) from the directory of /proc/self/exe, kept for the process: the
 * defaults of --vmm (ember-vmm beside emberd) and of the guest files (the
 * build tree's layout: build/bin/emberd, build/guest/vmlinux). */
static const char *beside_exe(const char *rel)
{
	char path[PATH_MAX], *slash, *out;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0)
		return rel;
	path[n] = 0;
	slash = strrchr(path, '/');
	if (slash)
		slash[1] = 0;
	if (asprintf(&out, "%s%s", slash ? path : "", rel) < 0)
		return rel;
	return out;
}

/* Load, pin, attach the router; open the ring buffer. */
static int setup_dp(struct emberd *d)
{
	struct dp_opts o = {
		.pin_root = d->o.pin_root, .gw_mac = EMBERD_GW_MAC, .verbose = d->o.verbose > 1};
	static char err[65536]; /* a verifier log can be long */
	int rc;

	inet_pton(AF_INET, EMBERD_GW_IP, o.gw_ip4);
	inet_pton(AF_INET6, EMBERD_GW_IP6, o.gw_ip6);
	rc = dp_load(&d->dp, &o, err, sizeof(err));
	if (rc) {
		log_err("loading the dataplane: %s", err);
		return rc;
	}
	if (d->o.ingress) {
		d->ingress_ifindex = (int)if_nametoindex(d->o.ingress);
		if (!d->ingress_ifindex) {
			log_err("--ingress %s: %s", d->o.ingress, strerror(errno));
			return -ENODEV;
		}
		rc = dp_attach_router(d->dp, d->ingress_ifindex, DP_XDP_AUTO, &d->mode);
		if (rc) {
			log_err("attaching the router to %s: %s", d->o.ingress, dp_errmsg(d->dp));
			return rc;
		}
		log_info("router attached to %s in %s mode", d->o.ingress, dp_mode_name(d->mode));
	}
	rc = dp_events_open(d->dp, wake_event, d);
	if (rc) {
		log_err("opening the wake ring buffer: %s", dp_errmsg(d->dp));
		return rc;
	}
	d->dpw = (struct watch){.fd = dp_events_fd(d->dp), .fn = on_dp};
	return watch_add(d, &d->dpw, EPOLLIN);
}

static void api_log(void *ctx, const char *fmt, va_list ap)
{
	char buf[512];

	(void)ctx;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = 0;
	log_dbg("api: %s", buf);
}

static int setup_api(struct emberd *d)
{
	char path[PATH_MAX], err[512];
	struct api_config cfg = {.sock_path = path,
				 .sock_gid = (gid_t)-1,
				 .ops = &emberd_api_ops,
				 .ctx = d,
				 .log = api_log};
	int rc = emberd_mkdir_p(d->o.run_dir);

	if (rc) {
		log_err("creating %s: %s", d->o.run_dir, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/api.sock", d->o.run_dir);
	rc = api_start(&d->api, &cfg, err, sizeof(err));
	if (rc) {
		log_err("API: %s", err);
		return rc;
	}
	d->apiw = (struct watch){.fd = api_fd(d->api), .fn = on_api};
	log_info("API on %s", path);
	return watch_add(d, &d->apiw, EPOLLIN);
}

/* signalfd for SIGTERM/SIGINT; SIGCHLD is not needed (one pidfd per child);
 * SIGPIPE ignored (a VMM that died leaves its control socket half-closed). */
static int setup_loop(struct emberd *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	d->sigw = (struct watch){.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC),
				 .fn = on_signal};
	d->tickw = (struct watch){.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC),
				  .fn = on_tick};
	if (d->ep < 0 || d->sigw.fd < 0 || d->tickw.fd < 0)
		return -errno;
	tick_set(d, EMBERD_TICK_MS);
	if (watch_add(d, &d->sigw, EPOLLIN) || watch_add(d, &d->tickw, EPOLLIN))
		return -errno;
	return 0;
}

static void run_loop(struct emberd *d)
{
	struct epoll_event ev[32];

	while (!d->stop) {
		int n = epoll_wait(d->ep, ev, 32, api_timeout_ms(d->api));

		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			w->fn(d, w, ev[i].events);
		}
		if (n == 0)
			api_run(d->api);
	}
}

static void teardown(struct emberd *d)
{
	pool_shutdown(d);
	images_close(d);
	if (d->api)
		api_stop(d->api);
	if (d->ingress_ifindex)
		dp_detach(d->ingress_ifindex);
	if (d->dp) {
		dp_events_close(d->dp);
		dp_close(d->dp);
		/* SIGTERM stopped every guest: the pins would only name dead
		 * taps. (A killed emberd leaves them, for the next to adopt.) */
		dp_unpin(d->o.pin_root);
	}
	app_registry_free(d->reg);
}

int main(int argc, char **argv)
{
	static struct emberd d = {
		.o = {.state_dir = "/var/lib/ember",
		      .run_dir = "/run/ember",
		      .scale_ms = 10,
		      .min_avail_mib = 256,
		      .image_max_bytes = EMBERD_IMAGE_MAX_BYTES,
		      .image_max_entries = EMBERD_IMAGE_MAX_ENTRIES},
		.ep = -1,
		.ev = &pool_events,
	};
	int rc;

	rc = config_first(&d.o, argc, argv);
	if (rc)
		return rc;
	if (parse_opts(&d.o, argc, argv))
		return 2;
	if (!d.o.vmm)
		d.o.vmm = beside_exe("ember-vmm");
	if (!d.o.guest_kernel)
		d.o.guest_kernel = beside_exe("../guest/vmlinux");
	if (!d.o.guest_initramfs)
		d.o.guest_initramfs = beside_exe("../guest/initramfs.cpio");
	emberd_verbose = d.o.verbose;
	if (access(d.o.vmm, X_OK)) {
		log_err("--vmm %s: %s", d.o.vmm, strerror(errno));
		return 1;
	}
	/* Not fatal: host images still deploy; an OCI image's deploy says why not. */
	if (access(d.o.guest_kernel, R_OK) || access(d.o.guest_initramfs, R_OK))
		log_err("guest kernel %s or initramfs %s: %s: apps of OCI images cannot be "
			"deployed (--guest-kernel, --guest-initramfs)",
			d.o.guest_kernel, d.o.guest_initramfs, strerror(errno));
	d.reg = app_registry_new();
	rc = d.reg ? emberd_mkdir_p(d.o.state_dir) : -ENOMEM;
	if (rc) {
		log_err("state directory %s: %s", d.o.state_dir, strerror(-rc));
		goto out;
	}
	/* Before the API: a store that cannot be read stops the start here. */
	rc = images_open(&d);
	if (rc)
		goto out;
	/* The API socket first: it refuses to start while another daemon
	 * answers on it, before anything could touch that daemon's pins. */
	rc = setup_loop(&d);
	if (!rc)
		rc = setup_api(&d);
	if (!rc)
		rc = setup_dp(&d);
	if (!rc)
		rc = adopt_all(&d);
	if (!rc)
		host_addrs_sync(&d);
	if (rc)
		goto out;
	log_info("ready (vmm %s, state %s)", d.o.vmm, d.o.state_dir);
	run_loop(&d);
out:
	teardown(&d);
	log_info("stopped");
	return rc ? 1 : 0;
}
