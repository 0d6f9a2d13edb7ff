// SPDX-License-Identifier: Apache-2.0
/* Field checkers behind app_spec.c: typed JSON reads with ranges, names, addresses, paths. */
#include "app_field.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int app_fail(struct app_err *err, const char *field, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err->field, sizeof(err->field), "%s", field);
	if (field[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", field, what);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", what);
	return -EINVAL;
}

void app_path_key(char *path, size_t len, const char *parent, const char *key)
{
	if (parent[0])
		snprintf(path, len, "%s.%s", parent, key);
	else
		snprintf(path, len, "%s", key);
}

void app_path_index(char *path, size_t len, const char *parent, size_t i)
{
	snprintf(path, len, "%s[%zu]", parent, i);
}

int app_read_u32(const json_t *v, const char *path, uint32_t min, uint32_t max, uint32_t *out,
		 struct app_err *err)
{
	json_int_t n;

	/* 128.0 is a real in JSON: refused, a count is never fractional. */
	if (!json_is_integer(v))
		return app_fail(err, path, "must be an integer (%u-%u)", min, max);
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return app_fail(err, path, "must be %u-%u", min, max);
	*out = (uint32_t)n;
	return 0;
}

int app_read_str(const json_t *v, const char *path, char *buf, size_t size, bool allow_empty,
		 struct app_err *err)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return app_fail(err, path, "must be a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (strlen(s) != n)
		return app_fail(err, path, "must not contain NUL bytes");
	if (!n && !allow_empty)
		return app_fail(err, path, "must not be empty");
	if (n >= size)
		return app_fail(err, path, "must be at most %zu bytes", size - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return app_fail(err, path, "must not contain control characters");
	memcpy(buf, s, n + 1);
	return 0;
}

int app_need_object(const json_t *v, const char *path, struct app_err *err)
{
	return json_is_object(v) ? 0 : app_fail(err, path, "must be an object");
}

int app_need_array(const json_t *v, const char *path, size_t min, size_t max, struct app_err *err)
{
	size_t n;

	if (!json_is_array(v))
		return app_fail(err, path, "must be an array");
	n = json_array_size(v);
	if (n < min || n > max)
		return app_fail(err, path, "must have %zu-%zu elements", min, max);
	return 0;
}

int app_name_check(const char *name, struct app_err *err)
{
	size_t n = strlen(name);

	/* An RFC 1035 label in lower case: usable as a host name, a file name
	 * under the state directory and a URL path segment without escaping. */
	if (!n)
		return app_fail(err, "name", "must not be empty");
	if (n > APP_NAME_MAX)
		return app_fail(err, "name", "must be at most %d characters", APP_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return app_fail(err, "name", "must contain only a-z, 0-9 and '-'");
	}
	if (name[0] < 'a' || name[0] > 'z')
		return app_fail(err, "name", "must start with a letter a-z");
	if (name[n - 1] == '-')
		return app_fail(err, "name", "must not end with '-'");
	return 0;
}

static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p += 2)
		if ((p == s || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

int app_check_host_path(const char *s, const char *path, bool disk, struct app_err *err)
{
	if (s[0] != '/')
		return app_fail(err, path, "must be an absolute path");
	if (has_dotdot(s))
		return app_fail(err, path, "must not contain '..' components");
	/* ember-vmm --disk PATH[,ro|,cow]: a comma would start an option. */
	if (disk && strchr(s, ','))
		return app_fail(err, path, "must not contain ','");
	return 0;
}

int app_check_exec(const char *s, const char *path, struct app_err *err)
{
	if (s[0] != '/')
		return app_fail(err, path, "must be an absolute path");
	/* It becomes one unquoted word of the guest's kernel command line. */
	if (strpbrk(s, " \"\t"))
		return app_fail(err, path, "must not contain spaces or '\"'");
	return 0;
}

int app_check_arg(const char *s, const char *path, struct app_err *err)
{
	/* emberd passes it as ember.arg="..."; the kernel has no escape for '"'. */
	if (strchr(s, '"'))
		return app_fail(err, path, "must not contain '\"'");
	return 0;
}

/* Copies the next whitespace-separated word of (*s) (quotes kept) into (w). */
static bool next_word(const char **s, char *w, size_t len)
{
	const char *p = *s;
	bool quoted = false;
	size_t n = 0;

	while (*p == ' ')
		p++;
	if (!*p)
		return false;
	for (; *p && (quoted || *p != ' '); p++) {
		if (*p == '"')
			quoted = !quoted;
		if (n + 1 < len)
			w[n++] = *p;
	}
	w[n] = '\0';
	*s = p;
	return true;
}

int app_check_cmdline(const char *s, const char *path, struct app_err *err)
{
	char w[APP_CMDLINE_MAX];
	size_t quotes = 0;

	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7e)
			return app_fail(err, path, "must be printable ASCII");
		quotes += *p == '"';
	}
	/* ember-vmm appends the virtio-mmio devices after these words: an open
	 * quote or a "--" would hide them from the kernel. */
	if (quotes % 2)
		return app_fail(err, path, "has an unbalanced '\"'");
	while (next_word(&s, w, sizeof(w))) {
		const char *k = w[0] == '"' ? w + 1 : w;

		if (!strcmp(w, "--"))
			return app_fail(err, path, "must not contain '--'");
		if (!strncmp(k, "ember.", 6))
			return app_fail(
				err, path,
				"must not set ember.* keys (emberd sets them; use image.exec, "
				"args)");
	}
	return 0;
}

