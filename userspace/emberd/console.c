/* SPDX-License-Identifier: Apache-2.0 */
/* Guest console files as text: bounded tail reads, line tails, sanitising, instance ids. */
#include "console.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int console_read_tail(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	off_t off = 0;
	size_t n = 0;
	char *b, *nl;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_size > (off_t)max)
		off = st.st_size - (off_t)max;
	b = malloc(max + 1);
	if (!b)
		return -ENOMEM;
	/* The guest may write meanwhile: never more than (max). */
	while (n < max) {
		ssize_t r = pread(fd, b + n, max - n, off + (off_t)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return -errno;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	b[n] = 0;
	if (off && (nl = memchr(b, '\n', n))) {
		n -= (size_t)(nl + 1 - b);
		memmove(b, nl + 1, n + 1);
	} else if (off) {
		n = 0; /* one line longer than (max): nothing whole to show */
		b[0] = 0;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Where the last (tail) lines of (text) start; an unterminated last line counts. */
static size_t tail_start(const char *text, size_t len, unsigned int tail)
{
	size_t i = len;
	unsigned int k = 0;

	if (!tail)
		return 0;
	if (i && text[i - 1] == '\n')
		i--;
	for (; i > 0; i--)
		if (text[i - 1] == '\n' && ++k == tail)
			break;
	return i;
}

void console_write(FILE *out, const char *text, size_t len, unsigned int tail, const char *prefix)
{
	bool bol = true;

	for (size_t i = tail_start(text, len, tail); i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (bol && prefix)
			fputs(prefix, out);
		bol = c == '\n';
		if (c == '\r')
			continue;
		fputc(c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f) ? c : '?', out);
	}
	if (!bol && prefix)
		fputc('\n', out);
}

/* A guest id: decimal, no sign, no leading zero, 1 .. UINT_MAX. */
static int id_parse(const char *s, unsigned int *id)
{
	unsigned long v;
	char *end;

	if (*s < '1' || *s > '9' || strspn(s, "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return -1;
	*id = (unsigned int)v;
	return 0;
}

int console_instance_parse(const char *app, const char *inst, unsigned int *id)
{
	size_t n = strlen(app);

	if (!id_parse(inst, id))
		return 0;
	if (strncmp(inst, app, n) || inst[n] != '-')
		return -1;
	if (!strcmp(inst + n + 1, "boot"))
		return 1;
	return id_parse(inst + n + 1, id);
}

int console_file_parse(const char *fname, unsigned int *id)
{
	char num[16];
	size_t n;

	if (!strcmp(fname, "boot.console"))
		return 1;
	n = strlen(fname);
	if (fname[0] != 'g' || n < 10 || n - 9 >= sizeof(num) || strcmp(fname + n - 8, ".console"))
		return -1;
	memcpy(num, fname + 1, n - 9);
	num[n - 9] = 0;
	return id_parse(num, id);
}
