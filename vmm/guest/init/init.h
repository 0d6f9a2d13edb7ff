/* SPDX-License-Identifier: Apache-2.0 */
/* ember-init internals: the boot configuration and every component's contract. */
#ifndef EMBER_INIT_H
#define EMBER_INIT_H

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/types.h>

#include "ember/doorbell.h"

#define INIT_MAX_ARGS	 16   /* ember.arg= may be repeated this often */
#define INIT_MAX_ARG	 256  /* longest ember.arg / ember.exec value, with NUL */
#define INIT_MAX_DEV	 64   /* longest ember.root value, with NUL */
#define INIT_MAX_HOST	 64   /* HOST_NAME_MAX, with NUL */
#define INIT_MAX_UNKNOWN 256  /* room for the names of unknown ember.* keys */
#define INIT_CMDLINE_MAX 4096 /* x86 COMMAND_LINE_SIZE is 2048 */

#define INIT_DEFAULT_EXEC "/bin/ember-demo"
#define INIT_DEFAULT_PORT 80
#define INIT_IFNAME	  "eth0"

/* Status ember-init powers off with when it cannot go on (after a PANIC). */
#define INIT_PANIC_STATUS 255
/* Status when the workload cannot be started at all (as a shell would). */
#define INIT_EXEC_FAIL_STATUS 127

/* Everything the kernel command line can set (see docs/guest-init.md). */
struct init_cfg {
	bool has_ip, has_ip6, has_gw, has_gw6, has_gwmac;
	struct in_addr ip, gw;
	struct in6_addr ip6, gw6;
	uint8_t prefix, prefix6;
	uint8_t gwmac[6];
	uint16_t port;
	bool port_udp;		 /* readiness is a UDP socket bound to (port), not a TCP listener */
	bool quiet;		 /* the kernel's own `quiet`: ember-init prints errors only */
	char root[INIT_MAX_DEV]; /* empty: stay on the initramfs */
	char exec[INIT_MAX_ARG];
	char args[INIT_MAX_ARGS][INIT_MAX_ARG];
	int nr_args;
	char hostname[INIT_MAX_HOST]; /* empty: leave the kernel's */
	int nr_unknown;
	char unknown[INIT_MAX_UNKNOWN]; /* space-separated unknown ember.* keys */
};

/* --- cmdline.c (pure) --- */

/*
 * cmdline_parse() - fill @cfg from the text of /proc/cmdline (@text, NUL
 * terminated). Words are separated by blanks; a value may be double-quoted
 * as the kernel allows (`ember.arg="a b"`). Words that are not ember.* keys
 * are ignored except `quiet`; parsing stops at `--` (what follows is init's
 * argv). Unknown ember.* keys are collected in cfg->unknown.
 * Returns 0, or -EINVAL / -E2BIG with a message naming the key in @err.
 */
int cmdline_parse(const char *text, struct init_cfg *cfg, char *err, size_t errlen);

/* cmdline_defaults() - the configuration with no ember.* key given. */
void cmdline_defaults(struct init_cfg *cfg);

/* --- listen.c (pure parser + poller) --- */

/*
 * listen_scan() - does the text of /proc/net/tcp or /proc/net/tcp6 (@text,
 * @len bytes, need not be NUL terminated) hold a socket in state LISTEN (0A)
 * on local port @port? With @udp, the text of /proc/net/udp or udp6 and an
 * unconnected socket bound there (07: a UDP server's). Returns 1 yes, 0 no,
 * -EINVAL if the text does not look like that file at all (no header line).
 */
int listen_scan(const char *text, size_t len, uint16_t port, bool udp);

struct listen_watch {
	int fd[2]; /* /proc/net/tcp and tcp6 (udp and udp6), -1 if absent */
	uint16_t port;
	bool udp;
};

/* listen_open() - open the files once; returns 0 or -errno if neither opens. */
int listen_open(struct listen_watch *w, uint16_t port, bool udp);
/* listen_check() - 1 if something listens on the port now, 0 if not. */
int listen_check(struct listen_watch *w);
void listen_close(struct listen_watch *w);

/* --- nlmsg.c (pure rtnetlink message builders) --- */

struct nlbuf {
	uint8_t *data;
	size_t len, cap;
	uint32_t seq; /* sequence number of the next message */
};

/*
 * Each builder appends one request (NLM_F_REQUEST | NLM_F_ACK, replacing
 * what exists so a second run is harmless) to @b and returns 0, or -ENOSPC
 * when @b is full (then @b is left as it was).
 */
int nl_link_up(struct nlbuf *b, int ifindex);
int nl_addr(struct nlbuf *b, int family, int ifindex, const void *addr, uint8_t prefix);
int nl_neigh(struct nlbuf *b, int family, int ifindex, const void *addr, const uint8_t mac[6]);
int nl_default_route(struct nlbuf *b, int family, int ifindex, const void *gw);
/* nl_link_mac() - set the link's hardware address (IFLA_ADDRESS). */
int nl_link_mac(struct nlbuf *b, int ifindex, const uint8_t mac[6]);

