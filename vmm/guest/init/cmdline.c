/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parser of the ember.* keys of the kernel command line. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "init.h"

struct key {
	const char *name;
	int (*parse)(struct init_cfg *cfg, const char *val, char *err, size_t errlen);
};

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* Strict decimal in [min, max]: no sign, no blanks, no empty string. */
static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	if (v < min)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "ADDR/PREFIX" for @family; the prefix is mandatory so a typo cannot mask. */
static int parse_prefixed(int family, const char *val, void *addr, uint8_t *prefix)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(val, '/');
	unsigned long p, max = family == AF_INET ? 32 : 128;
	size_t n;

	if (!slash || (n = (size_t)(slash - val)) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, val, n);
	buf[n] = '\0';
	if (inet_pton(family, buf, addr) != 1 || parse_uint(slash + 1, 0, max, &p))
		return -EINVAL;
	*prefix = (uint8_t)p;
	return 0;
}

static int key_ip(struct init_cfg *c, const char *v, char *err, size_t n)
{
	if (parse_prefixed(AF_INET, v, &c->ip, &c->prefix))
		return fail(err, n, -EINVAL, "ember.ip=%s: expected IPv4/PREFIX (e.g. 10.0.0.2/24)",
			    v);
	c->has_ip = true;
	return 0;
}

static int key_ip6(struct init_cfg *c, const char *v, char *err, size_t n)
{
	if (parse_prefixed(AF_INET6, v, &c->ip6, &c->prefix6))
		return fail(err, n, -EINVAL, "ember.ip6=%s: expected IPv6/PREFIX (e.g. fd00::2/64)",
			    v);
	c->has_ip6 = true;
	return 0;
}

static int key_gw(struct init_cfg *c, const char *v, char *err, size_t n)
{
	if (inet_pton(AF_INET, v, &c->gw) != 1)
		return fail(err, n, -EINVAL, "ember.gw=%s: expected an IPv4 address", v);
	c->has_gw = true;
	return 0;
}

static int key_gw6(struct init_cfg *c, const char *v, char *err, size_t n)
{
	if (inet_pton(AF_INET6, v, &c->gw6) != 1)
		return fail(err, n, -EINVAL, "ember.gw6=%s: expected an IPv6 address", v);
	c->has_gw6 = true;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Exactly six two-digit hex groups separated by ':'. */
static int key_gwmac(struct init_cfg *c, const char *v, char *err, size_t n)
{
	const char *s = v;
	int i, hi, lo;

	for (i = 0; i < 6; i++, s += 3) {
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
			return fail(err, n, -EINVAL,
				    "ember.gwmac=%s: expected a MAC address aa:bb:cc:dd:ee:ff", v);
		c->gwmac[i] = (uint8_t)(hi << 4 | lo);
	}
	c->has_gwmac = true;
	return 0;
}

static int key_port(struct init_cfg *c, const char *v, char *err, size_t n)
{
	unsigned long p;

	if (parse_uint(v, 1, 65535, &p))
		return fail(err, n, -EINVAL, "ember.port=%s: expected a port 1-65535", v);
	c->port = (uint16_t)p;
	return 0;
}

/* Copy @v into @dst (@cap bytes with the NUL) or fail naming @key. */
static int copy_val(const char *key, char *dst, size_t cap, const char *v, char *err, size_t n)
{
	size_t len = strlen(v);

	if (len >= cap)
		return fail(err, n, -E2BIG, "%s: value too long (%zu bytes, at most %zu)", key, len,
			    cap - 1);
	memcpy(dst, v, len + 1);
	return 0;
}

static int key_root(struct init_cfg *c, const char *v, char *err, size_t n)
{
	if (v[0] != '/')
		return fail(err, n, -EINVAL, "ember.root=%s: expected a device path (/dev/vda)", v);
	return copy_val("ember.root", c->root, sizeof(c->root), v, err, n);
}

static int key_exec(struct init_cfg *c, const char *v, char *err, size_t n)
{
	if (v[0] != '/')
		return fail(err, n, -EINVAL, "ember.exec=%s: expected an absolute path", v);
	return copy_val("ember.exec", c->exec, sizeof(c->exec), v, err, n);
}

static int key_arg(struct init_cfg *c, const char *v, char *err, size_t n)
{
	if (c->nr_args >= INIT_MAX_ARGS)
		return fail(err, n, -E2BIG, "ember.arg: more than %d arguments", INIT_MAX_ARGS);
	return copy_val("ember.arg", c->args[c->nr_args++], INIT_MAX_ARG, v, err, n);
}

/* RFC 1123 labels: letters, digits, '-' and '.', not starting with '-'/'.'. */
static int key_hostname(struct init_cfg *c, const char *v, char *err, size_t n)
{
	const char *s;

	for (s = v; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || ((*s == '-' || *s == '.') && s != v))
			continue;
		return fail(err, n, -EINVAL,
			    "ember.hostname=%s: expected letters, digits, '-', '.'", v);
	}
	if (s == v)
		return fail(err, n, -EINVAL, "ember.hostname: empty");
	return copy_val("ember.hostname", c->hostname, sizeof(c->hostname), v, err, n);
}

