// SPDX-License-Identifier: Apache-2.0
/* ember-vmm's command-line parsing: getopt_long plus pure parsers for sizes, --net, --disk. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 20; /* no suffix: MiB */
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		return -EINVAL;
	}
	/* Only a bare suffix letter: "1MB" and "1MiB" are refused, not guessed at. */
	if (*end)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cli_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++, s += 3) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (hi < 0 || lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	/* A multicast address cannot be a NIC's own. */
	if (m[0] & 1)
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

static int parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX)
		return -EINVAL;
	*fd = (int)v;
	return 0;
}

int cli_parse_net(char *spec, unsigned index, struct cli_net *n, char *err, size_t errlen)
{
	char *save = NULL, *tok;

	*n = (struct cli_net){.tap_fd = -1, .mac = {0x02, 0xeb, 0, 0, 0, (uint8_t)(index + 1)}};
	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "tap=", 4) && tok[4] && !n->tap_name && n->tap_fd < 0) {
			if (strlen(tok + 4) >= 16) {
				snprintf(err, errlen, "--net: tap name '%s' too long", tok + 4);
				return -EINVAL;
			}
			n->tap_name = tok + 4;
		} else if (!strncmp(tok, "fd=", 3) && !n->tap_name && n->tap_fd < 0) {
			if (parse_fd(tok + 3, &n->tap_fd)) {
				snprintf(err, errlen, "--net: bad fd '%s'", tok + 3);
				return -EINVAL;
			}
		} else if (!strncmp(tok, "mac=", 4)) {
			if (cli_parse_mac(tok + 4, n->mac)) {
				snprintf(err, errlen,
					 "--net: bad MAC '%s' (want XX:XX:XX:XX:XX:XX, unicast)",
					 tok + 4);
				return -EINVAL;
			}
			n->mac_set = true;
		} else {
			snprintf(err, errlen,
				 "--net: unexpected '%s' (want tap=NAME|fd=N[,mac=MAC])", tok);
			return -EINVAL;
		}
	}
	if (!n->tap_name && n->tap_fd < 0) {
		snprintf(err, errlen, "--net: needs tap=NAME or fd=N");
		return -EINVAL;
	}
	return 0;
}

int cli_parse_disk(char *spec, struct cli_disk *d, char *err, size_t errlen)
{
	char *comma = strchr(spec, ',');

	*d = (struct cli_disk){.path = spec, .read_only = true};
	if (comma) {
		*comma = '\0';
		if (!strcmp(comma + 1, "cow")) {
			d->read_only = false;
		} else if (strcmp(comma + 1, "ro")) {
			snprintf(err, errlen, "--disk: unknown mode '%s' (want ro or cow)",
				 comma + 1);
			return -EINVAL;
		}
	}
	if (!*spec) {
		snprintf(err, errlen, "--disk: empty path");
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_VCPUS,
	OPT_NET,
	OPT_DISK,
	OPT_RNG,
	OPT_CONSOLE,
	OPT_EVENTS,
	OPT_CPU_TEMPLATE,
	OPT_VERSION,
	OPT_SNAPSHOT_DIR,
	OPT_SNAPSHOT_ON_READY,
	OPT_SNAPSHOT_CONTINUE,
	OPT_PAUSED,
	OPT_CONTROL,
	OPT_CONTROL_FD,
};

static const struct option long_opts[] = {
	{"kernel", required_argument, NULL, OPT_KERNEL},
	{"initrd", required_argument, NULL, OPT_INITRD},
	{"cmdline", required_argument, NULL, OPT_CMDLINE},
	{"mem", required_argument, NULL, OPT_MEM},
	{"vcpus", required_argument, NULL, OPT_VCPUS},
	{"net", required_argument, NULL, OPT_NET},
	{"disk", required_argument, NULL, OPT_DISK},
	{"rng", no_argument, NULL, OPT_RNG},
	{"console", required_argument, NULL, OPT_CONSOLE},
	{"events", required_argument, NULL, OPT_EVENTS},
	{"cpu-template", required_argument, NULL, OPT_CPU_TEMPLATE},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"snapshot-dir", required_argument, NULL, OPT_SNAPSHOT_DIR},
	{"snapshot-on-ready", no_argument, NULL, OPT_SNAPSHOT_ON_READY},
	{"snapshot-continue", no_argument, NULL, OPT_SNAPSHOT_CONTINUE},
	{"paused", no_argument, NULL, OPT_PAUSED},
	{"control", required_argument, NULL, OPT_CONTROL},
	{"control-fd", required_argument, NULL, OPT_CONTROL_FD},
	{NULL, 0, NULL, 0},
};

static int parse_mem(const char *arg, struct cli_opts *o, char *err, size_t errlen)
{
	int ret = cli_parse_size(arg, &o->mem);

	if (ret) {
		snprintf(err, errlen, "--mem: '%s' is not a size (e.g. 256M, 1G)", arg);
		return ret;
	}
	if (o->mem < CLI_MEM_MIN || o->mem > CLI_MEM_MAX || o->mem & 0xfff) {
		snprintf(err, errlen, "--mem: %s out of range (16M..512G, a multiple of 4k)", arg);
		return -ERANGE;
	}
	return 0;
}

static int parse_vcpus(const char *arg, struct cli_opts *o, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || arg[0] < '0' || arg[0] > '9' || v < 1 || v > CLI_MAX_VCPUS) {
		snprintf(err, errlen, "--vcpus: '%s' is not a number from 1 to %u", arg,
			 CLI_MAX_VCPUS);
		return -EINVAL;
	}
	o->vcpus = (unsigned)v;
	return 0;
}

