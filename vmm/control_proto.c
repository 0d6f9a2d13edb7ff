// SPDX-License-Identifier: Apache-2.0
/* The control protocol's codec (include/ember/control.h): pure, used by ember-vmm and emberd. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ember/control.h>

static const char *const names[CTL_NCMDS] = {
	[CTL_VERSION] = "version", [CTL_STATUS] = "status",	[CTL_RESUME] = "resume",
	[CTL_PAUSE] = "pause",	   [CTL_SNAPSHOT] = "snapshot",
};

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	return cmd > CTL_BAD && cmd < CTL_NCMDS ? names[cmd] : "?";
}

/* snprintf() into @buf, as a length or -ENOSPC. */
static int put(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int put(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int ctl_cmd_encode(char *buf, size_t size, enum ctl_cmd cmd, const char *arg)
{
	if (cmd <= CTL_BAD || cmd >= CTL_NCMDS)
		return -EINVAL;
	if (cmd != CTL_SNAPSHOT)
		return put(buf, size, "%s\n", names[cmd]);
	if (!arg || !*arg || strpbrk(arg, " \r\n"))
		return -EINVAL;
	return put(buf, size, "snapshot %s\n", arg);
}

enum ctl_cmd ctl_cmd_decode(char *line, const char **arg)
{
	size_t n = strlen(line);

	if (n && line[n - 1] == '\r')
		line[--n] = '\0';
	*arg = NULL;
	for (int c = CTL_VERSION; c < CTL_NCMDS; c++)
		if (c != CTL_SNAPSHOT && !strcmp(line, names[c]))
			return (enum ctl_cmd)c;
	if (!strncmp(line, "snapshot ", 9) && line[9] && !strchr(line + 9, ' ')) {
		*arg = line + 9;
		return CTL_SNAPSHOT;
	}
	if (!strcmp(line, "snapshot") || !strncmp(line, "snapshot ", 9))
		*arg = "usage: snapshot DIR";
	else if (!n)
		*arg = "empty command";
	else
		*arg = "unknown command";
	return CTL_BAD;
}

int ctl_reply_encode(char *buf, size_t size, enum ctl_cmd cmd, const struct ctl_reply *r)
{
	if (!r->ok)
		return put(buf, size, "err %s\n", r->text);
	switch (cmd) {
	case CTL_VERSION:
		return put(buf, size, "ok version %" PRIu32 "\n", r->version);
	case CTL_STATUS:
		return put(buf, size, "ok %s\n", r->paused ? "paused" : "running");
	case CTL_RESUME:
		return put(buf, size,
			   "ok resumed t_us=%" PRIu64 " wake_ns=%" PRIu64 " mono_ns=%" PRIu64 "\n",
			   r->t_us, r->wake_ns, r->mono_ns);
	case CTL_PAUSE:
		return put(buf, size, "ok paused\n");
	case CTL_SNAPSHOT:
		return put(buf, size, "ok snapshot %s\n", r->text);
	default:
		return -EINVAL;
	}
}

/* Fails the decode with a reason in @r->text. */
static int bad(struct ctl_reply *r, enum ctl_cmd cmd, const char *line, const char *why)
{
	r->ok = 0;
	snprintf(r->text, sizeof(r->text), "not a reply to '%s' (%s): '%.200s'", ctl_cmd_name(cmd),
		 why, line);
	return -EPROTO;
}

/* A decimal number that ends at a space or at the end of the line; @p moves past it. */
static int number(const char **p, uint64_t *v)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	*v = strtoull(*p, &end, 10);
	if (errno || (*end && *end != ' '))
		return -1;
	*p = end;
	return 0;
}

/* "key=N" at @p (after one space unless it is the first field). */
static int field(const char **p, const char *key, uint64_t *v)
{
	size_t n = strlen(key);

	if (strncmp(*p, key, n) || (*p)[n] != '=')
		return -1;
	*p += n + 1;
	return number(p, v);
}

static int decode_resumed(const char *p, struct ctl_reply *r)
{
	if (field(&p, "t_us", &r->t_us) || *p++ != ' ' || field(&p, "wake_ns", &r->wake_ns) ||
	    *p++ != ' ' || field(&p, "mono_ns", &r->mono_ns))
		return -1;
	return *p ? -1 : 0;
}

int ctl_reply_decode(const char *line, enum ctl_cmd cmd, struct ctl_reply *r)
{
	const char *p;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	if (!strncmp(line, "err ", 4) && line[4]) {
		snprintf(r->text, sizeof(r->text), "%s", line + 4);
		return 0;
	}
	if (strncmp(line, "ok ", 3))
		return bad(r, cmd, line, "neither 'ok ...' nor 'err ...'");
	p = line + 3;
	r->ok = 1;
	switch (cmd) {
	case CTL_VERSION:
		if (strncmp(p, "version ", 8))
			return bad(r, cmd, line, "want 'ok version N'");
		p += 8;
		if (number(&p, &v) || *p || v > UINT32_MAX)
			return bad(r, cmd, line, "the version is not a number");
		r->version = (uint32_t)v;
		return 0;
	case CTL_STATUS:
		if (strcmp(p, "running") && strcmp(p, "paused"))
			return bad(r, cmd, line, "want 'ok running' or 'ok paused'");
		r->paused = !strcmp(p, "paused");
		return 0;
	case CTL_RESUME:
		if (strncmp(p, "resumed ", 8) || decode_resumed(p + 8, r))
			return bad(r, cmd, line, "want 'ok resumed t_us=T wake_ns=W mono_ns=M'");
		return 0;
	case CTL_PAUSE:
		if (strcmp(p, "paused"))
			return bad(r, cmd, line, "want 'ok paused'");
		r->paused = 1;
		return 0;
	case CTL_SNAPSHOT:
		if (strncmp(p, "snapshot ", 9) || !p[9] || strchr(p + 9, ' '))
			return bad(r, cmd, line, "want 'ok snapshot DIR'");
		snprintf(r->text, sizeof(r->text), "%s", p + 9);
		return 0;
	default:
		return bad(r, cmd, line, "no such command");
	}
}
