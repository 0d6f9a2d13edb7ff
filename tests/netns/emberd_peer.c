/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper of tests/netns/emberd.sh: readies the client end of a veth for XDP redirects. */
#include <stdio.h>
#include <string.h>

#include "nslib.h"

/*
 * emberd_peer IFNAME (run inside the client namespace). Two things a shell
 * cannot do without ethtool or a BPF object file:
 * - TX checksum offload off: the router redirects the client's frames into a
 *   tap as they are, so their checksums must be complete;
 * - an XDP_PASS program: a veth only takes frames redirected to its peer
 *   (the guests' replies, bpf_redirect out of the ingress veth) when this end
 *   runs XDP.
 */
int main(int argc, char **argv)
{
	int idx, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: emberd_peer IFNAME\n");
		return 2;
	}
	idx = if_index(argv[1]);
	if (idx < 0) {
		fprintf(stderr, "emberd_peer: no interface %s\n", argv[1]);
		return 1;
	}
	rc = if_tx_csum_off(argv[1]);
	if (!rc)
		rc = xdp_pass_attach(idx);
	if (rc) {
		fprintf(stderr, "emberd_peer: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	return 0;
}
