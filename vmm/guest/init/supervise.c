/* SPDX-License-Identifier: Apache-2.0 */
/* Starting the workload and watching it: readiness probe, signals, zombie reaping. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ember/doorbell.h"
#include "init.h"

/* Probe interval: 2 ms at first, growing by half each time up to 20 ms. */
#define PROBE_FIRST_NS 2000000L
#define PROBE_MAX_NS   20000000L
/* After SIGTERM is forwarded, how long the workload has before SIGKILL. */
#define TERM_GRACE_MS 10000UL

struct watch {
	pid_t pid;
	struct listen_watch lw;
	bool probing; /* not READY yet and /proc/net/tcp* could be opened */
	long probe_ns;
	unsigned int probes;
	unsigned long kill_at_ms; /* 0: no SIGTERM forwarded yet */
};

pid_t workload_start(const struct init_cfg *cfg)
{
	char port_env[32];
	char *argv[INIT_MAX_ARGS + 2];
	char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOME=/", "TERM=linux", port_env, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int i, ret;

	snprintf(port_env, sizeof(port_env), "EMBER_PORT=%u", cfg->port);
	argv[0] = (char *)cfg->exec;
	for (i = 0; i < cfg->nr_args; i++)
		argv[i + 1] = (char *)cfg->args[i];
	argv[i + 1] = NULL;
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	/* init blocks every signal it waits for; the workload starts clean, in
	 * its own session. glibc spawns with CLONE_VFORK: no page-table copy,
	 * which matters where every kernel page fault is emulated. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
	posix_spawnattr_setsigmask(&attr, &none);
	/* Console input belongs to ember-init (restore hints): stdin is /dev/null. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	ret = posix_spawn(&pid, cfg->exec, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return ret ? -ret : pid;
}

/* Reap every zombie (PID 1's duty); 1 if the workload was among them. */
static int reap(pid_t workload, int *status)
{
	int st, found = 0;
	pid_t r;

	while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
		if (r == workload) {
			*status = st;
			found = 1;
		}
	}
	return found;
}

static void probe(struct watch *w)
{
	w->probes++;
	if (listen_check(&w->lw)) {
		w->probing = false;
		listen_close(&w->lw);
		doorbell_ring(EMBER_DB_READY, w->lw.port);
		log_msg("ready: port %u listening at %lu ms (%u probes)", w->lw.port, log_ms(),
			w->probes);
		return;
	}
	w->probe_ns += w->probe_ns / 2;
	if (w->probe_ns > PROBE_MAX_NS)
		w->probe_ns = PROBE_MAX_NS;
}

static void on_signal(struct watch *w, int sig)
{
	if (sig == SIGIO) {
		refresh_poll();
		return;
	}
	if (sig == SIGHUP) {
		kill(w->pid, SIGHUP);
		return;
	}
	/* SIGTERM, SIGINT (ctrl-alt-del), SIGPWR: stop the workload gracefully;
	 * its exit powers the guest off. */
	log_msg("signal %d: stopping the workload", sig);
	kill(w->pid, SIGTERM);
	if (!w->kill_at_ms)
		w->kill_at_ms = log_ms() + TERM_GRACE_MS;
}

/* How long to sleep: until the next probe or the SIGKILL deadline. */
static struct timespec *next_timeout(struct watch *w, struct timespec *ts)
{
	long ns = -1;

	if (w->probing)
		ns = w->probe_ns;
	if (w->kill_at_ms) {
		unsigned long now = log_ms();
		long left = w->kill_at_ms > now ? (long)(w->kill_at_ms - now) * 1000000L : 0;

		if (ns < 0 || left < ns)
			ns = left;
	}
	if (ns < 0)
		return NULL;
	ts->tv_sec = ns / 1000000000L;
	ts->tv_nsec = ns % 1000000000L;
	return ts;
}

int supervise(const struct init_cfg *cfg, pid_t pid, const sigset_t *sigs)
{
	struct watch w = {.pid = pid, .probe_ns = PROBE_FIRST_NS};
	struct timespec ts;
	siginfo_t info;
	int sig, status = 0;

	w.probing = listen_open(&w.lw, cfg->port, cfg->port_udp) == 0;
	if (!w.probing)
		log_err("cannot open /proc/net/%s*: READY will not be sent",
			cfg->port_udp ? "udp" : "tcp");
	for (;;) {
		sig = sigtimedwait(sigs, &info, next_timeout(&w, &ts));
		if (sig == SIGCHLD) {
			if (reap(pid, &status))
				break;
		} else if (sig > 0) {
			on_signal(&w, sig);
		} else if (errno == EAGAIN) {
			if (w.kill_at_ms && log_ms() >= w.kill_at_ms) {
				log_err("workload ignored SIGTERM for %lu ms: SIGKILL",
					TERM_GRACE_MS);
				kill(pid, SIGKILL);
				w.kill_at_ms = 0;
			}
			if (w.probing)
				probe(&w);
		}
	}
	if (w.probing)
		listen_close(&w.lw);
	return status;
}
