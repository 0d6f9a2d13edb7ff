/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-buffer file I/O for snapshot files (memory, state, disk overlays). */
#ifndef EMBER_VMM_FILEIO_H
#define EMBER_VMM_FILEIO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * file_rw_all() - pwrite (@wr) or pread exactly @len bytes at @off.
 * Returns 0, -errno, or -EIO when a read finds the file shorter.
 */
int file_rw_all(int fd, bool wr, void *buf, uint64_t len, uint64_t off);

#endif
