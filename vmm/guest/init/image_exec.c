/* SPDX-License-Identifier: Apache-2.0 */
/* Starting an image's process: its user and groups, its env only, its program found through PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "runcfg.h"

/*
 * What the child tells the parent. vfork() shares the memory and suspends
 * the parent until the child execs or exits, so the child writes here and
 * the parent reads it afterwards, as glibc's posix_spawn does.
 */
struct spawn_report {
	int err;	     /* errno of the step that failed, 0 if the exec succeeded */
	const char *step;    /* that step: "setgroups", ..., NULL for the exec */
	char path[PATH_MAX]; /* the program, as resolved */
};

/* Path element @dir (@n bytes; empty is the cwd, as for execvp) + "/" + @file. */
static int join(char *out, const char *dir, size_t n, const char *file)
{
	size_t flen = strlen(file);

	if (n + 1 + flen >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, dir, n);
	if (n)
		out[n++] = '/';
	memcpy(out + n, file, flen + 1);
	return 0;
}

/*
 * execvp's search, with the image's PATH rather than ours: an element where
 * the file is missing is skipped, EACCES is remembered and reported if
 * nothing else runs, any other error ends the search. Returns only on
 * failure, with errno set and r->path naming what was tried.
 */
static void exec_search(const struct run_cfg *rc, struct spawn_report *r)
{
	const char *file = rc->args[0], *p = rc->path;
	char denied[PATH_MAX] = "";
	size_t n;

	if (strnlen(file, PATH_MAX) >= PATH_MAX) {
		memcpy(r->path, "(the first argument)", sizeof("(the first argument)"));
		errno = ENAMETOOLONG;
		return;
	}
	if (strchr(file, '/')) {
		join(r->path, "", 0, file);
		execve(file, rc->args, rc->env);
		return;
	}
	for (;; p += n + 1) {
		n = strcspn(p, ":");
		if (!join(r->path, p, n, file)) {
			execve(r->path, rc->args, rc->env);
			if (errno == EACCES)
				memcpy(denied, r->path, sizeof(denied));
			else if (errno != ENOENT && errno != ENOTDIR)
				return;
		}
		if (!p[n])
			break;
	}
	if (denied[0])
		memcpy(r->path, denied, sizeof(r->path));
	else
		join(r->path, "", 0, file);
	errno = denied[0] ? EACCES : ENOENT;
}

/*
 * The vfork child. Raw system calls for the credentials: glibc's setuid()
 * and friends keep process-wide state that a vfork child shares with PID 1.
 * Order: groups, gid, uid (after setresuid the others are no longer
 * allowed), then prove that root cannot be regained.
 */
static void __attribute__((noreturn)) child(const struct run_cfg *rc, struct spawn_report *r)
{
	sigset_t none;
	int fd;

	r->step = "setsid";
	if (setsid() < 0)
		goto fail;
	/* Console input belongs to ember-init (restore hints): stdin is /dev/null. */
	r->step = "open /dev/null";
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || (fd != STDIN_FILENO && (dup2(fd, STDIN_FILENO) < 0 || close(fd) < 0)))
		goto fail;
	r->step = "setgroups";
	if (syscall(SYS_setgroups, (size_t)rc->nr_groups, rc->groups) < 0)
		goto fail;
	r->step = "setresgid";
	if (syscall(SYS_setresgid, rc->gid, rc->gid, rc->gid) < 0)
		goto fail;
	r->step = "setresuid";
	if (syscall(SYS_setresuid, rc->uid, rc->uid, rc->uid) < 0)
		goto fail;
	r->step = "dropping root (setresuid(0) still works)";
	if (rc->uid && syscall(SYS_setresuid, 0, 0, 0) == 0) {
		errno = EPERM;
		goto fail;
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	r->step = NULL;
	exec_search(rc, r);
fail:
	r->err = errno;
	_exit(INIT_EXEC_FAIL_STATUS);
}

pid_t image_start(const struct run_cfg *rc, char *what, size_t whatlen)
{
	static struct spawn_report r;
	pid_t pid;

	memset(&r, 0, sizeof(r));
	/* vfork, as posix_spawn: no page-table copy where every fault is emulated. */
	pid = vfork();
	if (pid == 0)
		child(rc, &r);
	if (pid < 0) {
		snprintf(what, whatlen, "%s: vfork", rc->args[0]);
		return -errno;
	}
	if (!r.err) {
		snprintf(what, whatlen, "%s", r.path);
		return pid;
	}
	waitpid(pid, NULL, 0);
	if (r.step)
		snprintf(what, whatlen, "%s: %s", rc->args[0], r.step);
	else if (strchr(r.path, '/'))
		snprintf(what, whatlen, "%s (as uid %u gid %u)", r.path, rc->uid, rc->gid);
	else
		snprintf(what, whatlen, "%s (searched PATH=%s)", r.path, rc->path);
	return -r.err;
}
