/* SPDX-License-Identifier: Apache-2.0 */
/* Running mkfs.erofs or mke2fs over an applied root: argv, sizing, output kept for errors. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rootfs.h"

extern char **environ;

#define BLOCK	    4096ULL
#define OUTPUT_KEEP 2048 /* bytes of the tool's output kept; the end says what went wrong */
#define ARGV_MAX    24

/*
 * The tools are looked up in fixed system directories, not $PATH: emberd runs
 * as root, and a PATH entry writable by someone else must not pick its mkfs.
 */
static const char *const tool_dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};

static int find_tool(const char *name, char *buf, size_t len, struct img_err *e)
{
	size_t i;

	for (i = 0; i < sizeof(tool_dirs) / sizeof(tool_dirs[0]); i++) {
		if (snprintf(buf, len, "%s/%s", tool_dirs[i], name) >= (int)len)
			return img_fail(e, -ENAMETOOLONG, "%s: path too long", name);
		if (!access(buf, X_OK))
			return 0;
	}
	return img_fail(e, -ENOENT, "%s: not found in /usr/sbin, /sbin, /usr/bin or /bin", name);
}

/* Appends what (fd) gives until EOF to (out), keeping its last OUTPUT_KEEP - 1 bytes. */
static void drain(int fd, char *out, size_t *n)
{
	char buf[4096];
	ssize_t r;

	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if ((size_t)r >= OUTPUT_KEEP - 1) {
			memcpy(out, buf + r - (OUTPUT_KEEP - 1), OUTPUT_KEEP - 1);
			*n = OUTPUT_KEEP - 1;
			continue;
		}
		if (*n + r > OUTPUT_KEEP - 1) {
			memmove(out, out + (*n + r - (OUTPUT_KEEP - 1)), OUTPUT_KEEP - 1 - r);
			*n = OUTPUT_KEEP - 1 - r;
		}
		memcpy(out + *n, buf, r);
		*n += r;
	}
	out[*n] = 0;
}

/* Fills (e) with the tool, how it ended and its output on one line. */
static int tool_failed(const char *tool, int status, char *out, struct img_err *e)
{
	char *p;

	for (p = out; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (WIFEXITED(status))
		return img_fail(e, -EIO, "%s: exit status %d: %s", tool, WEXITSTATUS(status), out);
	return img_fail(e, -EIO, "%s: killed by signal %d: %s", tool, WTERMSIG(status), out);
}

static int spawn(const char *path, char *const argv[], int outfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc;

	rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return -rc;
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, outfd, 2);
	if (!rc)
		rc = posix_spawn(pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

/* Runs argv[0] (looked up in tool_dirs) with no shell; its output goes into (e) on failure. */
static int run_tool(char *const argv[], struct img_err *e)
{
	char path[64], out[OUTPUT_KEEP];
	size_t n = 0;
	int pfd[2], rc, status;
	pid_t pid;

	rc = find_tool(argv[0], path, sizeof(path), e);
	if (rc)
		return rc;
	if (pipe2(pfd, O_CLOEXEC))
		return img_fail(e, -errno, "%s: pipe: %s", argv[0], strerror(errno));
	rc = spawn(path, argv, pfd[1], &pid);
	close(pfd[1]);
	if (rc) {
		close(pfd[0]);
		return img_fail(e, rc, "%s: spawn: %s", path, strerror(-rc));
	}
	drain(pfd[0], out, &n);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return img_fail(e, -errno, "%s: waitpid: %s", argv[0], strerror(errno));
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	return tool_failed(argv[0], status, out, e);
}

/* What the tree needs in ext4 blocks and inodes; nftw() has no context argument. */
static _Thread_local struct {
	uint64_t blocks, inodes;
} tree;

static int count_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)path, (void)flag, (void)ftw;
	tree.inodes++;
	/* Apparent sizes: a sparse file counts in full, which only overestimates. */
	if (S_ISREG(sb->st_mode) || S_ISDIR(sb->st_mode) || S_ISLNK(sb->st_mode))
		tree.blocks += ((uint64_t)sb->st_size + BLOCK - 1) / BLOCK;
	return 0;
}

/*
 * The ext4 image: blocks for the tree plus an eighth and 16 MiB for the
 * metadata (inode tables, bitmaps, extent and directory blocks), and an
 * eighth more inodes than entries. The slack costs little: mke2fs leaves
 * unused blocks as holes in the file. No journal: the image is read-only.
 */
static int mkfs_ext4(const char *root, const char *out, struct img_err *e)
{
	char size[32], inodes[32];
	uint64_t blocks;

	tree.blocks = tree.inodes = 0;
	if (nftw(root, count_entry, 16, FTW_PHYS | FTW_MOUNT))
		return img_fail(e, -errno, "%s: walking the tree: %s", root, strerror(errno));
	blocks = tree.blocks + tree.blocks / 8 + (16 << 20) / BLOCK + tree.inodes / 16;
	snprintf(size, sizeof(size), "%" PRIu64, blocks);
	snprintf(inodes, sizeof(inodes), "%" PRIu64, tree.inodes + tree.inodes / 8 + 64);
	char *const argv[] = {"mke2fs",
			      "-t",
			      "ext4",
			      "-d",
			      (char *)root,
			      "-F",
			      "-q",
			      "-b",
			      "4096",
			      "-I",
			      "256",
			      "-N",
			      inodes,
			      "-m",
			      "0",
			      "-O",
			      "^has_journal",
			      "-E",
			      "root_owner=0:0",
			      (char *)out,
			      size,
			      NULL};
	return run_tool(argv, e);
}

/* Uncompressed by default: the guest reads it with no decompression on its page faults. */
static int mkfs_erofs(const char *root, const char *out, bool compress, struct img_err *e)
{
	char *argv[ARGV_MAX];
	int n = 0;

	argv[n++] = "mkfs.erofs";
	argv[n++] = "--quiet";
	if (compress)
		argv[n++] = "-zlz4hc";
	argv[n++] = (char *)out;
	argv[n++] = (char *)root;
	argv[n] = NULL;
	return run_tool(argv, e);
}

int rootfs_mkfs(enum rootfs_fs fs, bool compress, const char *root, const char *out,
		struct img_err *e)
{
	if (fs == ROOTFS_EXT4)
		return mkfs_ext4(root, out, e);
	if (fs == ROOTFS_EROFS)
		return mkfs_erofs(root, out, compress, e);
	return img_fail(e, -EINVAL, "rootfs: unknown filesystem %d", (int)fs);
}
