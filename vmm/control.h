/* SPDX-License-Identifier: Apache-2.0 */
/* The control channel: a line protocol on a Unix socket to pause, resume and snapshot a VM. */
#ifndef EMBER_VMM_CONTROL_H
#define EMBER_VMM_CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/* Longest command line accepted, newline included; longer lines get "err". */
#define CTL_LINE_MAX 1024
/* Connections served at once (the listening socket's and the inherited one). */
#define CTL_MAX_CONNS 8

enum ctl_cmd { CTL_BAD, CTL_RESUME, CTL_PAUSE, CTL_STATUS, CTL_SNAPSHOT };

/*
 * ctl_parse() - one command line without its newline (a trailing '\r' is
 * ignored) into a command; CTL_SNAPSHOT sets @arg to its directory. CTL_BAD
 * sets @arg to the reason. Pure.
 */
enum ctl_cmd ctl_parse(char *line, const char **arg);

/*
 * control_init() - serve the protocol of docs/control.md on the VM's I/O
 * thread: listen on the Unix stream socket @path (NULL: none; a stale socket
 * there is replaced) and/or talk on the connected socket @fd (-1: none).
 * @t0_ns is the origin of the t_us stamps. Returns 0 or -errno with @err.
 */
int control_init(struct vm *vm, const char *path, int fd, uint64_t t0_ns, char *err, size_t errlen);

/* control_close() - stop serving and remove the listening socket's path. */
void control_close(void);

#endif
