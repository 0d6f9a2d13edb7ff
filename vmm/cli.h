/* SPDX-License-Identifier: Apache-2.0 */
/* ember-vmm's command line: the parsed options and the pure parsers behind them. */
#ifndef EMBER_VMM_CLI_H
#define EMBER_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_MAX_NETS	4
#define CLI_MAX_DISKS	8
#define CLI_MAX_VCPUS	8
#define CLI_MEM_MIN	(16ull << 20)
#define CLI_MEM_MAX	(512ull << 30)
#define CLI_MEM_DEFAULT (256ull << 20)

struct cli_net {
	const char *tap_name; /* tap=NAME, or NULL */
	int tap_fd;	      /* fd=N, or -1 */
	uint8_t mac[6];
	bool mac_set; /* mac= given (restore: the clone gets this MAC instead of the snapshot's) */
};

struct cli_disk {
	const char *path;
	bool read_only; /* ",ro" (default); ",cow" makes it false */
};

enum cli_console { CONSOLE_STDOUT, CONSOLE_NONE, CONSOLE_FILE };

struct cli_opts {
	const char *kernel, *initrd, *cmdline;
	uint64_t mem;
	unsigned vcpus;
	struct cli_net net[CLI_MAX_NETS];
	unsigned nr_net;
	struct cli_disk disk[CLI_MAX_DISKS];
	unsigned nr_disk;
	bool rng;
	enum cli_console console;
	const char *console_path;
	const char *events;
	const char *cpu_template; /* name, checked by cpu_template_parse() */
	bool cpu_template_set;	  /* given on the command line (restore compares it) */
	int verbose;
	/* Snapshots (docs/snapshot-format.md). */
	bool restore;		  /* "ember-vmm restore ...": start from snapshot_dir */
	const char *snapshot_dir; /* --snapshot-dir */
	bool snapshot_on_ready;	  /* --snapshot-on-ready: snapshot at the READY doorbell */
	bool snapshot_continue;	  /* --snapshot-continue: keep running after it (else exit 0) */
	bool mem_set, vcpus_set;  /* given explicitly (refused with restore) */
	/* Control channel (docs/control.md). */
	bool paused;		  /* --paused: start with every vCPU parked */
	const char *control_path; /* --control PATH: listen on a Unix stream socket */
	int control_fd;		  /* --control-fd N: an inherited connected socket, or -1 */
};

enum cli_result {
	CLI_RUN,     /* options valid: boot */
	CLI_HELP,    /* --help: print usage, exit 0 */
	CLI_VERSION, /* --version */
	CLI_USAGE,   /* bad usage: @err says why, exit 2 */
};

/*
 * cli_parse() - parse argv into @o (defaults filled in). argv[1] "restore"
 * selects the restore form (no --kernel; the snapshot fixes RAM, vCPUs and
 * devices). Pure: never prints.
 */
enum cli_result cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen);

/*
 * cli_parse_size() - "256M", "1G", "65536k", "512" (no suffix: MiB, as QEMU's
 * -m) into bytes. Returns 0, -EINVAL (syntax) or -ERANGE (overflow).
 */
int cli_parse_size(const char *s, uint64_t *bytes);

/* cli_parse_mac() - "52:54:00:12:34:56" into @mac. Returns 0 or -EINVAL. */
int cli_parse_mac(const char *s, uint8_t mac[6]);

/*
 * cli_parse_net() - "tap=NAME[,mac=MAC]" or "fd=N[,mac=MAC]"; @index picks
 * the default MAC 02:eb:00:00:00:<index+1>. Returns 0 or -EINVAL with @err.
 */
int cli_parse_net(char *spec, unsigned index, struct cli_net *n, char *err, size_t errlen);

/* cli_parse_disk() - "PATH[,ro|,cow]". Returns 0 or -EINVAL with @err. */
int cli_parse_disk(char *spec, struct cli_disk *d, char *err, size_t errlen);

#endif
