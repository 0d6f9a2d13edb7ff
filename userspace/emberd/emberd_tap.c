/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's taps: one per guest, made and brought up here, and apps' spare taps. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emberd.h"

/*
 * No IPv6 on the host side of a guest tap: left on, the host sends router
 * solicitations and MLD reports into the tap when it comes up, which wake a
 * paused guest's VMM (CPU for nothing) and queue in its RX ring, and every
 * tap's link-local address would count as one of the host's addresses.
 * The guest program answers the guest's neighbour solicitations in XDP.
 */
static void ipv6_off(const char *ifname)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no IPv6 in this kernel: nothing to switch off */
	if (write(fd, "1", 1) != 1)
		log_dbg("%s: %s", path, strerror(errno));
	close(fd);
}

/*
 * A tap that lives as long as an fd to it: not persistent, so when the VMM
 * (the only holder once emberd closed its copy) exits, the kernel removes
 * it. IFF_VNET_HDR as ember-vmm's own tap=NAME path uses. Brought up here:
 * the router only redirects into a running device.
 */
int tap_open(unsigned int id, char name[IFNAMSIZ], int *ifindex)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), s, rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "ember%u", id);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	ipv6_off(name);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!rc && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	if (!rc && ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		rc = -errno;
	*ifindex = ifr.ifr_ifindex;
	if (s >= 0)
		close(s);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * The spare tap of an app that keeps no paused guest (standby 0): emberd
 * holds its fd, nothing reads it, and it is the app's standby tap, so the
 * packets of a wake queue in it (up to the tap's queue length). The wake
 * then restores a clone onto this very tap (tier 3), and the new guest
 * reads them first thing.
 */
int spare_tap_open(struct emberd *d, struct eapp *a)
{
	enum dp_xdp_mode used;
	int fd = tap_open(++d->next_guest, a->spare_tap, &a->spare_ifindex);

	if (fd < 0) {
		log_err("app %s: creating a spare tap: %s", app_name(a), strerror(-fd));
		return fd;
	}
	if (dp_attach_guest(d->dp, a->spare_ifindex, DP_XDP_AUTO, &used)) {
		log_err("app %s: spare tap %s: %s", app_name(a), a->spare_tap, dp_errmsg(d->dp));
		close(fd);
		return -EIO;
	}
	a->spare_fd = fd;
	log_dbg("app %s: spare tap %s (ifindex %d)", app_name(a), a->spare_tap, a->spare_ifindex);
	return 0;
}

void spare_tap_close(struct eapp *a)
{
	if (a->spare_fd >= 0)
		close(a->spare_fd); /* the kernel removes the tap */
	a->spare_fd = -1;
	a->spare_ifindex = 0;
}
