/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's guests: starting ember-vmm (boot or paused restore), pidfds, the control channel. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emberd.h"

static int tap_create(struct guest *g)
{
	return tap_open(g->id, g->tap, &g->ifindex);
}

/* In the child: tap -> fd 3, control socket -> fd 4, output to (log). */
static void child_exec(char **argv, int tap, int ctl, const char *log)
{
	sigset_t none;
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid(); /* no terminal signals: emberd stops its VMMs itself */
	tap = fcntl(tap, F_DUPFD, 10);
	ctl = ctl >= 0 ? fcntl(ctl, F_DUPFD, 10) : -1;
	if (tap < 0 || dup2(tap, 3) < 0 || (ctl >= 0 && dup2(ctl, 4) < 0))
		_exit(126);
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
	}
	syscall(SYS_close_range, ctl >= 0 ? 5 : 4, ~0u, 0);
	execv(argv[0], argv);
	_exit(127);
}

static void on_pidfd(struct emberd *d, struct watch *w, uint32_t events);
static void on_ctl(struct emberd *d, struct watch *w, uint32_t events);

static struct guest *guest_new(struct emberd *d, struct eapp *a)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->app = a;
	g->id = ++d->next_guest;
	g->slot = -1;
	g->pidw = (struct watch){.fd = -1, .fn = on_pidfd, .obj = g};
	g->ctlw = (struct watch){.fd = -1, .fn = on_ctl, .obj = g};
	return g;
}

/* Forks (argv); the tap and control fds are the child's 3 and 4. */
static int guest_spawn(struct emberd *d, struct guest *g, char **argv, int tap, int ctl)
{
	char log[PATH_MAX + 32];
	pid_t pid;
	int rc;

	snprintf(log, sizeof(log), "%s/g%u.log", g->app->dir, g->id);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(argv, tap, ctl, log);
	g->pid = pid;
	g->pidw.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (g->pidw.fd < 0) {
		rc = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return rc;
	}
	rc = watch_add(d, &g->pidw, EPOLLIN);
	if (rc) {
		close(g->pidw.fd);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return rc;
	}
	g->start_ticks = state_proc_start(pid);
	g->next = g->app->guests;
	g->app->guests = g;
	state_guest_save(d, g);
	return 0;
}

struct guest *guest_adopt(struct emberd *d, struct eapp *a, unsigned int id, pid_t pid, int pidfd,
			  int ctl)
{
	struct guest *g = guest_new(d, a);

	if (!g)
		return NULL;
	d->next_guest--; /* guest_new took a fresh id; this one keeps its old one */
	g->id = id;
	g->pid = pid;
	g->pidw.fd = pidfd;
	g->ctlw.fd = ctl;
	if (watch_add(d, &g->pidw, EPOLLIN) || watch_add(d, &g->ctlw, EPOLLIN)) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, pidfd, NULL); /* the caller keeps both fds */
		free(g);
		return NULL;
	}
	g->next = a->guests;
	a->guests = g;
	return g;
}

/* The guest's kernel command line: the network every clone shares, then
 * the app's workload and extra words (checked by app_spec). */
static void boot_cmdline(const struct app_spec *s, char *buf, size_t len)
{
	static const unsigned char mac[6] = EMBERD_GW_MAC;
	size_t n;

	n = (size_t)snprintf(buf, len,
			     "console=ttyS0 quiet reboot=p percpu_alloc=page noreplace-smp "
			     "ember.ip=%s/%d ember.gw=%s ember.ip6=%s/%d ember.gw6=%s "
			     "ember.gwmac=%02x:%02x:%02x:%02x:%02x:%02x ember.port=%u",
			     EMBERD_GUEST_IP, EMBERD_GUEST_PFX, EMBERD_GW_IP, EMBERD_GUEST_IP6,
			     EMBERD_GUEST_PFX6, EMBERD_GW_IP6, mac[0], mac[1], mac[2], mac[3],
			     mac[4], mac[5], s->services[0].port);
	/* An OCI image's root, argv and the rest are in its run config (the
	 * initramfs's ember/run, docs/guest-run.md); a host image's are here. */
	if (!s->image[0] && s->boot.exec[0] && n < len)
		n += (size_t)snprintf(buf + n, len - n, " ember.exec=%s", s->boot.exec);
	if (!s->image[0] && s->boot.rootfs[0] && n < len)
		n += (size_t)snprintf(buf + n, len - n, " ember.root=/dev/vda");
	for (unsigned int i = 0; !s->image[0] && i < s->nargs && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " ember.arg=\"%s\"", s->args[i]);
	if (s->cmdline[0] && n < len)
		snprintf(buf + n, len - n, " %s", s->cmdline);
}

