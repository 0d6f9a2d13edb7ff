#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a command inside a throwaway Linux VM that has a real /dev/kvm, for
# machines whose own /dev/kvm is missing (e.g. a kvm-pvm guest, where kvm-pvm
# refuses to bind). The VM ("L1") is QEMU under TCG with -cpu max, which
# emulates AMD SVM, running Debian's own kernel with kvm-amd; ember-vmm then
# drives a real, hardware-style KVM inside it (reported as kvm=nested-tcg).
#
# usage: tests/lib/nested.sh [--mem MiB] COMMAND...
#   The host's root filesystem is shared read-only (9p) and chrooted into, so
#   COMMAND sees the same binaries and files; the current directory is shared
#   writable at the same path. /tmp and /run are fresh tmpfs. COMMAND runs as
#   root in L1's initial network namespace with loopback up; its output goes to
#   stdout, and this script exits with its status (124 on timeout).
# Environment: EMBER_NESTED_TIMEOUT (s, default 1800), EMBER_CACHE (kernel cache).
set -u

mem=${EMBER_NESTED_MEM:-2048} # EMBER_NESTED_MEM: L1 RAM in MiB (guest_require re-execs use it)
[ "${1:-}" = --mem ] && { mem=$2; shift 2; }
[ $# -gt 0 ] || { echo "usage: nested.sh [--mem MiB] COMMAND..." >&2; exit 2; }
cache=${EMBER_CACHE:-$HOME/.cache/ember}/nested
pkg=linux-image-amd64
die() { echo "nested: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps)"

# --- L1 kernel and modules: Debian's own kernel package, unpacked in the cache.
ver=$(apt-cache depends "$pkg" 2>/dev/null | sed -n 's/.*Depends: linux-image-\(.*\)/\1/p' | head -n1)
[ -n "$ver" ] || die "cannot resolve $pkg (run apt-get update)"
kdir=$cache/linux-image-$ver
if [ ! -f "$kdir/.done" ]; then
	echo "nested: fetching Debian kernel linux-image-$ver for the L1 VM" >&2
	rm -rf "$kdir" && mkdir -p "$kdir" || die "cannot create $kdir"
	(cd "$kdir" && apt-get download -q "linux-image-$ver" >/dev/null 2>&1) ||
		die "apt-get download linux-image-$ver failed"
	dpkg-deb -x "$kdir"/linux-image-*.deb "$kdir/x" && rm -f "$kdir"/*.deb && touch "$kdir/.done" ||
		die "cannot unpack linux-image-$ver"
fi
vmlinuz=$(ls "$kdir"/x/boot/vmlinuz-* 2>/dev/null | head -n1)
moddir=$(ls -d "$kdir"/x/lib/modules/* 2>/dev/null | head -n1)/kernel
[ -f "$vmlinuz" ] && [ -d "$moddir" ] || die "unpacked kernel incomplete in $kdir"

# Modules in load order (dependencies first).
mods="virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd
 drivers/net/tun drivers/net/veth drivers/virtio/virtio_ring drivers/virtio/virtio
 drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev
 drivers/virtio/virtio_pci fs/netfs/netfs fs/fscache/fscache net/9p/9pnet
 net/9p/9pnet_virtio fs/9p/9p"

# --- L1 initramfs: busybox, the modules, an init that chroots into the host.
work=$(mktemp -d /tmp/ember-nested.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,proc,sys,dev,mod,host,tmp} || die "cannot stage initramfs"
cp /bin/busybox "$root/bin/" || die "busybox-static missing (make deps)"
for m in $mods; do
	cp "$moddir/$m.ko" "$root/mod/" || die "module $m.ko missing from linux-image-$ver"
done
pwd >"$root/cwd"
# Test and benchmark knobs (numbers, no spaces) follow the command inside.
env | grep -E '^EMBER_(BENCH|TEST|BOOT|PAUSE)_[A-Z0-9_]*=[^ ]*$' >"$root/env"
# The command, one argument per line, reaches the chroot through the share.
cmdfile=.nested-cmd.$$
printf '%s\n' "$@" >"$cmdfile" || die "cannot write $cmdfile"
# A stop of this script (SIGTERM, Ctrl-C) stops the L1 VM too: QEMU runs in
# the background and would otherwise go on until its timeout.
stop_l1() { [ -s "$work/qemu.pid" ] && kill "$(cat "$work/qemu.pid")" 2>/dev/null; }
trap 'stop_l1; rm -rf "$work" "$cmdfile"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in irqbypass kvm ccp kvm-amd tun veth virtio_ring virtio virtio_pci_legacy_dev \
	virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p; do
	insmod /mod/$m.ko 2>/dev/null || echo "nested: insmod $m failed"
done
cwd=$(cat /cwd)
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host ||
	{ echo "NESTED-EXIT=125"; poweroff -f; }
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev; mkdir -p /host/dev/pts; mount -t devpts pts /host/dev/pts
mount -t tmpfs tmp /host/tmp; mount -t tmpfs run /host/run
# After the tmpfs mounts: a checkout under /tmp (CI clones anywhere) must not
# be hidden by them; its mount point is then created on the tmpfs.
mkdir -p "/host$cwd" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 work "/host$cwd" ||
	{ echo "nested: cannot mount the work tree at $cwd"; echo "NESTED-EXIT=125"; poweroff -f; }
mount -t bpf bpf /host/sys/fs/bpf 2>/dev/null
ip link set lo up
# A heartbeat for the watchdog outside: it stops when the L1 kernel wedges.
(while :; do echo NESTED-ALIVE; sleep 20; done) &
chroot /host /usr/bin/env EMBER_NESTED=1 $(cat /env) PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	/bin/bash -c 'cd "$1" && shift && mapfile -t a < @CMDFILE@ && exec "${a[@]}"' _ "$cwd"
echo "NESTED-EXIT=$?"
poweroff -f
EOF
sed -i "s|@CMDFILE@|$(pwd)/$cmdfile|" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/l1.cpio.gz") ||
	die "cannot pack the L1 initramfs"

log=$work/console
# run_l1: boot the L1 VM and run the command; 1 if its kernel locked up or
# panicked.
# QEMU-TCG's emulated SVM sometimes wedges the L1 kernel while VMs are
# created and destroyed (soft lockups on every CPU, no progress after), and
# QEMU has once spun in the firmware before booting the L1 kernel at all:
# either way the VM is stopped, so the caller can retry once.
run_l1() {
	local bg start why lockup=0 beats=0 beat_t n
	: >"$log"
	rm -f "$work/qemu.pid" "$work/rc"
	# stdin is /dev/null: CI has none at all (QEMU's stdio backend would
	# fail), and a terminal left in cooked mode lets Ctrl-C stop the run.
	(
		timeout --kill-after=10 "${EMBER_NESTED_TIMEOUT:-1800}" \
			qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m "$mem" \
			-nographic -no-reboot -nodefaults -serial stdio -display none \
			-pidfile "$work/qemu.pid" -kernel "$vmlinuz" -initrd "$work/l1.cpio.gz" \
			-append "console=ttyS0 quiet loglevel=1 panic=-1 mitigations=off" \
			-virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
			-virtfs "local,path=$(pwd),mount_tag=work,security_model=passthrough,multidevs=remap" \
			</dev/null |
			sed -u -e 's/\r//g' -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tee "$log" |
			sed -u -e 's/NESTED-ALIVE//g' | # also in the middle of a line of dots
			grep --line-buffered -v -e '^NESTED-EXIT=' -e '^SeaBIOS' -e '^Booting from ROM' -e '^$'
		echo "${PIPESTATUS[0]}" >"$work/rc"
	) &
	bg=$!
	start=$(date +%s)
	beat_t=$start
	while kill -0 "$bg" 2>/dev/null; do
		why=""
		n=$(grep -o 'NESTED-ALIVE' "$log" | wc -l)
		[ "$n" != "$beats" ] && beats=$n && beat_t=$(date +%s)
		if grep -qE 'soft lockup - CPU#[0-9]+ stuck for ([6-9][0-9]|[0-9]{3,})s' "$log"; then
			why="the L1 kernel is stuck (soft lockup in the emulated VM)"
		elif [ "$beats" -gt 0 ] && [ $(($(date +%s) - beat_t)) -gt 180 ]; then
			why="the L1 kernel is wedged (no heartbeat for 3 minutes)"
		elif [ $(($(date +%s) - start)) -gt 300 ] && ! grep -q 'Booting from ROM' "$log"; then
			# Seconds normally; 2 minutes were once exceeded on a
			# loaded machine by a VM that then booted fine.
			why="the L1 VM never left its firmware (5 minutes)"
		fi
		if [ "$lockup" = 0 ] && [ -n "$why" ]; then
			lockup=1
			echo "nested: $why: stopping it" >&2
			kill "$(cat "$work/qemu.pid" 2>/dev/null)" 2>/dev/null
		fi
		sleep 2
	done
	wait "$bg"
	# A panic of the L1 kernel itself (seen: "stack guard page was hit" in
	# a vCPU thread's exception entry) is the emulator's fault too; the VM
	# is gone already (panic=-1, -no-reboot), so only the retry is left.
	if [ "$lockup" = 0 ] && ! grep -q '^NESTED-EXIT=' "$log" &&
		grep -q 'Kernel panic - not syncing' "$log"; then
		echo "nested: the L1 kernel panicked (an emulator problem, not the test's)" >&2
		lockup=1
	fi
	return "$lockup"
}

if ! run_l1; then
	echo "nested: retrying once in a fresh L1 VM" >&2
	run_l1 || die "the L1 VM locked up or panicked twice (an emulator problem, not the test's)"
fi
rc=$(cat "$work/rc" 2>/dev/null || echo 1)
[ "$rc" = 124 ] && { echo "nested: L1 VM timed out" >&2; exit 124; }
st=$(sed -n 's/^NESTED-EXIT=\([0-9]*\).*/\1/p' "$log" | tail -n1)
[ -n "$st" ] || die "L1 VM ended without reporting the command's status (qemu exit $rc)"
exit "$st"
