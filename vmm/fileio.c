// SPDX-License-Identifier: Apache-2.0
/* Whole-buffer pread/pwrite, and files replaced all or nothing (temp, fsync, rename, fsync dir). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

int file_rw_all(int fd, bool wr, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = wr ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* 0: the file ends early */
		p += n, off += (uint64_t)n, len -= (uint64_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory entry is: fsync the directory. */
static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int file_replace(const char *path, mode_t mode, bool durable, int (*fill)(int fd, void *arg),
		 void *arg)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	rc = fill(fd, arg);
	/* Before the rename: a crash after it must find the new data on disk. */
	if (!rc && durable && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	return durable ? fsync_dir_of(path) : 0;
}

struct buf_arg {
	const void *buf;
	size_t len;
};

static int fill_buf(int fd, void *arg)
{
	const struct buf_arg *b = arg;

	return file_rw_all(fd, true, (void *)b->buf, b->len, 0);
}

int file_replace_buf(const char *path, mode_t mode, bool durable, const void *buf, size_t len)
{
	struct buf_arg b = {buf, len};

	return file_replace(path, mode, durable, fill_buf, &b);
}
