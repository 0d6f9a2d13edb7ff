/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-buffer file I/O and all-or-nothing file replacement (snapshots, overlays, emberd state). */
#ifndef EMBER_VMM_FILEIO_H
#define EMBER_VMM_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * file_rw_all() - pwrite (@wr) or pread exactly @len bytes at @off.
 * Returns 0, -errno, or -EIO when a read finds the file shorter.
 */
int file_rw_all(int fd, bool wr, void *buf, uint64_t len, uint64_t off);

/*
 * file_replace() - replace @path with what @fill writes, all or nothing.
 * @fill gets a new file "@path.tmp" (mode @mode) open for writing and returns
 * 0 or -errno; the file is then renamed over @path, so a reader or a crashed
 * process never sees a mix. With @durable the file is fsynced before the
 * rename and the directory after it, so a host crash too leaves the old
 * contents or the new; without, it costs no disk wait (for records that only
 * matter while the host stays up). On any failure @path is untouched and the
 * temporary file removed. Returns 0 or -errno.
 */
int file_replace(const char *path, mode_t mode, bool durable, int (*fill)(int fd, void *arg),
		 void *arg);

/* file_replace_buf() - file_replace() with the @len bytes at @buf as contents. */
int file_replace_buf(const char *path, mode_t mode, bool durable, const void *buf, size_t len);

#endif
