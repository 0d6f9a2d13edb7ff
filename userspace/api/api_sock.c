// SPDX-License-Identifier: Apache-2.0
/* The API's Unix socket: stale-socket detection, bind with mode 0660, listen, removal. */
#include "api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define API_BACKLOG 128

static int sock_fail(char *err, size_t errlen, int rc, const char *fmt, const char *path)
{
	char what[160];

	snprintf(what, sizeof(what), fmt, path);
	if (rc == -EEXIST || rc == -EADDRINUSE || rc == -ENAMETOOLONG)
		snprintf(err, errlen, "%s", what);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-rc));
	return rc;
}

/*
 * A socket file left by a daemon that died (kill -9) refuses connections:
 * remove it. One that accepts (or whose backlog is full: EAGAIN on a
 * non-blocking connect) belongs to a live daemon: refuse to steal it.
 */
static int clear_stale(const struct sockaddr_un *sa, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : sock_fail(err, errlen, -errno, "cannot stat %s", path);
	if (!S_ISSOCK(st.st_mode))
		return sock_fail(err, errlen, -EEXIST, "%s exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sock_fail(err, errlen, -errno, "socket for probing %s", path);
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (!rc || rc == -EAGAIN)
		return sock_fail(err, errlen, -EADDRINUSE, "another daemon answers on %s", path);
	if (rc != -ECONNREFUSED)
		return sock_fail(err, errlen, rc, "cannot probe %s", path);
	if (unlink(path) && errno != ENOENT)
		return sock_fail(err, errlen, -errno, "cannot remove the stale socket %s", path);
	return 0;
}

/* bind() creates the file with the umask applied: narrowing the umask for
 * the call means the socket is never reachable by others, not even for the
 * moment before chmod() (the umask is per process; emberd binds at start,
 * before it has other threads). */
static int bind_0660(int fd, const struct sockaddr_un *sa, const char *path, gid_t gid)
{
	mode_t old = umask(0117);
	int rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));

	umask(old);
	if (rc)
		return -errno;
	if (chmod(path, 0660) || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid))) {
		rc = -errno;
		unlink(path);
		return rc;
	}
	return 0;
}

int api_sock_listen(const char *path, gid_t gid, struct stat *st, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return sock_fail(err, errlen, -ENAMETOOLONG, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((rc = clear_stale(&sa, path, err, errlen)))
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sock_fail(err, errlen, -errno, "socket for %s", path);
	if ((rc = bind_0660(fd, &sa, path, gid))) {
		sock_fail(err, errlen, rc, "cannot bind %s", path);
		goto fail;
	}
	if (listen(fd, API_BACKLOG) || stat(path, st)) {
		rc = sock_fail(err, errlen, -errno, "cannot listen on %s", path);
		unlink(path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

void api_sock_unlink(const char *path, const struct stat *st)
{
	struct stat now;

	if (!stat(path, &now) && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		unlink(path);
}
