/* SPDX-License-Identifier: Apache-2.0 */
/* Resolves an image's User to uid, gid and home from the image's own etc/passwd and etc/group. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "user.h"

/* What a lookup found: a passwd or group line's id(s) and home. */
struct entry {
	const char *want_name; /* look up by name, or */
	uint32_t want_id;      /* by id */
	bool found;
	uint32_t id, gid;
	char home[USER_LINE_MAX];
};

/* A decimal id 0-USER_ID_MAX; false for anything else ("", "-1", "1e3"). */
static bool id_parse(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 10)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > USER_ID_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/*
 * Opens (path) ("etc/passwd") beneath (rootfd): no component may be a symlink
 * (an image's etc -> /etc would read the host's) nor leave the root, and the
 * file must be regular (a FIFO would block the reader). Returns the fd, or
 * -ENOENT without filling (e), or another -errno.
 */
static int file_open(int rootfd, const char *path, struct img_err *e)
{
	int fd = open_beneath(rootfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd == -ENOENT)
		return -ENOENT; /* the caller knows whether it needed the file */
	if (fd == -ELOOP)
		return img_fail(e, -ELOOP, "%s: a symlink (or under one): not followed", path);
	if (fd < 0)
		return img_fail(e, fd, "%s: %s", path, strerror(-fd));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > USER_FILE_MAX) {
		close(fd);
		return img_fail(e, -EINVAL, "%s: not a regular file of at most %d bytes", path,
				USER_FILE_MAX);
	}
	return fd;
}

