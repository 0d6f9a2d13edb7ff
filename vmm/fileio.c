// SPDX-License-Identifier: Apache-2.0
/* Whole-buffer pread/pwrite: retried on EINTR and short transfers. */
#include <errno.h>
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
