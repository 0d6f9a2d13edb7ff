/* SPDX-License-Identifier: Apache-2.0 */
/* Layer paths: cleaning tar names, resolving them beneath the root without symlinks, a path set. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "layer_priv.h"

int layer_clean_path(const char *in, char *out)
{
	size_t n = 0, len;
	const char *p = in, *end;

	if (*in == '/')
		return -EXDEV;
	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, '/');
		len = end - p;
		if (len == 0 || (len == 1 && p[0] == '.'))
			continue;
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -EXDEV;
		if (n + !!n + len >= PATH_MAX)
			return -ENAMETOOLONG;
		if (n)
			out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
	}
	out[n] = 0;
	return 0;
}

/* Opens (O_PATH) (name) in (dirfd), making it (0755) first when it is missing. */
static int open_or_make(int dirfd, const char *name)
{
	int fd = open_beneath(dirfd, name, O_PATH | O_DIRECTORY);

	if (fd != -ENOENT)
		return fd;
	if (mkdirat(dirfd, name, 0755) < 0) {
		if (errno != EEXIST)
			return -errno;
	} else if (fchmodat(dirfd, name, 0755, 0) < 0) {
		/* 0755 whatever the umask: the image's users must get through. (name) is
		 * the directory just made, not a symlink, so chmod follows nothing. */
		return -errno;
	}
	return open_beneath(dirfd, name, O_PATH | O_DIRECTORY);
}

/* Opens the cleaned (dir) one component at a time, creating what is missing. */
static int make_dirs(int rootfd, char *dir)
{
	int fd = open_beneath(rootfd, ".", O_PATH | O_DIRECTORY), next;
	char *comp, *save = NULL;

	for (comp = strtok_r(dir, "/", &save); comp && fd >= 0; comp = strtok_r(NULL, "/", &save)) {
		next = open_or_make(fd, comp);
		close(fd);
		fd = next;
	}
	return fd;
}

int layer_open_parent(int rootfd, const char *path, bool create, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd;

	*base = slash ? slash + 1 : *path ? path : ".";
	if (!slash)
		return open_beneath(rootfd, ".", O_PATH | O_DIRECTORY);
	memcpy(dir, path, slash - path);
	dir[slash - path] = 0;
	/* One lookup for the usual case, where the parents exist. */
	fd = open_beneath(rootfd, dir, O_PATH | O_DIRECTORY);
	if (fd != -ENOENT || !create)
		return fd;
	return make_dirs(rootfd, dir);
}

/* FNV-1a: short, and good enough for paths. */
static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The slot holding (path), or the empty slot where it would go. */
static char **find(const struct path_set *s, const char *path)
{
	size_t i = hash(path) & (s->cap - 1);

	while (s->slot[i] && strcmp(s->slot[i], path))
		i = (i + 1) & (s->cap - 1);
	return &s->slot[i];
}

/* Doubles (s) (or gives it its first slots); keeps it at most half full. */
static int grow(struct path_set *s)
{
	struct path_set big = {.cap = s->cap ? s->cap * 2 : 64};
	size_t i;

	big.slot = calloc(big.cap, sizeof(*big.slot));
	if (!big.slot)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->slot[i])
			*find(&big, s->slot[i]) = s->slot[i];
	free(s->slot);
	big.used = s->used;
	*s = big;
	return 0;
}

/* Adds (path); returns 1 when it was already there, 0 when added, -ENOMEM. */
static int add(struct path_set *s, const char *path)
{
	char **at;

	if ((s->used + 1) * 2 > s->cap && grow(s))
		return -ENOMEM;
	at = find(s, path);
	if (*at)
		return 1;
	*at = strdup(path);
	if (!*at)
		return -ENOMEM;
	s->used++;
	return 0;
}

int path_set_add_tree(struct path_set *s, const char *path)
{
	char buf[PATH_MAX], *slash;
	int rc;

	snprintf(buf, sizeof(buf), "%s", path);
	/* A parent already there means all of its own parents are too. */
	while ((rc = add(s, buf)) == 0) {
		slash = strrchr(buf, '/');
		if (!slash)
			return 0;
		*slash = 0;
	}
	return rc < 0 ? rc : 0;
}

bool path_set_has(const struct path_set *s, const char *path)
{
	return s->cap && *find(s, path);
}

void path_set_free(struct path_set *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	*s = (struct path_set){0};
}
