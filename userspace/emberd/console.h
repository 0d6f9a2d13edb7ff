/* SPDX-License-Identifier: Apache-2.0 */
/* Guest console files as text: bounded tail reads, line tails, sanitising, instance ids. */
#ifndef EMBER_USERSPACE_CONSOLE_H
#define EMBER_USERSPACE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* At most this much of the end of one console file is ever read. */
#define CONSOLE_READ_MAX (1024 * 1024)

/*
 * Reads the last (max) bytes of (fd) (all of it when smaller) into (*buf)
 * (malloc'd, *len bytes, NUL after them). When the read starts inside the
 * file, the cut first line is dropped. 0 or -errno.
 */
int console_read_tail(int fd, size_t max, char **buf, size_t *len);

/*
 * Writes the last (tail) lines of (text) (0 = all) to (out), each line
 * preceded by (prefix) (NULL = none). The guest wrote the text, so it is
 * made harmless for a terminal: carriage returns are dropped, control
 * characters other than tab and newline become '?'. With a prefix, an
 * unterminated last line gets its newline (the next instance's lines
 * follow); without, the text ends as the file does.
 */
void console_write(FILE *out, const char *text, size_t len, unsigned int tail, const char *prefix);

/*
 * An instance id of app (app): "APP-N" (guest N, the "id" of the
 * instances route), "APP-boot" (the deploy's boot), or just "N".
 * Returns 0 with (*id) = N, 1 for the boot, -1 when (inst) is not one.
 */
int console_instance_parse(const char *app, const char *inst, unsigned int *id);

/* A console file's name in the app directory: "gN.console" -> 0 with
 * (*id) = N, "boot.console" -> 1, anything else -1. */
int console_file_parse(const char *fname, unsigned int *id);

#endif