int guest_boot(struct emberd *d, struct eapp *a)
{
	static const unsigned char m[6] = EMBERD_GUEST_MAC;
	char snap[PATH_MAX + 8], cons[PATH_MAX + 16], evs[PATH_MAX + 16], mem[16], vcpus[16];
	char net[64], disk[APP_PATH_MAX + 8], cmdline[4096];
	const struct app_spec *s = &a->entry->spec;
	char *argv[40];
	struct guest *g = guest_new(d, a);
	int n = 0, tap, rc;

	if (!g)
		return -ENOMEM;
	g->state = G_BOOTING;
	g->version = a->entry->version;
	app_snap_dir(a, g->version, snap, sizeof(snap));
	snprintf(cons, sizeof(cons), "%s/boot.console", a->dir);
	snprintf(evs, sizeof(evs), "%s/boot.events", a->dir);
	snprintf(mem, sizeof(mem), "%uM", s->mem_mib);
	snprintf(vcpus, sizeof(vcpus), "%u", s->vcpus);
	snprintf(net, sizeof(net), "fd=3,mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		 m[4], m[5]);
	boot_cmdline(s, cmdline, sizeof(cmdline));
	unlink(evs);
	argv[n++] = (char *)d->o.vmm;
	argv[n++] = "--kernel", argv[n++] = (char *)s->boot.kernel;
	if (s->boot.initrd[0])
		argv[n++] = "--initrd", argv[n++] = (char *)s->boot.initrd;
	if (s->boot.rootfs[0]) {
		snprintf(disk, sizeof(disk), "%s,ro", s->boot.rootfs);
		argv[n++] = "--disk", argv[n++] = disk;
	}
	argv[n++] = "--mem", argv[n++] = mem, argv[n++] = "--vcpus", argv[n++] = vcpus;
	argv[n++] = "--rng", argv[n++] = "--net", argv[n++] = net;
	argv[n++] = "--console", argv[n++] = cons, argv[n++] = "--events", argv[n++] = evs;
	argv[n++] = "--snapshot-dir", argv[n++] = snap, argv[n++] = "--snapshot-on-ready";
	argv[n++] = "--cmdline", argv[n++] = cmdline;
	argv[n] = NULL;
	tap = tap_create(g);
	rc = tap < 0 ? tap : guest_spawn(d, g, argv, tap, -1);
	if (tap >= 0)
		close(tap); /* the VMM holds the tap now */
	if (rc) {
		snprintf(a->error, sizeof(a->error), "starting the boot VMM: %s", strerror(-rc));
		free(g);
		return rc;
	}
	g->started = mono_ns();
	log_info("app %s: booting guest %u (pid %d, tap %s) to its ready point", app_name(a), g->id,
		 g->pid, g->tap);
	return 0;
}

int guest_restore(struct emberd *d, struct eapp *a, bool on_spare)
{
	char snap[PATH_MAX + 8], cons[PATH_MAX + 32], evs[PATH_MAX + 32], ctl[128];
	char disk[APP_PATH_MAX + 8], *argv[24];
	struct guest *g = guest_new(d, a);
	const struct app_spec *s;
	enum dp_xdp_mode used;
	int sv[2] = {-1, -1}, tap = -1, rc, n = 0;

	if (!g)
		return -ENOMEM;
	g->state = G_RESTORING;
	g->version = a->version;
	app_snap_dir(a, g->version, snap, sizeof(snap));
	snprintf(cons, sizeof(cons), "%s/g%u.console", a->dir, g->id);
	snprintf(evs, sizeof(evs), "%s/g%u.events", a->dir, g->id);
	/* fd 4 is the channel; the socket is how a restarted emberd reconnects. */
	state_ctl_path(d, g->id, ctl, sizeof(ctl));
	s = app_spec_of_version(a, g->version);
	argv[n++] = (char *)d->o.vmm, argv[n++] = "restore";
	argv[n++] = "--snapshot-dir", argv[n++] = snap;
	argv[n++] = "--net", argv[n++] = "fd=3";
	/* The disk the boot had, as it had it: the VMM checks it is the same. */
	if (s->boot.rootfs[0]) {
		snprintf(disk, sizeof(disk), "%s,ro", s->boot.rootfs);
		argv[n++] = "--disk", argv[n++] = disk;
	}
	argv[n++] = "--paused", argv[n++] = "--control-fd", argv[n++] = "4";
	argv[n++] = "--console", argv[n++] = cons, argv[n++] = "--events", argv[n++] = evs;
	if (ctl[0])
		argv[n++] = "--control", argv[n++] = ctl;
	argv[n] = NULL;
	if (on_spare) { /* the spare tap is the VMM's now, its guest program on it */
		tap = a->spare_fd;
		g->ifindex = a->spare_ifindex;
		snprintf(g->tap, sizeof(g->tap), "%s", a->spare_tap);
		a->spare_fd = -1;
		a->spare_ifindex = 0;
	} else {
		tap = tap_create(g);
	}
	rc = tap < 0 ? tap : 0;
	/* The guest program answers the guest's ARP and NATs its replies. */
	if (!rc && !on_spare && dp_attach_guest(d->dp, g->ifindex, DP_XDP_AUTO, &used))
		rc = -EIO;
	if (!rc && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		rc = -errno;
	if (!rc)
		rc = guest_spawn(d, g, argv, tap, sv[1]);
	if (tap >= 0)
		close(tap);
	if (sv[1] >= 0)
		close(sv[1]);
	if (rc) {
		if (sv[0] >= 0)
			close(sv[0]);
		log_err("app %s: restoring a clone: %s", app_name(a),
			rc == -EIO ? dp_errmsg(d->dp) : strerror(-rc));
		free(g);
		return rc;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	g->ctlw.fd = sv[0];
	g->started = mono_ns();
	log_dbg("app %s: restoring guest %u (pid %d, tap %s)", app_name(a), g->id, g->pid, g->tap);
	/* Answered once every vCPU is parked: "ready to resume". A channel
	 * that cannot be used is a failed restore, like a bad reply. */
	if (watch_add(d, &g->ctlw, EPOLLIN) || guest_ctl_hello(g)) {
		log_err("app %s guest %u: cannot use its control channel: stopping it", app_name(a),
			g->id);
		d->ev->ctl_failed(d, g, "its control channel could not be used");
	}
	return 0;
}

int guest_ctl(struct guest *g, enum ctl_cmd cmd)
{
	char line[64];
	int len = ctl_cmd_encode(line, sizeof(line), cmd, NULL);

	if (len < 0)
		return len;
	if (g->ctlw.fd < 0 || g->npending == sizeof(g->pending) / sizeof(g->pending[0]))
		return -EBUSY;
	/* One short line on a fresh socket: the buffer has room, never partial. */
	if (write(g->ctlw.fd, line, (size_t)len) != len)
		return -errno;
	g->pending[g->npending++] = cmd;
	return 0;
}

/* Asks a VMM it starts or adopts: version first, then its state. */
int guest_ctl_hello(struct guest *g)
{
	int rc = guest_ctl(g, CTL_VERSION);

	return rc ? rc : guest_ctl(g, CTL_STATUS);
}

static void ctl_line(struct emberd *d, struct guest *g, const char *line)
{
	char why[CTL_LINE_MAX + 256];
	struct ctl_reply r;
	enum ctl_cmd cmd;

	if (!g->npending) {
		log_err("guest %u: unexpected control reply '%s'", g->id, line);
		return;
	}
	cmd = g->pending[0];
	memmove(g->pending, g->pending + 1, --g->npending * sizeof(g->pending[0]));
	/* A reply it cannot read, or an error: the guest is stopped, never driven on a guess. */
	if (ctl_reply_decode(line, cmd, &r))
		snprintf(why, sizeof(why), "control: %s", r.text);
	else if (!r.ok && cmd == CTL_VERSION)
		snprintf(why, sizeof(why),
			 "its ember-vmm knows no control protocol version ('%s'; an ember-vmm "
			 "older than this emberd?), this emberd speaks version %u",
			 r.text, CTL_PROTO_VERSION);
	else if (!r.ok)
		snprintf(why, sizeof(why), "control: '%s' failed: %s", ctl_cmd_name(cmd), r.text);
	else if (cmd == CTL_VERSION && r.version != CTL_PROTO_VERSION)
		snprintf(why, sizeof(why),
			 "its ember-vmm speaks control protocol version %u, this emberd speaks "
			 "version %u",
			 r.version, CTL_PROTO_VERSION);
	else
		why[0] = 0;
	if (why[0]) {
		log_err("app %s guest %u: %s: stopping it", app_name(g->app), g->id, why);
		d->ev->ctl_failed(d, g, why);
	} else if (cmd == CTL_RESUME) {
		d->ev->resumed(d, g, &r);
	} else if ((cmd == CTL_STATUS || cmd == CTL_PAUSE) && r.paused && g->state != G_STOPPING) {
		d->ev->paused(d, g);
	}
}

static void on_ctl(struct emberd *d, struct watch *w, uint32_t events)
{
	struct guest *g = w->obj;
	ssize_t n;
	char *nl;

	(void)events;
	n = read(w->fd, g->rbuf + g->rlen, sizeof(g->rbuf) - 1 - g->rlen);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		watch_del(d, w); /* EOF: the VMM is going; its pidfd says when */
		return;
	}
	g->rlen += (size_t)n;
	g->rbuf[g->rlen] = 0;
	while ((nl = strchr(g->rbuf, '\n'))) {
		*nl = 0;
		ctl_line(d, g, g->rbuf);
		g->rlen -= (size_t)(nl + 1 - g->rbuf);
		memmove(g->rbuf, nl + 1, g->rlen + 1);
	}
	if (g->rlen == sizeof(g->rbuf) - 1)
		g->rlen = 0; /* a line longer than any reply: drop it */
}

static void guest_unlink(struct guest *g)
{
	for (struct guest **p = &g->app->guests; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			return;
		}
	}
}

/* True once (g)'s VMM is gone. A VMM adopted from an earlier emberd is not
 * our child (waitpid: ECHILD): its pidfd turning readable says it exited. */
static bool guest_gone(struct guest *g, int *status)
{
	struct pollfd p = {.fd = g->pidw.fd, .events = POLLIN};
	pid_t r = waitpid(g->pid, status, WNOHANG);

	if (r == g->pid)
		return true;
	return r < 0 && errno == ECHILD && poll(&p, 1, 0) == 1;
}

static void guest_free(struct emberd *d, struct guest *g)
{
	watch_del(d, &g->pidw);
	watch_del(d, &g->ctlw);
	state_guest_forget(g);
	free(g->wake);
	free(g);
}

static void on_pidfd(struct emberd *d, struct watch *w, uint32_t events)
{
	struct guest *g = w->obj;
	int status = 0;

	(void)events;
	if (!guest_gone(g, &status))
		return;
	watch_del(d, &g->pidw);
	watch_del(d, &g->ctlw);
	state_guest_forget(g);
	guest_unlink(g);
	if (g->state == G_BOOTING)
		d->ev->boot_done(d, g, status);
	else
		d->ev->exited(d, g, status);
	free(g->wake);
	free(g);
}

void guest_stop(struct emberd *d, struct guest *g)
{
	(void)d;
	if (g->state == G_STOPPING)
		return;
	g->state = G_STOPPING;
	g->stop_sent = mono_ns();
	kill(g->pid, SIGTERM);
}

/*
 * A VMM that outlives its SIGTERM by EMBERD_STOP_MAX_MS (a vCPU stuck in the
 * kernel, a hung exit path) is killed: a guest left in G_STOPPING would hold
 * its app's slot, tap and memory, and keep a deploy from ever retrying.
 */
void guest_stop_tick(struct emberd *d, uint64_t now)
{
	/* The tick runs every 1 ms while a wake waits for its first packet:
	 * a walk of every guest then is work the wake path need not pay. */
	if (now - d->stop_check_ns < EMBERD_TICK_MS * 1000000ull)
		return;
	d->stop_check_ns = now;
	for (struct eapp *a = d->apps; a; a = a->next)
		for (struct guest *g = a->guests; g; g = g->next) {
			if (g->state != G_STOPPING || !g->stop_sent ||
			    now - g->stop_sent < EMBERD_STOP_MAX_MS * 1000000ull)
				continue;
			log_err("app %s: guest %u (pid %d) still running %u ms after SIGTERM: "
				"SIGKILL",
				app_name(a), g->id, (int)g->pid, EMBERD_STOP_MAX_MS);
			/* By pidfd: an adopted VMM's PID is not ours to reuse-check. */
			syscall(SYS_pidfd_send_signal, g->pidw.fd, SIGKILL, NULL, 0);
			g->stop_sent = 0; /* once: its pidfd reports the exit */
		}
}

/* Shutdown: SIGTERM every VMM of (a), wait up to 3 s, then SIGKILL. */
void guest_reap_all(struct emberd *d, struct eapp *a)
{
	for (struct guest *g = a->guests; g; g = g->next)
		kill(g->pid, SIGTERM);
	for (int i = 0; i < 300 && a->guests; i++) {
		for (struct guest *g = a->guests, *nx; g; g = nx) {
			int status;

			nx = g->next;
			if (!guest_gone(g, &status))
				continue;
			guest_unlink(g);
			guest_free(d, g);
		}
		if (a->guests)
			usleep(10000);
	}
	for (struct guest *g = a->guests, *nx; g; g = nx) {
		struct pollfd p = {.fd = g->pidw.fd, .events = POLLIN};

		nx = g->next;
		log_err("guest %u (pid %d) ignored SIGTERM: SIGKILL", g->id, g->pid);
		kill(g->pid, SIGKILL);
		if (waitpid(g->pid, NULL, 0) < 0)
			poll(&p, 1, 1000); /* not our child: wait for its pidfd */
		guest_free(d, g);
	}
	a->guests = NULL;
}
