// SPDX-License-Identifier: Apache-2.0
/* Network-namespace, veth and tap plumbing shared by the netns test and the dataplane bench. */
#include "nslib.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/if_tun.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fprintf(stderr, "+ %s\n", cmd);
	fflush(stderr);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

int ns_add(struct ns_set *set, const char *prefix)
{
	char path[64];
	int i = set->n, fd;

	if (i >= NS_MAX)
		return -ENOSPC;
	if (i == 0 && set->home_fd <= 0) {
		set->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (set->home_fd < 0)
			return -errno;
	}
	snprintf(set->names[i], sizeof(set->names[i]), "%s-%d", prefix, (int)getpid());
	if (sh("ip netns add %s", set->names[i]) != 0)
		return -EIO;
	set->n++; /* from here on ns_cleanup() deletes it */
	snprintf(path, sizeof(path), "/run/netns/%s", set->names[i]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	set->fds[i] = fd;
	if (sh("ip -n %s link set lo up", set->names[i]) != 0)
		return -EIO;
	return i;
}

int ns_enter(const struct ns_set *set, int idx)
{
	int fd = idx < 0 ? set->home_fd : set->fds[idx];

	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

void ns_cleanup(struct ns_set *set)
{
	if (set->home_fd > 0)
		setns(set->home_fd, CLONE_NEWNET);
	while (set->n > 0) {
		set->n--;
		if (set->fds[set->n] > 0)
			close(set->fds[set->n]);
		set->fds[set->n] = 0;
		sh("ip netns del %s 2>/dev/null", set->names[set->n]);
	}
}

static void no_ipv6(const char *dev)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", dev);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) < 0)
		perror(path);
	close(fd);
}

int tap_create(const char *name, int *ifindex, int host_side)
{
	struct ifreq ifr = {0};
	int fd, s, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	/* Host-side IPv6 (router/MLD solicitations) would queue the host's own
	 * frames in front of the guest's: a tap carries guest traffic only. */
	if (host_side)
		no_ipv6(name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	/* The tap queue is what holds frames for a guest that is not running
	 * yet: make it deep enough for a burst (tun drops beyond it). */
	ifr.ifr_qlen = 4096;
	if (ioctl(s, SIOCSIFTXQLEN, &ifr) < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		close(s);
		goto fail;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		close(s);
		goto fail;
	}
	close(s);
	*ifindex = if_index(name);
	if (*ifindex < 0) {
		errno = -*ifindex;
		goto fail;
	}
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int if_index(const char *dev)
{
	unsigned int idx = if_nametoindex(dev);

	return idx ? (int)idx : -errno;
}

int if_mac(const char *dev, uint8_t mac[6])
{
	struct ifreq ifr = {0};
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	return rc;
}

int if_tx_csum_off(const char *dev)
{
	struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
	struct ifreq ifr = {0};
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(s, SIOCETHTOOL, &ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

int xdp_pass_attach(int ifindex)
{
	/* r0 = XDP_PASS; exit */
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "ember_pass", "GPL", insns, 2, NULL);
	if (fd < 0)
		return fd;
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
	close(fd); /* the attachment holds the program */
	return err;
}

int ns_env_ok(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "needs root (network namespaces, XDP)");
		return 0;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(why, len, "kernel has no BTF (/sys/kernel/btf/vmlinux)");
		return 0;
	}
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		snprintf(why, len, "no /dev/net/tun");
		return 0;
	}
	if (system("ip -V >/dev/null 2>&1") != 0) {
		snprintf(why, len, "iproute2 (ip) is not installed");
		return 0;
	}
	return 1;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
