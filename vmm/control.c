// SPDX-License-Identifier: Apache-2.0
/* The control channel: accept connections, read command lines, pause/resume/snapshot the VM. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "snapshot.h"
#include "vm_internal.h"

#define CTL_PAUSE_TIMEOUT_MS  5000
#define CTL_RESUME_TIMEOUT_MS 1000

struct ctl_conn {
	int fd; /* -1: free slot */
	size_t len;
	bool overflow; /* discarding the rest of an oversized line */
	char buf[CTL_LINE_MAX];
};

static struct {
	struct vm *vm;
	uint64_t t0_ns;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_conn conns[CTL_MAX_CONNS];
} ctl = {.listen_fd = -1};

/* Replies are a few bytes on a local socket: a full send buffer means a dead peer. */
static void send_reply(struct ctl_conn *c, enum ctl_cmd cmd, const struct ctl_reply *r)
{
	char out[CTL_LINE_MAX + 8];
	int n = ctl_reply_encode(out, sizeof(out), cmd, r);

	if (n < 0) {
		pr_warn("control: reply to '%s' too long", ctl_cmd_name(cmd));
		return;
	}
	if (send(c->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		pr_warn("control: reply not sent: %s", strerror(errno));
}

static void reply_ok(struct ctl_conn *c, enum ctl_cmd cmd, struct ctl_reply *r)
{
	r->ok = 1;
	send_reply(c, cmd, r);
}

/* "err REASON": the command was refused or failed; the VM is as it was. */
static void reply_err(struct ctl_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply_err(struct ctl_conn *c, const char *fmt, ...)
{
	struct ctl_reply r = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.text, sizeof(r.text), fmt, ap);
	va_end(ap);
	send_reply(c, CTL_BAD, &r);
}

static uint64_t us_since_t0(uint64_t ns)
{
	return ns > ctl.t0_ns ? (ns - ctl.t0_ns) / 1000 : 0;
}

/* @t_cmd: when the command's bytes were read (the start of the VMM's work). */
static void do_resume(struct ctl_conn *c, uint64_t t_cmd)
{
	int64_t t = vcpus_resume_wait(ctl.vm, CTL_RESUME_TIMEOUT_MS);

	struct ctl_reply r = {0};

	if (t == -EALREADY) {
		reply_err(c, "not paused");
	} else if (t <= 0) {
		reply_err(c, "vCPUs did not start (exiting?)");
	} else {
		r.t_us = us_since_t0((uint64_t)t);
		r.wake_ns = (uint64_t)t > t_cmd ? (uint64_t)t - t_cmd : 0;
		r.mono_ns = (uint64_t)t;
		reply_ok(c, CTL_RESUME, &r);
	}
}

static void do_pause(struct ctl_conn *c)
{
	struct ctl_reply r = {.paused = 1};

	if (vcpus_pause(ctl.vm, CTL_PAUSE_TIMEOUT_MS)) {
		reply_err(c, "vCPUs did not pause within %d ms", CTL_PAUSE_TIMEOUT_MS);
		return;
	}
	events_emit("paused");
	reply_ok(c, CTL_PAUSE, &r);
}

/* Runs on the I/O thread: the VM's network stops for the write (it is paused anyway). */
static void do_snapshot(struct ctl_conn *c, const char *dir)
{
	bool was_paused = __atomic_load_n(&ctl.vm->pause_req, __ATOMIC_SEQ_CST);
	int ret = snapshot_take(ctl.vm, dir);

	if (!was_paused)
		vcpus_resume(ctl.vm);
	struct ctl_reply r = {0};

	if (ret) {
		reply_err(c, "snapshot failed: %s", strerror(-ret));
		return;
	}
	snprintf(r.text, sizeof(r.text), "%s", dir);
	reply_ok(c, CTL_SNAPSHOT, &r);
}

static void run_line(struct ctl_conn *c, char *line, uint64_t t_cmd)
{
	const char *arg;
	enum ctl_cmd cmd = ctl_cmd_decode(line, &arg);
	struct ctl_reply r = {.version = CTL_PROTO_VERSION};

	if (cmd == CTL_BAD) {
		reply_err(c, "%s", arg);
		return;
	}
	pthread_mutex_lock(&ctl.vm->ops_lock);
	switch (cmd) {
	case CTL_RESUME:
		do_resume(c, t_cmd);
		break;
	case CTL_PAUSE:
		do_pause(c);
		break;
	case CTL_VERSION:
		reply_ok(c, CTL_VERSION, &r);
		break;
	case CTL_STATUS:
		r.paused = __atomic_load_n(&ctl.vm->pause_req, __ATOMIC_SEQ_CST);
		reply_ok(c, CTL_STATUS, &r);
		break;
	case CTL_SNAPSHOT:
		do_snapshot(c, arg);
		break;
	case CTL_BAD:
	case CTL_NCMDS:
		break;
	}
	pthread_mutex_unlock(&ctl.vm->ops_lock);
}

static void conn_close(struct ctl_conn *c)
{
	if (vm_io_unwatch(ctl.vm, c->fd))
		pr_warn("control: unwatch failed");
	close(c->fd);
	c->fd = -1;
}

/* Split the buffer into lines; an oversized line is refused once and skipped to its end. */
static void conn_lines(struct ctl_conn *c, uint64_t t_cmd)
{
	char *start = c->buf, *nl;

	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		*nl = '\0';
		if (c->overflow)
			c->overflow = false;
		else
			run_line(c, start, t_cmd);
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	if (c->len == sizeof(c->buf)) {
		if (!c->overflow)
			reply_err(c, "line longer than %d bytes", CTL_LINE_MAX - 1);
		c->overflow = true;
		c->len = 0;
	}
}

static void on_conn(void *opaque, uint32_t revents)
{
	struct ctl_conn *c = opaque;
	ssize_t n;

	if (c->fd < 0)
		return;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n > 0) {
		c->len += (size_t)n;
		conn_lines(c, now_ns());
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR) && !(revents & (EPOLLHUP | EPOLLERR)))
		return;
	conn_close(c);
}

