// SPDX-License-Identifier: Apache-2.0
/* XDP attachment of the pinned programs: native when the driver can, generic otherwise. */
#include "dp_internal.h"

#include <errno.h>
#include <string.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

const char *dp_mode_name(enum dp_xdp_mode mode)
{
	switch (mode) {
	case DP_XDP_NATIVE:
		return "native";
	case DP_XDP_GENERIC:
		return "generic";
	default:
		return "auto";
	}
}

/*
 * Netlink attachment (bpf_xdp_attach), not a bpf_link: a link dies with the
 * process that holds it, while routing must go on when emberd restarts.
 * XDP_FLAGS_REPLACE is not used: whoever runs attach means to replace.
 */
static int attach(struct dp *dp, const char *pin, int ifindex, enum dp_xdp_mode mode,
		  enum dp_xdp_mode *used)
{
	int fd = dp_fd(dp, pin), err;

	if (fd < 0)
		return fd;
	if (mode != DP_XDP_GENERIC) {
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);
		if (!err) {
			if (used)
				*used = DP_XDP_NATIVE;
			return 0;
		}
		if (mode == DP_XDP_NATIVE)
			return dp_fail(dp, err, "native XDP on ifindex %d: %s", ifindex,
				       strerror(-err));
		/* A program in the other mode blocks this one: clear it first. */
		bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
	} else {
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	}
	err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, NULL);
	if (err)
		return dp_fail(dp, err, "generic XDP on ifindex %d: %s", ifindex, strerror(-err));
	if (used)
		*used = DP_XDP_GENERIC;
	return 0;
}

int dp_attach_router(struct dp *dp, int ifindex, enum dp_xdp_mode mode, enum dp_xdp_mode *used)
{
	return attach(dp, DP_PIN_PROG_ROUTER, ifindex, mode, used);
}

int dp_attach_guest(struct dp *dp, int ifindex, enum dp_xdp_mode mode, enum dp_xdp_mode *used)
{
	return attach(dp, DP_PIN_PROG_GUEST, ifindex, mode, used);
}

int dp_detach(int ifindex)
{
	int e1 = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	int e2 = bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);

	return e1 && e2 ? e1 : 0;
}

int dp_xdp_query(int ifindex, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	if (err)
		return err;
	if (prog_id)
		*prog_id = q.prog_id;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
	case XDP_ATTACHED_HW:
		return DP_XDP_NATIVE;
	case XDP_ATTACHED_SKB:
		return DP_XDP_GENERIC;
	default:
		return 0;
	}
}
