/* SPDX-License-Identifier: Apache-2.0 */
/* An OCI image as the root: overlay, the runtime spec's default mounts, /etc files, workdir. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "runcfg.h"

/*
 * What the OCI runtime spec's config-linux defaults add to the API mounts
 * that mount_root() moved in (/proc, /dev, /sys, /tmp, /run). Mounted after
 * the switch, so every path resolves inside the image.
 */
static const struct mnt spec_mounts[] = {
	{"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	 "newinstance,ptmxmode=0666,mode=0620,gid=5"},
	{"shm", "/dev/shm", "tmpfs", NOSUID_NODEV_NOEXEC, "mode=1777,size=65536k"},
	{"mqueue", "/dev/mqueue", "mqueue", NOSUID_NODEV_NOEXEC, NULL},
};

static int mount_spec(char *err, size_t errlen)
{
	size_t i;
	int ret;

	/* The spec's sysfs is read-only: the workload must not retune the guest. */
	if (mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | NOSUID_NODEV_NOEXEC,
		  NULL) < 0) {
		snprintf(err, errlen, "remount /sys read-only: %s", strerror(errno));
		return -errno;
	}
	for (i = 0; i < sizeof(spec_mounts) / sizeof(spec_mounts[0]); i++) {
		ret = make_dir(spec_mounts[i].dir, err, errlen);
		ret = ret ?: do_mount(&spec_mounts[i], err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Replace /etc/@name with @len bytes of @text. The image's file may be a
 * symlink (resolv.conf often is): it is removed, never written through.
 */
static int write_etc(int etc, const char *name, const char *text, size_t len, char *err,
		     size_t errlen)
{
	ssize_t n = 0;
	int fd;

	if (unlinkat(etc, name, 0) < 0 && errno != ENOENT)
		goto fail;
	fd = openat(etc, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	n = write(fd, text, len);
	if (n != (ssize_t)len) {
		errno = n < 0 ? errno : EIO;
		close(fd);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	snprintf(err, errlen, "write /etc/%s: %s", name, strerror(errno));
	return -errno;
}

/* The guest's own address for /etc/hosts: eth0's, else Debian's 127.0.1.1. */
static void host_addrs(const struct init_cfg *cfg, char *v4, char *v6)
{
	strcpy(v4, "127.0.1.1");
	v6[0] = '\0';
	if (cfg->has_ip)
		inet_ntop(AF_INET, &cfg->ip, v4, INET_ADDRSTRLEN);
	if (cfg->has_ip6)
		inet_ntop(AF_INET6, &cfg->ip6, v6, INET6_ADDRSTRLEN);
}

static int write_hosts(int etc, const struct init_cfg *cfg, char *err, size_t errlen)
{
	char text[512], v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN];
	const char *h = cfg->hostname;
	int n;

	n = snprintf(text, sizeof(text),
		     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
		     "ip6-loopback\n");
	if (h[0]) {
		host_addrs(cfg, v4, v6);
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\t%s\n", v4, h);
		if (v6[0])
			n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\t%s\n", v6, h);
	}
	return write_etc(etc, "hosts", text, (size_t)n, err, errlen);
}

/* Name servers as given (checked to be addresses by the parser); none is an empty file. */
static int write_resolv(int etc, const struct run_cfg *rc, char *err, size_t errlen)
{
	char text[RUN_MAX_DNS * (INET6_ADDRSTRLEN + 16)];
	size_t n = 0;
	int i;

	for (i = 0; i < rc->nr_dns; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "nameserver %s\n", rc->dns[i]);
	return write_etc(etc, "resolv.conf", text, n, err, errlen);
}

static int write_etc_files(const struct run_cfg *rc, const struct init_cfg *cfg, char *err,
			   size_t errlen)
{
	char name[INIT_MAX_HOST + 1];
	int etc, ret;

	ret = make_dir("/etc", err, errlen);
	if (ret)
		return ret;
	etc = open("/etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (etc < 0) {
		snprintf(err, errlen, "open /etc: %s", strerror(errno));
		return -errno;
	}
	ret = write_hosts(etc, cfg, err, errlen);
	ret = ret ?: write_resolv(etc, rc, err, errlen);
	if (!ret && cfg->hostname[0]) {
		int n = snprintf(name, sizeof(name), "%s\n", cfg->hostname);

		ret = write_etc(etc, "hostname", name, (size_t)n, err, errlen);
	}
	close(etc);
	return ret;
}

/* mkdir -p, owned by root and 0755 as runc makes a missing cwd, then chdir. */
static int enter_workdir(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	size_t len = strlen(dir), i;
	int ret;

	if (len >= sizeof(path)) {
		snprintf(err, errlen, "workdir: longer than %zu bytes", sizeof(path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		/* make_dir() refuses a symlink; the image may well use one (/var/run). */
		ret = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
		path[i] = dir[i];
		if (ret) {
			snprintf(err, errlen, "workdir %s: mkdir: %s", dir, strerror(-ret));
			return ret;
		}
	}
	if (chdir(dir) < 0) {
		snprintf(err, errlen, "workdir %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

int image_setup(const struct run_cfg *rc, const struct init_cfg *cfg, char *err, size_t errlen)
{
	int ret;

	ret = mount_root(rc->root, rc->fstype, err, errlen);
	ret = ret ?: mount_spec(err, errlen);
	ret = ret ?: write_etc_files(rc, cfg, err, errlen);
	return ret ?: enter_workdir(rc->workdir, err, errlen);
}