static int parse_console(const char *arg, struct cli_opts *o, char *err, size_t errlen)
{
	if (!*arg) {
		snprintf(err, errlen, "--console: empty (want PATH, stdout or none)");
		return -EINVAL;
	}
	o->console = !strcmp(arg, "stdout") ? CONSOLE_STDOUT
		     : !strcmp(arg, "none") ? CONSOLE_NONE
					    : CONSOLE_FILE;
	o->console_path = arg;
	return 0;
}

/* One option; returns 0, or -1 (usage error), 1 (help), 2 (version). */
static int parse_one(int c, char *arg, struct cli_opts *o, char *err, size_t errlen)
{
	switch (c) {
	case OPT_KERNEL:
		o->kernel = arg;
		return 0;
	case OPT_INITRD:
		o->initrd = arg;
		return 0;
	case OPT_CMDLINE:
		o->cmdline = arg;
		return 0;
	case OPT_MEM:
		o->mem_set = true;
		return parse_mem(arg, o, err, errlen) ? -1 : 0;
	case OPT_VCPUS:
		o->vcpus_set = true;
		return parse_vcpus(arg, o, err, errlen) ? -1 : 0;
	case OPT_NET:
		if (o->nr_net == CLI_MAX_NETS) {
			snprintf(err, errlen, "--net: at most %u devices", CLI_MAX_NETS);
			return -1;
		}
		o->nr_net++;
		return cli_parse_net(arg, o->nr_net - 1, &o->net[o->nr_net - 1], err, errlen) ? -1
											      : 0;
	case OPT_DISK:
		if (o->nr_disk == CLI_MAX_DISKS) {
			snprintf(err, errlen, "--disk: at most %u disks", CLI_MAX_DISKS);
			return -1;
		}
		return cli_parse_disk(arg, &o->disk[o->nr_disk++], err, errlen) ? -1 : 0;
	case OPT_RNG:
		o->rng = true;
		return 0;
	case OPT_CONSOLE:
		return parse_console(arg, o, err, errlen) ? -1 : 0;
	case OPT_EVENTS:
		o->events = arg;
		return 0;
	case OPT_CPU_TEMPLATE:
		o->cpu_template = arg;
		o->cpu_template_set = true;
		return 0;
	case OPT_SNAPSHOT_DIR:
		o->snapshot_dir = arg;
		return 0;
	case OPT_SNAPSHOT_ON_READY:
		o->snapshot_on_ready = true;
		return 0;
	case OPT_SNAPSHOT_CONTINUE:
		o->snapshot_continue = true;
		return 0;
	case OPT_PAUSED:
		o->paused = true;
		return 0;
	case OPT_CONTROL:
		if (!*arg) {
			snprintf(err, errlen, "--control: empty path");
			return -1;
		}
		o->control_path = arg;
		return 0;
	case OPT_CONTROL_FD:
		if (parse_fd(arg, &o->control_fd)) {
			snprintf(err, errlen, "--control-fd: bad fd '%s'", arg);
			return -1;
		}
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'h':
		return 1;
	case OPT_VERSION:
		return 2;
	default:
		snprintf(err, errlen, "unknown option or missing argument (see --help)");
		return -1;
	}
}

/*
 * The snapshot options must come together; restore takes its machine from the
 * snapshot, but the images of its disks from --disk (like the taps from --net:
 * one per device, in slot order; restore checks each is the snapshot's image).
 */
static enum cli_result check_snapshot_opts(const struct cli_opts *o, char *err, size_t errlen)
{
	if (o->paused && !o->control_path && o->control_fd < 0) {
		snprintf(err, errlen,
			 "--paused needs --control PATH or --control-fd N (to resume)");
		return CLI_USAGE;
	}
	if (o->restore) {
		if (!o->snapshot_dir)
			snprintf(err, errlen, "restore: --snapshot-dir is required");
		else if (o->kernel || o->initrd || o->cmdline || o->mem_set || o->vcpus_set ||
			 o->rng || o->snapshot_on_ready || o->snapshot_continue)
			snprintf(err, errlen,
				 "restore: --kernel, --initrd, --cmdline, --mem, --vcpus, --rng, "
				 "--snapshot-on-ready and --snapshot-continue come from the "
				 "snapshot and cannot be given");
		else
			return CLI_RUN;
		return CLI_USAGE;
	}
	if (!o->kernel) {
		snprintf(err, errlen, "--kernel is required");
		return CLI_USAGE;
	}
	if (!!o->snapshot_dir != o->snapshot_on_ready ||
	    (o->snapshot_continue && !o->snapshot_on_ready)) {
		snprintf(err, errlen,
			 "--snapshot-dir and --snapshot-on-ready go together "
			 "(--snapshot-continue needs both)");
		return CLI_USAGE;
	}
	return CLI_RUN;
}

enum cli_result cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen)
{
	bool restore = argc > 1 && !strcmp(argv[1], "restore");
	int c, r;

	*o = (struct cli_opts){
		.mem = CLI_MEM_DEFAULT, .vcpus = 1, .cpu_template = "baseline", .control_fd = -1};
	if (restore) {
		/* getopt starts at index 1: the subcommand stands where the program name was. */
		argc--, argv++;
		o->restore = true;
	}
	opterr = 0; /* we report errors ourselves */
	optind = 0; /* glibc: 0 re-initialises getopt fully (the tests parse many times) */
	while ((c = getopt_long(argc, argv, ":vh", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			snprintf(err, errlen, "%s option '%s' (see --help)",
				 c == '?' ? "unknown" : "missing argument to", argv[optind - 1]);
			return CLI_USAGE;
		}
		r = parse_one(c, optarg, o, err, errlen);
		if (r < 0)
			return CLI_USAGE;
		if (r > 0)
			return r == 1 ? CLI_HELP : CLI_VERSION;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return check_snapshot_opts(o, err, errlen);
}
