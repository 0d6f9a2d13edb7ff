/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's file systems: API mounts, and the optional read-only root disk under an overlay. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

/* The directories exist in the initramfs (vmm/guest/Build.mk creates them). */
static const struct mnt early[] = {
	{"proc", "/proc", "proc", NOSUID_NODEV_NOEXEC, NULL},
	{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755"},
	{"sysfs", "/sys", "sysfs", NOSUID_NODEV_NOEXEC, NULL},
	{"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
};

/* Where the root disk and its writable layer go before the switch. */
#define LOWER_DIR "/mnt/lower"
#define RW_DIR	  "/mnt/rw"
#define NEW_ROOT  "/mnt/root"

int do_mount(const struct mnt *m, char *err, size_t errlen)
{
	/* EBUSY: the kernel mounted it already (CONFIG_DEVTMPFS_MOUNT). */
	if (mount(m->src, m->dir, m->type, m->flags, m->data) == 0 || errno == EBUSY)
		return 0;
	snprintf(err, errlen, "mount %s on %s: %s", m->type, m->dir, strerror(errno));
	return -errno;
}

int mount_early(char *err, size_t errlen)
{
	size_t i;
	int ret;

	for (i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
		ret = do_mount(&early[i], err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int make_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return 0;
	/* A symlink from the root disk must not send a mount outside it. */
	if (errno == EEXIST && lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
		errno = ENOTDIR;
	if (errno == EEXIST)
		return 0;
	snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
	return -errno;
}

/* Move the early mounts under the new root (creating their directories). */
static int move_api_mounts(char *err, size_t errlen)
{
	char dir[64];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
		snprintf(dir, sizeof(dir), NEW_ROOT "%s", early[i].dir);
		ret = make_dir(dir, err, errlen);
		if (ret)
			return ret;
		if (mount(early[i].dir, dir, NULL, MS_MOVE, NULL) < 0) {
			snprintf(err, errlen, "move %s to %s: %s", early[i].dir, dir,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * The overlay keeps the disk image untouched (it may be shared by every
 * clone) while the workload still sees a writable root; writes go to RAM.
 */
static int mount_overlay(const char *dev, const char *fstype, char *err, size_t errlen)
{
	const struct mnt steps[] = {
		{dev, LOWER_DIR, fstype, MS_RDONLY, NULL},
		{"tmpfs", RW_DIR, "tmpfs", 0, "mode=0755"},
	};
	const struct mnt ovl = {"overlay", NEW_ROOT, "overlay", 0,
				"lowerdir=" LOWER_DIR ",upperdir=" RW_DIR "/upper,workdir=" RW_DIR
				"/work"};
	int ret;

	ret = do_mount(&steps[0], err, errlen);
	ret = ret ?: do_mount(&steps[1], err, errlen);
	ret = ret ?: make_dir(RW_DIR "/upper", err, errlen);
	ret = ret ?: make_dir(RW_DIR "/work", err, errlen);
	return ret ?: do_mount(&ovl, err, errlen);
}

/*
 * switch_root, the initramfs way: pivot_root(2) refuses the rootfs, so the
 * new root is moved over "/" and chrooted into. The initramfs stays in
 * memory (it is small; deleting it file by file would cost more syscalls).
 */
int mount_root(const char *dev, const char *fstype, char *err, size_t errlen)
{
	int ret;

	ret = mount_overlay(dev, fstype, err, errlen);
	ret = ret ?: move_api_mounts(err, errlen);
	if (ret)
		return ret;
	if (chdir(NEW_ROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		snprintf(err, errlen, "switch to %s: %s", NEW_ROOT, strerror(errno));
		return -errno;
	}
	return 0;
}