/* --- net.c --- */

/*
 * net_setup() - bring up lo and (with ember.ip/ip6) eth0 with its addresses,
 * a permanent neighbour entry for the gateway and default routes, in one
 * netlink batch. Returns 0 or -errno with a message in @err.
 */
int net_setup(const struct init_cfg *cfg, char *err, size_t errlen);
/* net_set_mac() - give eth0 the hardware address @mac. Returns 0 or -errno (@err). */
int net_set_mac(const uint8_t mac[6], char *err, size_t errlen);

/* --- mounts.c --- */

struct mnt {
	const char *src, *dir, *type;
	unsigned long flags;
	const char *data;
};

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* do_mount() - mount @m; an EBUSY (mounted already) is success. 0 or -errno (@err). */
int do_mount(const struct mnt *m, char *err, size_t errlen);
/* make_dir() - mkdir 0755; an existing directory is success, anything else there is not. */
int make_dir(const char *path, char *err, size_t errlen);

/* mount_early() - /proc, /dev, /sys, /tmp, /run. Returns 0 or -errno (@err). */
int mount_early(char *err, size_t errlen);
/*
 * mount_root() - mount @dev (@fstype: ext4, erofs) read-only under a
 * tmpfs-backed overlay and make it the root, moving /proc, /dev, /sys, /tmp
 * and /run into it. Returns 0 or -errno with a message in @err.
 */
int mount_root(const char *dev, const char *fstype, char *err, size_t errlen);

/* --- image.c, image_exec.c (runcfg.h has the run config) --- */

struct run_cfg;

/*
 * image_setup() - make the image of @rc the root: its disk read-only under
 * a tmpfs overlay, the OCI runtime spec's default mounts, /etc/hosts,
 * /etc/resolv.conf and /etc/hostname (from @cfg's hostname and addresses),
 * then enter its workdir (created if missing). Returns 0 or -errno (@err).
 */
int image_setup(const struct run_cfg *rc, const struct init_cfg *cfg, char *err, size_t errlen);
/*
 * image_start() - spawn @rc's args with exactly its env, as its uid, gid and
 * groups, the program found through its PATH. Returns the pid, with the
 * program's path in @what; or -errno, with what failed in @what.
 */
pid_t image_start(const struct run_cfg *rc, char *what, size_t whatlen);

/* --- hint.c (pure) --- */

/* A parsed restore hint (include/ember/doorbell.h has the line's format). */
struct init_hint {
	uint64_t gen;
	int64_t clock_step_ns;
	uint8_t seed[EMBER_HINT_SEED_LEN];
	bool has_mac;
	uint8_t mac[6];
};

/*
 * hint_parse() - parse one console line (without its newline). Returns 1
 * and fills @h for a valid hint, 0 if the line is not a hint at all (does
 * not start with EMBER_HINT_PREFIX), -EINVAL with the reason in @err for a
 * malformed hint (missing/duplicate/unknown key, bad value).
 */
int hint_parse(const char *line, struct init_hint *h, char *err, size_t errlen);

/* --- refresh.c --- */

/*
 * refresh_open() - read restore hints from the console: echo off, SIGIO to
 * this process when a line arrives (the caller blocks SIGIO and waits for
 * it). Returns 0 or -errno; then hints are never seen.
 */
int refresh_open(void);
/* refresh_poll() - on SIGIO: apply every complete hint line waiting. */
void refresh_poll(void);

/* --- supervise.c --- */

/* workload_start() - spawn the workload; returns its pid or -errno. */
pid_t workload_start(const struct init_cfg *cfg);
/*
 * supervise() - wait for the signals in @sigs (blocked by the caller): reap
 * children, forward SIGTERM/SIGINT/SIGPWR/SIGHUP to the workload, apply
 * restore hints on SIGIO, ring READY once its port listens. Returns the workload's wait status when
 * it exits.
 */
int supervise(const struct init_cfg *cfg, pid_t pid, const sigset_t *sigs);

/* --- doorbell.c --- */

/* doorbell_open() - get access to the port; 0 or -errno (then rings are no-ops). */
int doorbell_open(void);
void doorbell_ring(unsigned int event, uint32_t arg);
/* power_off() - sync, ring POWEROFF(@status), fall back to reboot(2). */
void __attribute__((noreturn)) power_off(int status);
/* init_panic() - print @why, ring PANIC(@err) and power off. */
void __attribute__((noreturn)) init_panic(int err, const char *why);

/* --- log.c --- */

extern bool log_quiet;
/* One line "ember-init: ..." on the console, in one write(2). */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, printed even under `quiet`. */
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Milliseconds since the guest booted (CLOCK_MONOTONIC, read through the vDSO). */
unsigned long log_ms(void);

#endif
