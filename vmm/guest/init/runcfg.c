/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parser of /ember/run: length-prefixed records, each bounded and checked before use. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runcfg.h"

/* `KEY LEN\n`: the longest key (8) + ' ' + 7 digits + '\n', with room to spare. */
#define RUN_MAX_HEADER 24
#define RUN_MAX_KEY    15

/* Where the parser is, for messages that name the record. */
struct cursor {
	struct run_cfg *rc;
	unsigned int record; /* 1-based */
	const char *key;
	unsigned int seen; /* bit per single-valued key given */
	char *err;
	size_t errlen;
};

struct key {
	const char *name;
	size_t max;	   /* longest value */
	unsigned int once; /* bit in cursor.seen for a single-valued key, 0 if repeatable */
	int (*parse)(struct cursor *c, char *val, size_t len);
};

static int refuse(struct cursor *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct cursor *c, int ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->record)
		n = snprintf(c->err, c->errlen, RUN_PATH ": ");
	else
		n = snprintf(c->err, c->errlen, RUN_PATH ": record %u%s%s%s: ", c->record,
			     c->key ? " (" : "", c->key ? c->key : "", c->key ? ")" : "");
	if (n < 0 || (size_t)n >= c->errlen)
		return ret;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return ret;
}

/* Strict decimal in [0, @max]: digits only, not empty, no leading zero. */
static int parse_dec(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static int key_arg(struct cursor *c, char *val, size_t len)
{
	struct run_cfg *rc = c->rc;

	if (rc->nr_args >= RUN_MAX_ARGS)
		return refuse(c, -E2BIG, "more than %d arguments", RUN_MAX_ARGS);
	if (!rc->nr_args && !len)
		return refuse(c, -EINVAL, "the first argument (the program) is empty");
	rc->args[rc->nr_args++] = val;
	return 0;
}

/* NAME=VALUE with a name; everything else in it is the image's business. */
static int key_env(struct cursor *c, char *val, size_t len)
{
	struct run_cfg *rc = c->rc;
	const char *eq = memchr(val, '=', len);

	if (rc->nr_env >= RUN_MAX_ENV)
		return refuse(c, -E2BIG, "more than %d entries", RUN_MAX_ENV);
	if (!eq || eq == val)
		return refuse(c, -EINVAL, "'%.64s' is not NAME=VALUE", val);
	if (!rc->path && !strncmp(val, "PATH=", 5))
		rc->path = val + 5;
	rc->env[rc->nr_env++] = val;
	return 0;
}

static int key_absolute(struct cursor *c, const char *val, const char **dst)
{
	if (val[0] != '/')
		return refuse(c, -EINVAL, "'%.64s' is not an absolute path", val);
	*dst = val;
	return 0;
}

static int key_workdir(struct cursor *c, char *val, size_t len)
{
	(void)len;
	return key_absolute(c, val, &c->rc->workdir);
}

static int key_root(struct cursor *c, char *val, size_t len)
{
	(void)len;
	return key_absolute(c, val, &c->rc->root);
}

static int key_fstype(struct cursor *c, char *val, size_t len)
{
	(void)len;
	if (strcmp(val, "erofs") && strcmp(val, "ext4"))
		return refuse(c, -EINVAL, "'%.64s' is neither erofs nor ext4", val);
	c->rc->fstype = val;
	return 0;
}

/* (uid_t)-1 means "leave unchanged" to setresuid(2): never a valid id here. */
static int parse_id(struct cursor *c, const char *val, size_t len, uint32_t *out)
{
	unsigned long v;

	if (parse_dec(val, len, 0xfffffffeUL, &v))
		return refuse(c, -EINVAL, "'%.64s' is not an id (0-4294967294)", val);
	*out = (uint32_t)v;
	return 0;
}

static int key_uid(struct cursor *c, char *val, size_t len)
{
	return parse_id(c, val, len, &c->rc->uid);
}

static int key_gid(struct cursor *c, char *val, size_t len)
{
	return parse_id(c, val, len, &c->rc->gid);
}

/* Comma-separated gids; an empty value is no supplementary group. */
static int key_groups(struct cursor *c, char *val, size_t len)
{
	struct run_cfg *rc = c->rc;
	size_t off = 0, n;
	int ret;

	while (off < len) {
		n = strcspn(val + off, ",");
		if (rc->nr_groups >= RUN_MAX_GROUPS)
			return refuse(c, -E2BIG, "more than %d groups", RUN_MAX_GROUPS);
		ret = parse_id(c, val + off, n, &rc->groups[rc->nr_groups++]);
		if (ret)
			return ret;
		off += n + 1;
		if (off == len)
			return refuse(c, -EINVAL, "ends with a comma");
	}
	return 0;
}

/* RFC 1123: it goes into /etc/hosts and /etc/hostname, so nothing else may pass. */
static int key_hostname(struct cursor *c, char *val, size_t len)
{
	size_t i;

	if (!len || len > RUN_MAX_HOST)
		return refuse(c, -EINVAL, "expected 1-%d bytes", RUN_MAX_HOST);
	for (i = 0; i < len; i++) {
		char ch = val[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ((ch == '-' || ch == '.') && i))
			continue;
		return refuse(c, -EINVAL, "'%.64s': expected letters, digits, '-', '.'", val);
	}
	c->rc->hostname = val;
	return 0;
}

static int key_port(struct cursor *c, char *val, size_t len)
{
	static const char *const protos[] = {"tcp", "udp", "sctp"};
	struct run_cfg *rc = c->rc;
	const char *slash = memchr(val, '/', len);
	unsigned long p;
	size_t i;

	if (rc->nr_ports >= RUN_MAX_PORTS)
		return refuse(c, -E2BIG, "more than %d ports", RUN_MAX_PORTS);
	for (i = 0; slash && i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcmp(slash + 1, protos[i]))
			break;
	if (!slash || i == sizeof(protos) / sizeof(protos[0]) ||
	    parse_dec(val, (size_t)(slash - val), 65535, &p) || !p)
		return refuse(c, -EINVAL, "'%.64s': expected PORT/tcp, PORT/udp or PORT/sctp", val);
	rc->ports[rc->nr_ports++] = (struct run_port){(uint16_t)p, (enum run_proto)i};
	/* Readiness: the first TCP port; a UDP-only app's first UDP port. */
	if ((i == RUN_TCP && (!rc->ready_port || rc->ready_udp)) ||
	    (i == RUN_UDP && !rc->ready_port)) {
		rc->ready_port = (uint16_t)p;
		rc->ready_udp = i == RUN_UDP;
	}
	return 0;
}

/* An address only: the value is written into /etc/resolv.conf as is. */
static int key_dns(struct cursor *c, char *val, size_t len)
{
	struct run_cfg *rc = c->rc;
	unsigned char addr[16];

	(void)len;
	if (rc->nr_dns >= RUN_MAX_DNS)
		return refuse(c, -E2BIG, "more than %d name servers", RUN_MAX_DNS);
	if (inet_pton(AF_INET, val, addr) != 1 && inet_pton(AF_INET6, val, addr) != 1)
		return refuse(c, -EINVAL, "'%.64s' is not an IP address", val);
	rc->dns[rc->nr_dns++] = val;
	return 0;
}

enum { O_WORKDIR = 1, O_UID = 2, O_GID = 4, O_GROUPS = 8, O_HOST = 16, O_ROOT = 32, O_FS = 64 };

/* clang-format off */
static const struct key keys[] = {
	{ "arg",      RUN_MAX_ARGENV, 0,         key_arg },
	{ "env",      RUN_MAX_ARGENV, 0,         key_env },
	{ "workdir",  RUN_MAX_VALUE,  O_WORKDIR, key_workdir },
	{ "uid",      RUN_MAX_VALUE,  O_UID,     key_uid },
	{ "gid",      RUN_MAX_VALUE,  O_GID,     key_gid },
	{ "groups",   RUN_MAX_VALUE,  O_GROUPS,  key_groups },
	{ "hostname", RUN_MAX_VALUE,  O_HOST,    key_hostname },
	{ "root",     RUN_MAX_VALUE,  O_ROOT,    key_root },
	{ "fstype",   RUN_MAX_VALUE,  O_FS,      key_fstype },
	{ "port",     RUN_MAX_VALUE,  0,         key_port },
	{ "dns",      RUN_MAX_VALUE,  0,         key_dns },
};
/* clang-format on */

static const struct key *find_key(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == len && !memcmp(keys[i].name, name, len))
			return &keys[i];
	return NULL;
}