static int conn_add(int fd)
{
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++) {
		struct ctl_conn *c = &ctl.conns[i];

		if (c->fd >= 0)
			continue;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
			return -errno;
		c->fd = fd;
		c->len = 0;
		c->overflow = false;
		return vm_io_watch(ctl.vm, fd, EPOLLIN, on_conn, c);
	}
	return -EMFILE;
}

static void on_listen(void *opaque, uint32_t revents)
{
	int fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)opaque, (void)revents;
	if (fd < 0)
		return;
	if (conn_add(fd)) {
		/* Too many: say so and hang up; the VM keeps serving the others. */
		const char msg[] = "err too many control connections\n";

		if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			pr_warn("control: refusing a connection: %s", strerror(errno));
		close(fd);
	}
}

static int listen_on(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "--control '%s': path longer than %zu bytes", path,
			 sizeof(a.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	/* A socket left by a killed ember-vmm; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
		int e = errno;

		snprintf(err, errlen, "--control '%s': %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	ctl.listen_fd = fd;
	strcpy(ctl.path, path);
	return 0;
}

static int adopt_fd(int fd, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "--control-fd %d: not an open socket", fd);
		return -EBADF;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	ret = conn_add(fd);
	if (ret)
		snprintf(err, errlen, "--control-fd %d: %s", fd, strerror(-ret));
	return ret;
}

int control_init(struct vm *vm, const char *path, int fd, uint64_t t0_ns, char *err, size_t errlen)
{
	int ret = 0;

	ctl.vm = vm;
	ctl.t0_ns = t0_ns;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		ctl.conns[i].fd = -1;
	if (fd >= 0)
		ret = adopt_fd(fd, err, errlen);
	if (!ret && path)
		ret = listen_on(path, err, errlen);
	if (!ret && path) {
		ret = vm_io_watch(vm, ctl.listen_fd, EPOLLIN, on_listen, NULL);
		if (ret)
			snprintf(err, errlen, "--control: %s", strerror(-ret));
	}
	if (ret)
		control_close();
	return ret;
}

void control_close(void)
{
	if (ctl.listen_fd >= 0) {
		if (vm_io_unwatch(ctl.vm, ctl.listen_fd))
			pr_info("control: listening socket was not watched");
		close(ctl.listen_fd);
		ctl.listen_fd = -1;
		unlink(ctl.path);
	}
}
