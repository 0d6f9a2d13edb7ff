/* SPDX-License-Identifier: Apache-2.0 */
/* The emberd <-> ember-vmm control protocol: its commands, replies and fields, one codec for both.
 */
#ifndef EMBER_CONTROL_H
#define EMBER_CONTROL_H

#include <stddef.h>
#include <stdint.h>

/*
 * A line protocol on a Unix stream socket (docs/control.md): one command per
 * line, one reply line per command, in order; a reply starts with "ok" or
 * "err". Humans and scripts speak it too (build/tests/ctl), so it stays text.
 *
 * CTL_PROTO_VERSION changes with any change to a command, a reply or one of
 * their fields. The "version" command answers it; emberd asks every VMM it
 * starts or adopts before anything else and stops one that speaks another
 * version, rather than drive it by a protocol it may misread.
 */
#define CTL_PROTO_VERSION 1

/* Longest line either side sends or accepts, newline included. */
#define CTL_LINE_MAX 1024

enum ctl_cmd {
	CTL_BAD,      /* not a command (ctl_cmd_decode()'s verdict) */
	CTL_VERSION,  /* "version"      -> "ok version N" */
	CTL_STATUS,   /* "status"       -> "ok running" | "ok paused" */
	CTL_RESUME,   /* "resume"       -> "ok resumed t_us=T wake_ns=W mono_ns=M" */
	CTL_PAUSE,    /* "pause"        -> "ok paused" */
	CTL_SNAPSHOT, /* "snapshot DIR" -> "ok snapshot DIR" */
	CTL_NCMDS
};

/* A reply's fields; which ones are set depends on the command it answers. */
struct ctl_reply {
	int ok;				 /* 1: "ok ...", 0: "err REASON" */
	uint32_t version;		 /* CTL_VERSION */
	int paused;			 /* CTL_STATUS, CTL_PAUSE (always 1) */
	uint64_t t_us, wake_ns, mono_ns; /* CTL_RESUME: docs/control.md */
	char text[CTL_LINE_MAX];	 /* CTL_SNAPSHOT: its DIR; an error: REASON */
};

/* ctl_cmd_name() - the command's word ("resume"), "?" for none. */
const char *ctl_cmd_name(enum ctl_cmd cmd);

/*
 * ctl_cmd_encode() - @cmd as a line, newline included, into @buf; @arg is
 * CTL_SNAPSHOT's directory (NULL for the others). Returns the line's length,
 * -EINVAL for CTL_BAD or a directory that is missing or holds a space or a
 * newline, -ENOSPC when @size is too small.
 */
int ctl_cmd_encode(char *buf, size_t size, enum ctl_cmd cmd, const char *arg);

/*
 * ctl_cmd_decode() - one command line without its newline (a trailing '\r'
 * is ignored) into a command; CTL_SNAPSHOT points @arg at its directory
 * inside @line, CTL_BAD at the reason.
 */
enum ctl_cmd ctl_cmd_decode(char *line, const char **arg);

/* ctl_reply_encode() - @r, a reply to @cmd, as a line with its newline. Its length or -ENOSPC. */
int ctl_reply_encode(char *buf, size_t size, enum ctl_cmd cmd, const struct ctl_reply *r);

/*
 * ctl_reply_decode() - a reply line to @cmd (its newline removed) into @r.
 * Returns 0 for a well-formed reply ("err REASON" is one: @r->ok is 0), or
 * -EPROTO when the line is not a reply to @cmd (unknown, truncated, a field
 * missing, not a number or extra); @r->text then says what was wrong.
 */
int ctl_reply_decode(const char *line, enum ctl_cmd cmd, struct ctl_reply *r);

#endif
