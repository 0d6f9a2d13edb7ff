// SPDX-License-Identifier: Apache-2.0
/* Network-namespace, veth and tap plumbing shared by the netns test and the dataplane bench. */
#ifndef EMBER_TESTS_NSLIB_H
#define EMBER_TESTS_NSLIB_H

#include <stddef.h>
#include <stdint.h>

#define NS_MAX 8

/*
 * A set of namespaces created for one run. Every name gets the creating PID as
 * a suffix so parallel runs never collide; ns_cleanup() deletes them all (which
 * also deletes every veth/tap inside and with them the XDP attachments).
 */
struct ns_set {
	char names[NS_MAX][32];
	int fds[NS_MAX];
	int n;
	int home_fd; /* the netns the process started in */
};

/* Creates namespace "<prefix>-<pid>", brings its lo up. Returns its index in
 * (set) or -errno. */
int ns_add(struct ns_set *set, const char *prefix);

/* Moves the calling thread into namespace (idx) of (set); -1 = home. Returns 0
 * or -errno. */
int ns_enter(const struct ns_set *set, int idx);

/* Deletes every namespace in (set). Safe to call twice and from atexit. */
void ns_cleanup(struct ns_set *set);

/* Runs a shell command built from (fmt); returns its exit status, or -1.
 * stdout/stderr of the command go to the test log. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Creates a tap named (name) in the calling thread's current namespace with a
 * large tx queue (frames wait there while nobody reads), IFF_NO_PI, and opens
 * it non-blocking. (host_side): a guest's tap on the host, where the host's
 * own IPv6 chatter is switched off so the queue carries guest traffic only.
 * Returns the fd or -errno; (ifindex) receives its index.
 */
int tap_create(const char *name, int *ifindex, int host_side);

/* ifindex / MAC of (dev) in the calling thread's namespace; -errno on error. */
int if_index(const char *dev);
int if_mac(const char *dev, uint8_t mac[6]);

/*
 * Switches off TX checksum offload on (dev) (ethtool -K dev tx off). A veth
 * hands CHECKSUM_PARTIAL packets to XDP with only the pseudo-header sum in
 * the L4 checksum field; once redirected as an XDP frame that metadata is
 * gone and the receiver sees a bad checksum. A real NIC delivers complete
 * checksums, so the client side of a test must compute them in software.
 */
int if_tx_csum_off(const char *dev);

/* Attaches a two-instruction XDP_PASS program natively to (ifindex): a veth
 * that is the target of XDP_REDIRECT needs XDP on its peer for the native
 * path. Returns 0 or -errno. */
int xdp_pass_attach(int ifindex);

/* True when running as root with BPF and network namespaces usable; else
 * fills (why) with the reason. */
int ns_env_ok(char *why, size_t len);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC = bpf_ktime_get_ns()). */
uint64_t now_ns(void);

#endif
