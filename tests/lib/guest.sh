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
GUEST_FAILED=0 # set by fail(): the cleanup keeps the work files (keep_work)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; GUEST_FAILED=1; exit 1; }

# keep_work DIR: after a failure, DIR's small text files (logs, consoles,
# doorbell events, records) are copied to $EMBER_TEST_LOGS/TEST.work/
# before the cleanup removes DIR: under nested TCG the work dir lives in the
# L1's memory and goes with it, and an emulator flake seen once is only
# understood from what the guest and its VMM wrote. Memory files and
# snapshots are left out (size and name).
keep_work() {
	local dest
	[ "$GUEST_FAILED" = 1 ] && [ -d "$1" ] || return 0
	dest=$(realpath -m "${EMBER_TEST_LOGS:-build/test-logs}/$(basename "$0" .sh).work") || return 0
	mkdir -p "$dest" || return 0
	(cd "$1" && find . -type f -size -4M \( -name '*.log' -o -name '*.console' -o \
		-name '*events*' -o -name '*.json' -o -name '*.vmm' -o -name '*.argv' -o \
		-name 'console*' \) -exec cp --parents -t "$dest" {} +) 2>/dev/null
	echo "kept the failed test's work files in ${dest#"$PWD"/}" >&2
}

# guest_require: skip (exit 77) unless this machine can run a guest. Without
# /dev/kvm (a kvm-pvm machine that is itself a PVM guest has none), the calling
# test re-runs itself inside tests/lib/nested.sh: a QEMU-TCG VM whose emulated
# SVM gives it a real KVM. EMBER_NO_NESTED=1 turns that off (plain skip).
guest_require() {
	[ "$(id -u)" = 0 ] || skip "needs root (tap devices, network namespaces)"
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
	for f in build/bin/ember-vmm build/guest/vmlinux build/guest/initramfs.cpio \
		build/tests/http_get; do
		[ -e "$f" ] || fail "$f is missing: run 'make all guest' first"
	done
	[ -c /dev/kvm ] && return 0
	if [ -z "${EMBER_NESTED:-}" ] && [ "${EMBER_NO_NESTED:-0}" != 1 ] &&
		command -v qemu-system-x86_64 >/dev/null; then
		echo "no /dev/kvm on this machine ($(guest_no_kvm_reason));"
		echo "re-running $0 inside a nested VM with a real KVM (tests/lib/nested.sh)"
		trap - EXIT
		exec tests/lib/nested.sh "$0" "$@"
	fi
	skip "/dev/kvm is missing ($(guest_no_kvm_reason))"
}

guest_no_kvm_reason() {
	if dmesg 2>/dev/null | grep -q 'kvm-pvm: this kernel is itself a kvm-pvm guest'; then
		echo "this host is itself a kvm-pvm guest: kvm-pvm does not bind"
	elif ! grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
		echo "no VMX/SVM and no kvm-pvm"
	else
		echo "KVM module not loaded"
	fi
}

# guest_kvm_kind: "pvm" when /dev/kvm is kvm-pvm (guest kernel code emulated), else "hw".
guest_kvm_kind() {
	if [ -n "${EMBER_NESTED:-}" ]; then echo nested-tcg
	elif [ -d /sys/module/kvm_pvm ]; then echo pvm
	else echo hw; fi
}

guest_cleanup() {
	if [ -n "$VMM_PID" ] && kill -0 "$VMM_PID" 2>/dev/null; then
		kill "$VMM_PID" 2>/dev/null
		sleep 0.2
		kill -9 "$VMM_PID" 2>/dev/null
	fi
	[ -n "$GUEST_NS" ] && ip netns del "$GUEST_NS" 2>/dev/null
	[ -n "$GUEST_WORK" ] && { keep_work "$GUEST_WORK"; rm -rf "$GUEST_WORK"; }
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
# reboot=p: the default reboot path executes int3, which kvm-pvm cannot emulate;
# percpu_alloc=page noreplace-smp: boot-time savings (docs/guest-kernel.md).
guest_cmdline() {
	echo "console=ttyS0 quiet reboot=p percpu_alloc=page noreplace-smp" \
	     "ember.ip=$GUEST_IP/24 ember.gw=$GUEST_HOST_IP" \
	     "ember.gwmac=$(ip netns exec "$GUEST_NS" cat /sys/class/net/$GUEST_TAP/address)" \
	     "ember.port=80 $*"
}

# guest_start ARGS...: start ember-vmm in the namespace, in the background.
guest_start() {
	ip netns exec "$GUEST_NS" build/bin/ember-vmm \
		--kernel "${GUEST_KERNEL:-build/guest/vmlinux}" --initrd build/guest/initramfs.cpio \
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
	# On stderr: callers often send the event line itself to /dev/null.
	{
		echo "--- console:"; tail -n 30 "$GUEST_WORK/console.log" 2>/dev/null
		echo "--- ember-vmm:"; tail -n 30 "$GUEST_WORK/vmm.log" 2>/dev/null
		# A guest that reset before its first console byte: seen only under
		# nested TCG, now and then (docs/testing.md); the marker lets the L1
		# runner (l1_group.sh) give the test one more try in a fresh L1.
		if [ ! -s "$GUEST_WORK/console.log" ] &&
			grep -q 'guest reset (triple fault' "$GUEST_WORK/vmm.log" 2>/dev/null; then
			echo "EMBER-BOOT-RESET: the guest reset itself before printing anything"
		fi
		if kill -0 "$VMM_PID" 2>/dev/null; then
			echo "FAIL: no '$1' doorbell within $2 s"
		else
			echo "FAIL: ember-vmm exited before the '$1' doorbell"
		fi
	} >&2
	GUEST_FAILED=1
	exit 1
}

# event_us NAME: the t_us value of an event line.
event_us() {
	grep -m1 "^$1 " "$GUEST_WORK/events" | sed -n 's/.*t_us=\([0-9]*\).*/\1/p'
}
