# SPDX-License-Identifier: Apache-2.0
# Shell helpers for tests that boot a guest: skip rules, a private network
# namespace with the guest's tap in it, ember-vmm start/stop, doorbell waits.
# Source it; it installs an EXIT trap that cleans up whatever it created.

GUEST_NS=""
GUEST_TAP=ember-t0
GUEST_HOST_IP=192.0.2.1   # TEST-NET-1, only ever inside our own namespace
GUEST_IP=192.0.2.2
GUEST_WORK=""
VMM_PID=""

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# guest_require: skip (exit 77) unless this machine can run a guest.
guest_require() {
	[ "$(id -u)" = 0 ] || skip "needs root (tap devices, network namespaces)"
	[ -c /dev/kvm ] && [ -r /dev/kvm ] || skip "/dev/kvm is missing or not accessible"
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
	for f in build/bin/ember-vmm build/guest/vmlinux build/guest/initramfs.cpio.gz; do
		[ -e "$f" ] || fail "$f is missing: run 'make all guest' first"
	done
}

# guest_kvm_kind: "pvm" when /dev/kvm is kvm-pvm (guest kernel code emulated), else "hw".
guest_kvm_kind() {
	if [ -d /sys/module/kvm_pvm ]; then echo pvm; else echo hw; fi
}

guest_cleanup() {
	if [ -n "$VMM_PID" ] && kill -0 "$VMM_PID" 2>/dev/null; then
		kill "$VMM_PID" 2>/dev/null
		sleep 0.2
		kill -9 "$VMM_PID" 2>/dev/null
	fi
	[ -n "$GUEST_NS" ] && ip netns del "$GUEST_NS" 2>/dev/null
	[ -n "$GUEST_WORK" ] && rm -rf "$GUEST_WORK"
}
trap guest_cleanup EXIT

# guest_net_setup: a namespace holding one tap with the host side address.
# The tap is created here (persistent, owned by the namespace) so ember-vmm
# opens it by name inside the namespace and no address outside is involved.
guest_net_setup() {
	GUEST_NS=ember-test-$$
	GUEST_WORK=$(mktemp -d /tmp/ember-test.XXXXXX)
	ip netns add "$GUEST_NS" || fail "cannot create network namespace"
	ip -n "$GUEST_NS" link set lo up
	ip -n "$GUEST_NS" tuntap add dev "$GUEST_TAP" mode tap vnet_hdr || fail "cannot create tap"
	ip -n "$GUEST_NS" addr add "$GUEST_HOST_IP/24" dev "$GUEST_TAP"
	ip -n "$GUEST_NS" link set "$GUEST_TAP" up
}

# guest_cmdline EXTRA...: the kernel command line for the demo guest.
guest_cmdline() {
	echo "console=ttyS0 quiet ember.ip=$GUEST_IP/24 ember.gw=$GUEST_HOST_IP" \
	     "ember.gwmac=$(ip netns exec "$GUEST_NS" cat /sys/class/net/$GUEST_TAP/address)" \
	     "ember.port=80 $*"
}

# guest_start ARGS...: start ember-vmm in the namespace, in the background.
guest_start() {
	ip netns exec "$GUEST_NS" build/bin/ember-vmm \
		--kernel build/guest/vmlinux --initrd build/guest/initramfs.cpio.gz \
		--console "$GUEST_WORK/console.log" --events "$GUEST_WORK/events" \
		--net "tap=$GUEST_TAP" "$@" 2>"$GUEST_WORK/vmm.log" &
	VMM_PID=$!
}

# guest_wait_event NAME TIMEOUT_S: wait for a doorbell event line; print its line.
guest_wait_event() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if grep -m1 "^$1 " "$GUEST_WORK/events" 2>/dev/null; then
			return 0
		fi
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "--- console:"; tail -n 30 "$GUEST_WORK/console.log" 2>/dev/null
	echo "--- ember-vmm:"; tail -n 30 "$GUEST_WORK/vmm.log" 2>/dev/null
	fail "no '$1' doorbell within $2 s"
}

# event_us NAME: the t_us value of an event line.
event_us() {
	grep -m1 "^$1 " "$GUEST_WORK/events" | sed -n 's/.*t_us=\([0-9]*\).*/\1/p'
}