/* `KEY LEN\n` at @p (@avail bytes): the key, the value's length, the header's. */
static int parse_header(struct cursor *c, const char *p, size_t avail, const struct key **k,
			size_t *vlen, size_t *hlen)
{
	const char *nl = memchr(p, '\n', avail < RUN_MAX_HEADER ? avail : RUN_MAX_HEADER);
	const char *sp;
	unsigned long v;

	if (!nl)
		return avail < RUN_MAX_HEADER ? refuse(c, -EINVAL, "truncated header")
					      : refuse(c, -EINVAL, "header longer than %d bytes",
						       RUN_MAX_HEADER - 1);
	if (memchr(p, '\0', (size_t)(nl - p)))
		return refuse(c, -EINVAL, "NUL byte in the header");
	sp = memchr(p, ' ', (size_t)(nl - p));
	if (!sp || sp == p || sp - p > RUN_MAX_KEY)
		return refuse(c, -EINVAL, "expected 'KEY LENGTH' in the header");
	*k = find_key(p, (size_t)(sp - p));
	if (!*k)
		return refuse(c, -EINVAL, "unknown key '%.*s'", (int)(sp - p), p);
	c->key = (*k)->name;
	if (parse_dec(sp + 1, (size_t)(nl - sp - 1), RUN_MAX_FILE, &v))
		return refuse(c, -EINVAL, "bad length '%.*s'", (int)(nl - sp - 1), sp + 1);
	if (v > (*k)->max)
		return refuse(c, -E2BIG, "value of %lu bytes, at most %zu", v, (*k)->max);
	*vlen = v;
	*hlen = (size_t)(nl - p) + 1;
	return 0;
}