/* clang-format off */
static const struct key keys[] = {
	{ "ip", key_ip },
	{ "ip6", key_ip6 },
	{ "gw", key_gw },
	{ "gw6", key_gw6 },
	{ "gwmac", key_gwmac },
	{ "port", key_port },
	{ "root", key_root },
	{ "exec", key_exec },
	{ "arg", key_arg },
	{ "hostname", key_hostname },
};
/* clang-format on */

static void note_unknown(struct init_cfg *c, const char *word)
{
	size_t used = strlen(c->unknown), len = strcspn(word, "=");

	c->nr_unknown++;
	/* Names that no longer fit are still counted, just not listed. */
	if (used + len + 2 > sizeof(c->unknown))
		return;
	if (used)
		c->unknown[used++] = ' ';
	memcpy(c->unknown + used, word, len);
	c->unknown[used + len] = '\0';
}

static int parse_word(struct init_cfg *c, char *word, char *err, size_t n)
{
	const char *name = word + 6, *eq;
	size_t i, len;

	if (!strcmp(word, "quiet")) {
		c->quiet = true;
		return 0;
	}
	if (strncmp(word, "ember.", 6))
		return 0;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].name) != len || strncmp(name, keys[i].name, len))
			continue;
		if (!eq)
			return fail(err, n, -EINVAL, "%s: missing =VALUE", word);
		return keys[i].parse(c, eq + 1, err, n);
	}
	note_unknown(c, word);
	return 0;
}

/*
 * Copy the next word of @s into @word (quotes removed, as the kernel's
 * next_arg() does) and return where scanning goes on, or NULL at the end.
 */
static const char *next_word(const char *s, char *word, size_t cap, int *too_long)
{
	bool quoted = false;
	size_t len = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!*s)
		return NULL;
	*too_long = 0;
	for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n')); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (len + 1 >= cap) {
			*too_long = 1;
			continue;
		}
		word[len++] = *s;
	}
	word[len] = '\0';
	return s;
}

/* Keys that only make sense together. */
static int check_combinations(const struct init_cfg *c, char *err, size_t n)
{
	if (c->has_gw && !c->has_ip)
		return fail(err, n, -EINVAL, "ember.gw needs ember.ip");
	if (c->has_gw6 && !c->has_ip6)
		return fail(err, n, -EINVAL, "ember.gw6 needs ember.ip6");
	if (c->has_gwmac && !c->has_gw && !c->has_gw6)
		return fail(err, n, -EINVAL, "ember.gwmac needs ember.gw or ember.gw6");
	return 0;
}

void cmdline_defaults(struct init_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = INIT_DEFAULT_PORT;
	strcpy(cfg->exec, INIT_DEFAULT_EXEC);
}

int cmdline_parse(const char *text, struct init_cfg *cfg, char *err, size_t errlen)
{
	char word[INIT_CMDLINE_MAX];
	int too_long, ret;

	cmdline_defaults(cfg);
	if (errlen)
		err[0] = '\0';
	if (strnlen(text, INIT_CMDLINE_MAX) >= INIT_CMDLINE_MAX)
		return fail(err, errlen, -E2BIG, "command line longer than %d bytes",
			    INIT_CMDLINE_MAX - 1);
	while ((text = next_word(text, word, sizeof(word), &too_long))) {
		if (!strcmp(word, "--"))
			break;
		if (too_long)
			return fail(err, errlen, -E2BIG, "command line word too long");
		ret = parse_word(cfg, word, err, errlen);
		if (ret)
			return ret;
	}
	return check_combinations(cfg, err, errlen);
}
