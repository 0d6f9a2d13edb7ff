/* SPDX-License-Identifier: Apache-2.0 */
/* The image run config /ember/run that emberd appends in a second cpio: bounds, parsed form,
 * parser. */
#ifndef EMBER_INIT_RUNCFG_H
#define EMBER_INIT_RUNCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RUN_PATH "/ember/run"

/* Bounds (docs/guest-run.md); the image config parser has the same ones for args and env. */
#define RUN_MAX_FILE   (1 << 20) /* the whole file */
#define RUN_MAX_ARGS   256
#define RUN_MAX_ENV    1024
#define RUN_MAX_VALUE  65536 /* any value ... */
#define RUN_MAX_ARGENV 32768 /* ... but an arg or env entry */
#define RUN_MAX_GROUPS 64
#define RUN_MAX_PORTS  32
#define RUN_MAX_DNS    3  /* MAXNS: resolvers read no more */
#define RUN_MAX_HOST   63 /* HOST_NAME_MAX */

/* What runc and Docker give a process whose image sets no PATH. */
#define RUN_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum run_proto { RUN_TCP, RUN_UDP, RUN_SCTP };

struct run_port {
	uint16_t port;
	enum run_proto proto;
};

/*
 * The parsed file. Every string points into @buf (the file's bytes, each
 * value's newline replaced by a NUL), so nothing is copied.
 */
struct run_cfg {
	char *args[RUN_MAX_ARGS + 1]; /* NULL-terminated, for execve */
	int nr_args;
	char *env[RUN_MAX_ENV + 2]; /* the given env, + RUN_DEFAULT_PATH if none, + NULL */
	int nr_env;
	const char *path;	   /* the value of the first PATH= entry of env */
	const char *workdir;	   /* "/" unless given */
	const char *hostname;	   /* NULL unless given */
	const char *root, *fstype; /* the image's block device; "erofs" or "ext4" */
	uid_t uid;
	gid_t gid;
	gid_t groups[RUN_MAX_GROUPS]; /* supplementary groups, none unless given */
	int nr_groups;
	const char *dns[RUN_MAX_DNS]; /* nameserver addresses, as given */
	int nr_dns;
	struct run_port ports[RUN_MAX_PORTS];
	int nr_ports;
	uint16_t ready_port; /* the first TCP port; else the first UDP one; 0 if none */
	bool ready_udp;	     /* it is a UDP port: ready once a socket is bound to it */
	char *buf;	     /* runcfg_read()'s copy of the file (freed by runcfg_free()) */
};

/*
 * runcfg_parse() - parse the @len bytes at @buf (modified in place: @rc's
 * strings point into it, so it must outlive @rc). Records are
 * `KEY LEN\n` + LEN bytes + `\n`; the keys, their bounds and which are
 * required are in docs/guest-run.md.
 * Returns 0, or -EINVAL / -E2BIG with a message naming the record in @err.
 */
int runcfg_parse(char *buf, size_t len, struct run_cfg *rc, char *err, size_t errlen);

/*
 * runcfg_read() - read and parse the file at @path into @rc.
 * Returns 0; -ENOENT if there is no such file (not an image guest, @err
 * untouched); or another -errno with a message in @err.
 */
int runcfg_read(const char *path, struct run_cfg *rc, char *err, size_t errlen);

/* runcfg_free() - release what runcfg_read() allocated. */
void runcfg_free(struct run_cfg *rc);

#endif
