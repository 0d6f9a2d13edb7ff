#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ember-init end to end without a VM: the unpacked initramfs runs as PID 1 of
# fresh PID + mount namespaces inside a network namespace whose "eth0" is a
# veth to a client namespace. EMBER_INIT_TEST=1 makes ember-init print its
# doorbell rings instead of executing `out`, and take its command line from
# EMBER_INIT_CMDLINE. Covers: mounts, netlink setup, spawn, READY probe,
# keep-alive client traffic, exit status -> POWEROFF, SIGTERM, PANIC, and the
# ext4 + overlay root (when a loop device is available).
set -u
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$work/console" ] && sed 's/^/  | /' "$work/console"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts)"
img=build/guest/initramfs.cpio
[ -e "$img" ] || { echo "FAIL: $img is missing: run 'make guest'"; exit 1; }
command -v curl >/dev/null || skip "curl is not installed"

work=$(mktemp -d /tmp/ember-init-test.XXXXXX)
ns=ember-init-$$ cns=ember-initc-$$ pid="" loopdev=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	ip netns del "$cns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/root"
cat "$img" | (cd "$work/root" && cpio -id --quiet) || fail "cannot unpack $img"

# Guest side "eth0" in $ns, client side 192.0.2.1 in $cns (TEST-NET-1, ours only).
ip netns add "$ns" && ip netns add "$cns" || skip "cannot create network namespaces"
ip -n "$ns" link add eth0 type veth peer name cli0 netns "$cns" || skip "no veth"
ip -n "$cns" addr add 192.0.2.1/24 dev cli0
ip -n "$cns" link set cli0 up
ip -n "$cns" link set lo up
gwmac=$(ip netns exec "$cns" cat /sys/class/net/cli0/address)

# boot CMDLINE: start ember-init as PID 1 in the background.
boot() {
	: >"$work/console"
	EMBER_INIT_TEST=1 EMBER_INIT_CMDLINE="$1" ip netns exec "$ns" \
		unshare -p -f -m --propagation private chroot "$work/root" /init \
		>"$work/console" 2>&1 &
	pid=$!
}

# wait_for TEXT SECONDS: a console line containing TEXT.
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		grep -qF -- "$1" "$work/console" && return 0
		sleep 0.05
	done
	fail "no '$1' on the console within $2 s"
}

# halted STATUS: ember-init rang POWEROFF STATUS and its namespace is gone.
halted() {
	wait_for "doorbell POWEROFF $1" 10
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "ember-init still running after POWEROFF"
	wait "$pid" 2>/dev/null
	pid=""
}

# The process that is PID 1 in its namespace, seen from the host.
init_pid() {
	local p q
	for p in $(pgrep -P "$pid") $(for q in $(pgrep -P "$pid"); do pgrep -P "$q"; done); do
		awk '/^NSpid:/ { exit !($NF == 1) }' "/proc/$p/status" 2>/dev/null && { echo "$p"; return; }
	done
	fail "cannot find ember-init's pid"
}

echo "--- 1: network, READY, requests, exit status 0"
boot "console=ttyS0 ember.ip=192.0.2.2/24 ember.gw=192.0.2.1 ember.gwmac=$gwmac \
ember.port=8080 ember.hostname=guest-t1 ember.arg=--exit-after=3 ember.future=1"
wait_for "doorbell READY 8080" 10
grep -q "doorbell INIT_STARTED 0" "$work/console" || fail "no INIT_STARTED"
grep -q "unknown key(s) ignored: ember.future" "$work/console" || fail "no unknown-key warning"
out=$(ip netns exec "$cns" curl -s --max-time 5 http://192.0.2.2:8080/ http://192.0.2.2:8080/rand)
echo "$out" | grep -q "^ember-demo hostname=guest-t1 boot_id=" || fail "bad GET /: $out"
ip netns exec "$ns" ip neigh show 192.0.2.1 | grep -q PERMANENT || fail "no permanent neighbour"
ip netns exec "$ns" ip route show default | grep -q "via 192.0.2.1 dev eth0" || fail "no route"
ip netns exec "$cns" curl -s --max-time 5 -o /dev/null http://192.0.2.2:8080/time
wait_for "doorbell WORKLOAD_EXIT 0" 10
halted 0
echo "ok"

echo "--- 2: exit status of the workload is the power-off status"
boot "ember.arg=--bogus"
wait_for "doorbell WORKLOAD_EXIT 512" 10
halted 2
echo "ok"

echo "--- 3: SIGTERM to init stops the workload cleanly"
boot "ember.port=8081"
wait_for "doorbell READY 8081" 10
kill -TERM "$(init_pid)"
wait_for "stopping the workload" 5
halted 0
echo "ok"

echo "--- 4: missing workload"
boot "ember.exec=/bin/nope"
wait_for "doorbell WORKLOAD_EXIT 32512" 10
halted 127
echo "ok"

echo "--- 5: bad command line -> PANIC"
boot "ember.ip=192.0.2.2 ember.port=80"
wait_for "panic: ember.ip=192.0.2.2: expected IPv4/PREFIX" 10
wait_for "doorbell PANIC 22" 5
halted 255
echo "ok"

echo "--- 6: ext4 root under an overlay"
if command -v mke2fs >/dev/null && loopdev=$(losetup -f 2>/dev/null) && [ -n "$loopdev" ]; then
	mkdir -p "$work/disk/bin" "$work/disk/etc"
	cp "$work/root/bin/ember-demo" "$work/disk/bin/app"
	echo from-disk >"$work/disk/etc/marker"
	mke2fs -q -t ext4 -d "$work/disk" "$work/disk.img" 8M >/dev/null || fail "mke2fs"
	loopdev=$(losetup -f --show -r "$work/disk.img") || skip "no loop device"
	boot "ember.root=$loopdev ember.exec=/bin/app ember.port=8082 ember.arg=--exit-after=1 \
ember.ip=192.0.2.2/24"
	wait_for "doorbell READY 8082" 10
	grep -q "root: $loopdev (read-only) under a tmpfs overlay" "$work/console" || fail "no root line"
	# The workload's root is the disk, writable through the overlay.
	root=/proc/$(init_pid)/root
	[ "$(cat "$root/etc/marker")" = from-disk ] || fail "disk is not the root"
	echo x >"$root/newfile" || fail "root is not writable"
	grep -q " / overlay " "/proc/$(init_pid)/mounts" || fail "root is not an overlay"
	grep -q "^proc /proc " "/proc/$(init_pid)/mounts" || fail "/proc not moved"
	ip netns exec "$cns" curl -s --max-time 5 -o /dev/null http://192.0.2.2:8082/
	halted 0
	losetup -d "$loopdev"; loopdev=""
	echo "ok"
else
	echo "skipped (no mke2fs or loop device)"
fi
echo "PASS"
