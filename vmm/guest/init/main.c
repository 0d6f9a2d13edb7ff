/* SPDX-License-Identifier: Apache-2.0 */
/* ember-init: PID 1 of an ember guest, from the first doorbell to power-off. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ember/doorbell.h"
#include "init.h"
#include "runcfg.h"

/* If the kernel found no /dev/console in the initramfs, fds 0-2 are closed. */
static void ensure_console(void)
{
	int fd;

	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void read_cmdline(struct init_cfg *cfg)
{
	char text[INIT_CMDLINE_MAX], err[256];
	const char *fake = getenv("EMBER_INIT_TEST") ? getenv("EMBER_INIT_CMDLINE") : NULL;
	ssize_t n = -1;
	int fd;

	fd = fake ? -1 : open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	} else if (fake) {
		/* Host tests cannot set the kernel's command line. */
		n = (ssize_t)snprintf(text, sizeof(text), "%s", fake);
		n = n < (ssize_t)sizeof(text) ? n : (ssize_t)sizeof(text) - 1;
	}
	if (n < 0)
		init_panic(errno, "cannot read /proc/cmdline");
	text[n] = '\0';
	if (cmdline_parse(text, cfg, err, sizeof(err)) < 0)
		init_panic(EINVAL, err);
	log_quiet = cfg->quiet;
	if (cfg->nr_unknown)
		log_err("warning: unknown key(s) ignored: %s", cfg->unknown);
}

/*
 * An image guest: emberd appended /ember/run in a second cpio. Its hostname
 * and first TCP port (readiness) take the place of the command line's.
 * Returns the run config, or NULL for a guest without one.
 */
static const struct run_cfg *read_run(struct init_cfg *cfg)
{
	static struct run_cfg rc;
	char err[256];
	int ret;

	ret = runcfg_read(RUN_PATH, &rc, err, sizeof(err));
	if (ret == -ENOENT)
		return NULL;
	if (ret)
		init_panic(ret, err);
	if (cfg->root[0])
		init_panic(EINVAL, "ember.root and " RUN_PATH " both give a root");
	if (rc.hostname)
		snprintf(cfg->hostname, sizeof(cfg->hostname), "%s", rc.hostname);
	if (rc.ready_port) {
		cfg->port = rc.ready_port;
		cfg->port_udp = rc.ready_udp;
	}
	return &rc;
}

static void setup_root(const struct init_cfg *cfg, const struct run_cfg *rc)
{
	char err[256];
	int ret;

	if (rc) {
		ret = image_setup(rc, cfg, err, sizeof(err));
		if (ret)
			init_panic(ret, err);
		log_msg("image root: %s (%s, read-only) under a tmpfs overlay, workdir %s",
			rc->root, rc->fstype, rc->workdir);
	} else if (cfg->root[0]) {
		ret = mount_root(cfg->root, "ext4", err, sizeof(err));
		if (ret)
			init_panic(ret, err);
		log_msg("root: %s (read-only) under a tmpfs overlay", cfg->root);
	}
}

static void setup(const struct init_cfg *cfg, const struct run_cfg *rc)
{
	char err[256];
	int ret;

	if (cfg->hostname[0] && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		log_err("warning: sethostname %s: %s", cfg->hostname, strerror(errno));
	ret = net_setup(cfg, err, sizeof(err));
	if (ret)
		init_panic(ret, err);
	setup_root(cfg, rc);
	/* Before READY, so that every snapshot already listens for its hint. */
	ret = refresh_open();
	if (ret && ret != -ENOTSUP)
		log_err("warning: console input: %s: restores will not reseed", strerror(-ret));
}

/* Exit status the VMM gets: the workload's, or 128+signal as a shell says. */
static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return INIT_PANIC_STATUS;
}

static void run(const struct init_cfg *cfg, const struct run_cfg *rc, const sigset_t *sigs)
{
	char what[PATH_MAX + 64];
	pid_t pid;
	int status;

	snprintf(what, sizeof(what), "%s", cfg->exec);
	pid = rc ? image_start(rc, what, sizeof(what)) : workload_start(cfg);
	if (pid < 0) {
		log_err("cannot start %s: %s", what, strerror((int)-pid));
		doorbell_ring(EMBER_DB_WORKLOAD_EXIT, INIT_EXEC_FAIL_STATUS << 8);
		power_off(INIT_EXEC_FAIL_STATUS);
	}
	log_msg("started %s (pid %d) at %lu ms", what, (int)pid, log_ms());
	status = supervise(cfg, pid, sigs);
	doorbell_ring(EMBER_DB_WORKLOAD_EXIT, (uint32_t)status & 0xffff);
	log_msg("workload exited (status %d) at %lu ms, powering off", exit_code(status), log_ms());
	power_off(exit_code(status));
}

int main(void)
{
	const struct run_cfg *rc;
	struct init_cfg cfg;
	sigset_t sigs;
	char err[256];
	int db, ret;

	/* Mounting over /proc and /dev of a running system would be a disaster. */
	if (getpid() != 1) {
		fprintf(stderr, "ember-init: must run as PID 1 of a guest\n");
		return 1;
	}
	/* Blocked from the start so nothing is lost before supervise() waits. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGPWR);
	sigaddset(&sigs, SIGIO); /* a restore hint on the console (refresh.c) */
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	db = doorbell_open();
	doorbell_ring(EMBER_DB_INIT_STARTED, 0);
	ret = mount_early(err, sizeof(err));
	if (ret) {
		ensure_console();
		init_panic(ret, err);
	}
	ensure_console();
	read_cmdline(&cfg);
	if (db < 0)
		log_err("warning: ioperm(0x%x): %s: no doorbell", EMBER_DOORBELL_PORT,
			strerror(-db));
	log_msg("started at %lu ms", log_ms());
	rc = read_run(&cfg);
	setup(&cfg, rc);
	run(&cfg, rc, &sigs);
	return 0;
}
