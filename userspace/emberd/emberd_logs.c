/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's GET /v1/apps/{name}/logs: the guests' console files, bounded reads, instance ids. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console.h"
#include "emberd.h"

/* All instances together send at most this much (the newest kept). */
#define LOGS_ALL_MAX (8 * CONSOLE_READ_MAX)

/* One console file of the app directory. */
struct cons {
	unsigned int id;
	int boot; /* 1: boot.console, sorted first */
	size_t size;
};

static void cons_path(const struct eapp *a, const struct cons *c, char *buf, size_t len)
{
	if (c->boot)
		snprintf(buf, len, "%s/boot.console", a->dir);
	else
		snprintf(buf, len, "%s/g%u.console", a->dir, c->id);
}

static void cons_name(const struct eapp *a, const struct cons *c, char *buf, size_t len)
{
	if (c->boot)
		snprintf(buf, len, "%s-boot", app_name(a));
	else
		snprintf(buf, len, "%s-%u", app_name(a), c->id);
}

/* Writes (c)'s last (tail) lines to (f); a file that is not there (a guest
 * whose VMM has not opened it yet) is empty. */
static int cons_out(FILE *f, const struct eapp *a, const struct cons *c, unsigned int tail,
		    bool prefixed)
{
	char path[PATH_MAX + 32], prefix[160], *text;
	size_t len;
	int fd, rc;

	cons_path(a, c, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = console_read_tail(fd, CONSOLE_READ_MAX, &text, &len);
	close(fd);
	if (rc)
		return rc;
	cons_name(a, c, prefix, sizeof(prefix) - 4);
	strcat(prefix, " | ");
	console_write(f, text, len, tail, prefixed ? prefix : NULL);
	free(text);
	return 0;
}

static int cons_cmp(const void *x, const void *y)
{
	const struct cons *a = x, *b = y;

	if (a->boot != b->boot)
		return b->boot - a->boot;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* The console files of (a), boot first, then by guest id; malloc'd. */
static int cons_list(const struct eapp *a, struct cons **out, size_t *n)
{
	struct cons *v = NULL, c = {0};
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *dh = opendir(a->dir);

	*out = NULL;
	*n = 0;
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh))) {
		int k = console_file_parse(de->d_name, &c.id);

		if (k < 0 || fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (cnt == cap) {
			struct cons *nv = reallocarray(v, cap ? cap * 2 : 16, sizeof(*v));

			if (!nv) {
				free(v);
				closedir(dh);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		c.boot = k;
		c.id = k ? 0 : c.id;
		c.size = (size_t)st.st_size;
		v[cnt++] = c;
	}
	closedir(dh);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cons_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

/* Every instance, its lines prefixed with its id; at most LOGS_ALL_MAX in
 * all: the oldest instances are left out first. */
static int logs_all(FILE *f, const struct eapp *a, unsigned int tail)
{
	struct cons *v;
	size_t n, first, sum = 0;
	int rc = cons_list(a, &v, &n);

	if (rc)
		return rc;
	for (first = n; first > 0; first--) {
		size_t s =
			v[first - 1].size < CONSOLE_READ_MAX ? v[first - 1].size : CONSOLE_READ_MAX;

		if (sum + s > LOGS_ALL_MAX)
			break;
		sum += s;
	}
	for (size_t i = first; i < n && !rc; i++)
		rc = cons_out(f, a, &v[i], tail, true);
	free(v);
	return rc;
}

/* (inst) of (a) as a console file; -ENOENT if the app never had it. */
static int logs_one(FILE *f, const struct eapp *a, const char *inst, unsigned int tail)
{
	struct cons c = {0};
	char path[PATH_MAX + 32];
	bool known = false;
	int k = console_instance_parse(app_name(a), inst, &c.id);

	if (k < 0)
		return -ENOENT;
	for (const struct guest *g = a->guests; g; g = g->next) {
		if (k == 1 ? g->state == G_BOOTING : g->id == c.id)
			known = true;
		/* The running boot guest's own id names its console too. */
		if (!k && g->id == c.id && g->state == G_BOOTING)
			k = 1;
	}
	c.boot = k;
	cons_path(a, &c, path, sizeof(path));
	if (!known && access(path, F_OK))
		return -ENOENT;
	return cons_out(f, a, &c, tail, false);
}

int emberd_logs(void *ctx, const char *name, const struct api_logs_query *q, struct api_reply *rep)
{
	struct eapp *a = app_by_name(ctx, name);
	size_t n = 0;
	char *buf = NULL;
	FILE *f;
	int rc, bad;

	if (!a)
		return api_error(rep, 404, "name", "no app named \"%s\"", name);
	f = open_memstream(&buf, &n);
	if (!f)
		return api_error(rep, 500, NULL, "out of memory");
	rc = q->instance ? logs_one(f, a, q->instance, q->tail) : logs_all(f, a, q->tail);
	bad = ferror(f);
	if (fclose(f) || bad)
		rc = rc ? rc : -ENOMEM;
	if (rc) {
		free(buf);
		if (rc == -ENOENT)
			return api_error(rep, 404, "instance", "app \"%s\" has no instance \"%s\"",
					 name, q->instance);
		return api_error(rep, 500, NULL, "reading the consoles of %s: %s", name,
				 strerror(-rc));
	}
	/* Empty output is still text (200, no body), not an empty JSON object. */
	rep->text = buf;
	rep->text_len = n;
	return 0;
}

void emberd_consoles_forget(const char *dir)
{
	struct dirent *de;
	unsigned int id;
	DIR *dh = opendir(dir);

	if (!dh)
		return;
	while ((de = readdir(dh)))
		if (console_file_parse(de->d_name, &id) >= 0)
			unlinkat(dirfd(dh), de->d_name, 0);
	closedir(dh);
}