static int check_vip4(const uint8_t *a, const char *path, struct app_err *err)
{
	if (a[0] == 0)
		return app_fail(err, path, "0.0.0.0/8 cannot be a VIP");
	if (a[0] == 127)
		return app_fail(err, path, "a loopback address cannot be a VIP");
	if (a[0] >= 224)
		return app_fail(err, path,
				"a multicast, broadcast or reserved address cannot be a VIP");
	return 0;
}

static int check_vip6(const uint8_t *a, const char *path, struct app_err *err)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[15];

	if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1))
		return app_fail(err, path, ":: and ::1 cannot be a VIP");
	if (a[0] == 0xff)
		return app_fail(err, path, "a multicast address cannot be a VIP");
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return app_fail(err, path, "a link-local address cannot be a VIP");
	if (!memcmp(a, mapped, sizeof(mapped)))
		return app_fail(err, path, "write an IPv4-mapped address in IPv4 form");
	return 0;
}

int app_parse_vip(const char *s, const char *path, struct app_service *svc, struct app_err *err)
{
	memset(svc->vip, 0, sizeof(svc->vip));
	if (inet_pton(AF_INET, s, svc->vip) == 1) {
		svc->family = AF_INET;
		return check_vip4(svc->vip, path, err);
	}
	if (inet_pton(AF_INET6, s, svc->vip) == 1) {
		svc->family = AF_INET6;
		return check_vip6(svc->vip, path, err);
	}
	return app_fail(err, path, "must be an IPv4 or IPv6 address");
}

void app_format_vip(const struct app_service *svc, char *buf, size_t len)
{
	if (!inet_ntop(svc->family, svc->vip, buf, len))
		snprintf(buf, len, "?");
}

bool app_service_equal(const struct app_service *a, const struct app_service *b)
{
	return a->family == b->family && a->port == b->port && a->proto == b->proto &&
	       !memcmp(a->vip, b->vip, sizeof(a->vip));
}

void app_service_format(const struct app_service *svc, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const char *proto = svc->proto == APP_PROTO_UDP ? "udp" : "tcp";

	app_format_vip(svc, ip, sizeof(ip));
	if (svc->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u/%s", ip, svc->port, proto);
	else
		snprintf(buf, len, "%s:%u/%s", ip, svc->port, proto);
}