/* Reads all of (fd), at most USER_FILE_MAX bytes, into a NUL-terminated heap buffer. */
static int file_read(int fd, const char *path, char **out, struct img_err *e)
{
	char *buf = malloc(USER_FILE_MAX + 2);
	size_t len = 0;
	ssize_t n;

	if (!buf)
		return img_fail(e, -ENOMEM, "%s: out of memory", path);
	/* Up to one byte past the bound: a file grown since fstat() is refused too. */
	while (len <= USER_FILE_MAX && (n = read(fd, buf + len, USER_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return img_fail(e, -errno, "%s: %s", path, strerror(errno));
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (len > USER_FILE_MAX || strlen(buf) != len) {
		free(buf);
		return img_fail(e, -EINVAL, "%s: larger than %d bytes or holds NUL bytes", path,
				USER_FILE_MAX);
	}
	*out = buf;
	return 0;
}

/* Splits the line (s) at ':' into at most (max) fields; returns how many. */
static int split(char *s, char **f, int max)
{
	int n = 0;

	f[n++] = s;
	while (n < max && (s = strchr(s, ':'))) {
		*s++ = '\0';
		f[n++] = s;
	}
	return n;
}

/*
 * Matches one line of passwd (name:pw:uid:gid:gecos:home:shell) or group
 * (name:pw:gid:members) against (en). A line naming the wanted user with a
 * malformed id is an error, not a skip: it must not resolve to another id.
 */
static int match_line(char *line, bool passwd, unsigned int lineno, const char *path,
		      struct entry *en, struct img_err *e)
{
	char *f[7] = {0};
	uint32_t id, gid = 0;
	bool named;
	int n;

	/* Comments, and NIS's +/- lines, which name no local user. */
	if (line[0] == '#' || line[0] == '+' || line[0] == '-')
		return 0;
	n = split(line, f, passwd ? 7 : 4);
	named = en->want_name && !strcmp(f[0], en->want_name);
	if (en->want_name && !named)
		return 0;
	if (n < (passwd ? 4 : 3) || !id_parse(f[2], &id) || (passwd && !id_parse(f[3], &gid)))
		return named ? img_fail(e, -EINVAL, "%s: line %u: malformed entry for \"%s\"", path,
					lineno, en->want_name)
			     : 0;
	if (!named && id != en->want_id)
		return 0;
	en->found = true;
	en->id = id;
	en->gid = gid;
	strcpy(en->home, n >= 6 && f[5][0] ? f[5] : "/");
	return 1;
}

/* Scans the NUL-terminated file (buf) line by line until a match. */
static int scan(char *buf, bool passwd, const char *path, struct entry *en, struct img_err *e)
{
	unsigned int lineno = 0;
	char *line, *next;
	int rc;

	for (line = buf; *line; line = next) {
		next = strchrnul(line, '\n');
		lineno++;
		if (next - line >= USER_LINE_MAX)
			return img_fail(e, -EINVAL, "%s: line %u longer than %d bytes", path,
					lineno, USER_LINE_MAX - 1);
		if (*next)
			*next++ = '\0';
		if ((rc = match_line(line, passwd, lineno, path, en, e)))
			return rc < 0 ? rc : 0;
	}
	return 0;
}

/* Looks (en) up in etc/passwd or etc/group; a missing file is -ENOENT, unreported. */
static int lookup(int rootfd, bool passwd, struct entry *en, struct img_err *e)
{
	const char *path = passwd ? "etc/passwd" : "etc/group";
	char *buf = NULL;
	int fd = file_open(rootfd, path, e), rc;

	if (fd < 0)
		return fd;
	rc = file_read(fd, path, &buf, e);
	close(fd);
	if (rc)
		return rc;
	rc = scan(buf, passwd, path, en, e);
	free(buf);
	return rc;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Splits (user) into (name) and (group), "" when there is none; "" is "0". */
static int spec_split(const char *user, char *name, char *group, struct img_err *e)
{
	const char *colon = strchr(user, ':');
	size_t n = strnlen(user, USER_SPEC_MAX + 1);

	if (n > USER_SPEC_MAX)
		return img_fail(e, -EINVAL, "config.User: longer than %d bytes", USER_SPEC_MAX);
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return img_fail(e, -EINVAL,
					"config.User: must not contain control characters");
	if (colon && (colon == user || !colon[1] || strchr(colon + 1, ':')))
		return img_fail(e, -EINVAL, "config.User \"%s\": must be USER or USER:GROUP", user);
	n = colon ? (size_t)(colon - user) : n;
	memcpy(name, n ? user : "0", n ? n : 1);
	name[n ? n : 1] = '\0';
	strcpy(group, colon ? colon + 1 : "");
	return 0;
}

/* An id out of range is refused, not taken for a name: "4294967295" is no user. */
static int id_or_name(const char *s, const char *what, uint32_t *id, bool *numeric,
		      struct img_err *e)
{
	*numeric = id_parse(s, id);
	if (!*numeric && all_digits(s))
		return img_fail(e, -EINVAL, "config.User: %s %s out of 0-%d", what, s, USER_ID_MAX);
	return 0;
}

static int resolve_user(int rootfd, const char *name, struct entry *en, struct img_err *e)
{
	bool numeric;
	int rc = id_or_name(name, "uid", &en->want_id, &numeric, e);

	if (rc)
		return rc;
	en->want_name = numeric ? NULL : name;
	rc = lookup(rootfd, true, en, e);
	if (rc == -ENOENT && !numeric)
		return img_fail(e, rc,
				"config.User: user \"%s\" needs etc/passwd, which the "
				"image does not have",
				name);
	if (rc && rc != -ENOENT)
		return rc;
	if (!en->found && !numeric)
		return img_fail(e, -ENOENT, "config.User: no user \"%s\" in etc/passwd", name);
	if (!en->found) { /* runc's defaults for a uid the image does not list */
		en->id = en->want_id;
		en->gid = 0;
		strcpy(en->home, "/");
	}
	return 0;
}

static int resolve_group(int rootfd, const char *group, gid_t *gid, struct img_err *e)
{
	struct entry en = {.want_name = group};
	bool numeric;
	uint32_t id;
	int rc = id_or_name(group, "gid", &id, &numeric, e);

	if (rc)
		return rc;
	if (numeric) {
		*gid = id;
		return 0;
	}
	rc = lookup(rootfd, false, &en, e);
	if (rc == -ENOENT)
		return img_fail(e, rc,
				"config.User: group \"%s\" needs etc/group, which the "
				"image does not have",
				group);
	if (!rc && !en.found)
		rc = img_fail(e, -ENOENT, "config.User: no group \"%s\" in etc/group", group);
	*gid = en.id;
	return rc;
}

int user_resolve(int rootfd, const char *user, uid_t *uid, gid_t *gid, char *home, size_t homelen,
		 struct img_err *e)
{
	char name[USER_SPEC_MAX + 1], group[USER_SPEC_MAX + 1];
	struct entry en = {0};
	int rc;

	if ((rc = spec_split(user, name, group, e)) || (rc = resolve_user(rootfd, name, &en, e)))
		return rc;
	*uid = en.id;
	*gid = en.gid;
	if (group[0] && (rc = resolve_group(rootfd, group, gid, e)))
		return rc;
	if (strlen(en.home) >= homelen)
		return img_fail(e, -ENAMETOOLONG,
				"etc/passwd: home \"%.64s\" longer than %zu bytes", en.home,
				homelen - 1);
	strcpy(home, en.home);
	return 0;
}
