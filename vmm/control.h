/* SPDX-License-Identifier: Apache-2.0 */
/* The VMM's side of the control channel (include/ember/control.h): serving it on the I/O thread. */
#ifndef EMBER_VMM_CONTROL_H
#define EMBER_VMM_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <ember/control.h> /* the protocol and its codec, shared with emberd */

struct vm;

/* Connections served at once (the listening socket's and the inherited one). */
#define CTL_MAX_CONNS 8

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