/* One record at @p; returns its size, or -errno. */
static long parse_record(struct cursor *c, char *p, size_t avail)
{
	const struct key *k = NULL;
	size_t vlen = 0, hlen = 0;
	int ret;

	c->key = NULL;
	ret = parse_header(c, p, avail, &k, &vlen, &hlen);
	if (ret)
		return ret;
	if (vlen >= avail - hlen)
		return refuse(c, -EINVAL, "%zu-byte value runs past the end of the file", vlen);
	if (p[hlen + vlen] != '\n')
		return refuse(c, -EINVAL, "value not followed by a newline");
	if (memchr(p + hlen, '\0', vlen))
		return refuse(c, -EINVAL, "NUL byte in the value");
	if (k->once & c->seen)
		return refuse(c, -EINVAL, "given twice");
	c->seen |= k->once;
	p[hlen + vlen] = '\0';
	ret = k->parse(c, p + hlen, vlen);
	return ret ? ret : (long)(hlen + vlen + 1);
}

/* The keys without which nothing can be run. */
static int check_required(struct cursor *c)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} req[] = {{O_ROOT, "root"}, {O_FS, "fstype"}, {O_UID, "uid"}, {O_GID, "gid"}};
	size_t i;

	c->record = 0;
	if (!c->rc->nr_args)
		return refuse(c, -EINVAL, "no 'arg' record: nothing to run");
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (!(c->seen & req[i].bit))
			return refuse(c, -EINVAL, "no '%s' record", req[i].name);
	return 0;
}

int runcfg_parse(char *buf, size_t len, struct run_cfg *rc, char *err, size_t errlen)
{
	struct cursor c = {.rc = rc, .err = err, .errlen = errlen};
	size_t off = 0;
	long n;

	memset(rc, 0, sizeof(*rc));
	if (errlen)
		err[0] = '\0';
	if (len > RUN_MAX_FILE)
		return refuse(&c, -E2BIG, "%zu bytes, at most %d", len, RUN_MAX_FILE);
	for (c.record = 1; off < len; c.record++) {
		n = parse_record(&c, buf + off, len - off);
		if (n < 0)
			return (int)n;
		off += (size_t)n;
	}
	n = check_required(&c);
	if (n)
		return (int)n;
	if (!rc->path) {
		rc->env[rc->nr_env++] = (char *)RUN_DEFAULT_PATH;
		rc->path = RUN_DEFAULT_PATH + 5;
	}
	if (!rc->workdir)
		rc->workdir = "/";
	return 0;
}

/* Exactly @size bytes of @fd into a new buffer; NULL with errno set otherwise. */
static char *read_all(int fd, size_t size)
{
	char *buf = malloc(size + 1);
	size_t got = 0;
	ssize_t n = 1;

	while (buf && got < size && (n = read(fd, buf + got, size - got)) > 0)
		got += (size_t)n;
	if (buf && got != size) {
		if (n == 0)
			errno = EIO; /* shorter than fstat said */
		free(buf);
		return NULL;
	}
	return buf;
}

int runcfg_read(const char *path, struct run_cfg *rc, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > RUN_MAX_FILE) {
		ret = S_ISREG(st.st_mode) ? -E2BIG : -EINVAL;
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
			 RUN_MAX_FILE);
		goto out;
	}
	buf = read_all(fd, (size_t)st.st_size);
	if (!buf) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	ret = runcfg_parse(buf, (size_t)st.st_size, rc, err, errlen);
	if (!ret) {
		rc->buf = buf;
		buf = NULL;
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

void runcfg_free(struct run_cfg *rc)
{
	free(rc->buf);
	rc->buf = NULL;
}
