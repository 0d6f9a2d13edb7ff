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
#   writable at the same path. /tmp and /run are fresh tmpfs, cgroup2 is at
#   /sys/fs/cgroup. COMMAND runs as root in L1's initial network namespace
#   with loopback up; its output goes to stdout, and this script exits with
#   its status (124 on timeout, 75 when the L1 itself failed every attempt).
#
# Environment (docs/testing.md has the measurements behind the defaults):
#   EMBER_NESTED_TIMEOUT  s, default 1800
#   EMBER_NESTED_MEM      L1 RAM in MiB, default 2048
#   EMBER_NESTED_KERNEL   L1 kernel series: 6.12 (bookworm-backports, default) or 6.1
#   EMBER_NESTED_KVM      module parameters for the L1, e.g. "kvm_amd.vls=0 kvm.halt_poll_ns=0"
#   EMBER_NESTED_CPU      QEMU -cpu model (default max; it must offer svm)
#   EMBER_NESTED_SMP      L1 CPUs (default 2)
#   EMBER_NESTED_TB_MIB   TCG translation-block cache in MiB (default: QEMU's)
#   EMBER_NESTED_ANCHOR   0: no idle anchor VM in the L1 (tests/lib/kvm_anchor.c; default 1)
#   EMBER_NESTED_CMDLINE  the L1 kernel's extra command line (default "maxcpus=1
#                         noreplace-smp tsc=reliable": docs/testing.md says why)
#   EMBER_NESTED_RETRIES  fresh L1s after an L1 panic or wedge (default 1; never
#                         after a failure of COMMAND itself)
#   EMBER_NESTED_EVENTS   a file to append "up SECONDS" (the L1 reached COMMAND)
#                         and "fail REASON" (an L1 panic or wedge) lines to
#   EMBER_CACHE           where the L1 kernel is kept
set -u

mem=${EMBER_NESTED_MEM:-2048}
[ "${1:-}" = --mem ] && { mem=$2; shift 2; }
[ $# -gt 0 ] || { echo "usage: nested.sh [--mem MiB] COMMAND..." >&2; exit 2; }
EMBER_CACHE=${EMBER_CACHE:-$HOME/.cache/ember}
events=${EMBER_NESTED_EVENTS:-/dev/null}
die() { echo "nested: $*" >&2; exit 1; }
nested_die() { die "$@"; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps)"

# --- L1 kernel and modules (nested_kernel.sh keeps them in the cache).
. "${BASH_SOURCE[0]%/*}/nested_kernel.sh"
l1_kernel "${EMBER_NESTED_KERNEL:-6.12}"

# --- L1 initramfs: busybox, the modules, an init that chroots into the host.
work=$(mktemp -d /tmp/ember-nested.XXXXXX) || die "mktemp failed"
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,proc,sys,dev,host,tmp} || die "cannot stage initramfs"
cp /bin/busybox "$root/bin/" || die "busybox-static missing (make deps)"
cp -r "$L1_MODS" "$root/mod" || die "cannot stage the L1 modules"
# Module parameters: "kvm_amd.vls=0" -> "vls=0" on the insmod of kvm-amd.
for p in ${EMBER_NESTED_KVM:-}; do
	case $p in *.*=*) ;; *) die "EMBER_NESTED_KVM: '$p' is not MODULE.PARAM=VALUE" ;; esac
	m=${p%%.*}
	echo "${p#*.}" >>"$root/mod/${m//-/_}.params"
done
pwd >"$root/cwd"
[ "${EMBER_NESTED_ANCHOR:-1}" = 0 ] || : >"$root/anchor"
# Test and benchmark knobs (numbers, no spaces) follow the command inside.
env | grep -E '^EMBER_((BENCH|TEST|BOOT|PAUSE)_[A-Z0-9_]*|REQUIRE_KVM)=[^ ]*$' >"$root/env"
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
# The other CPUs now (the L1 boots with maxcpus=1, so every code patch of the
# boot ran on one CPU), and before KVM loads, so KVM enables SVM on every CPU
# the usual way rather than on a CPU brought up under it.
for c in /sys/devices/system/cpu/cpu[1-9]*/online; do
	[ -f "$c" ] && echo 1 >"$c"
done
while read -r m; do
	insmod /mod/$m.ko $(cat /mod/$(echo $m | tr - _).params 2>/dev/null) ||
		echo "nested: insmod $m failed"
done </mod/order
cwd=$(cat /cwd)
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host ||
	{ echo "NESTED-EXIT=125"; poweroff -f; }
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
mount -t devtmpfs dev /host/dev; mkdir -p /host/dev/pts; mount -t devpts pts /host/dev/pts
# What udev or systemd would make: /dev/fd for bash's <(...), /dev/shm.
ln -s /proc/self/fd /host/dev/fd; mkdir -p /host/dev/shm; mount -t tmpfs shm /host/dev/shm
mount -t tmpfs tmp /host/tmp; mount -t tmpfs run /host/run
# After the tmpfs mounts: a checkout under /tmp (CI clones anywhere) must not
# be hidden by them; its mount point is then created on the tmpfs.
mkdir -p "/host$cwd" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 work "/host$cwd" ||
	{ echo "nested: cannot mount the work tree at $cwd"; echo "NESTED-EXIT=125"; poweroff -f; }
mount -t bpf bpf /host/sys/fs/bpf 2>/dev/null
ip link set lo up
# One idle VM for the L1's whole life (tests/lib/kvm_anchor.c says why).
a=$cwd/build/tests/kvm_anchor
if [ ! -f /anchor ]; then
	:
elif [ -x "/host$a" ]; then
	chroot /host "$a" >/anchor.log 2>&1 &
	i=0
	while [ $i -lt 100 ] && ! grep -q holding /anchor.log; do sleep 0.1; i=$((i + 1)); done
	grep -q holding /anchor.log || echo "nested: kvm_anchor failed: $(cat /anchor.log)"
else
	echo "nested: $a is missing (make all): no anchor VM, so VM churn may wedge the L1"
fi
# A heartbeat for the watchdog outside: it stops when the L1 kernel wedges.
(while :; do echo NESTED-ALIVE; sleep 20; done) &
hb=$!
echo NESTED-UP
chroot /host /usr/bin/env EMBER_NESTED=1 $(cat /env) PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	/bin/bash -c 'cd "$1" && shift && mapfile -t a < @CMDFILE@ && exec "${a[@]}"' _ "$cwd"
st=$?
kill $hb
echo "NESTED-EXIT=$st"
poweroff -f
EOF
sed -i "s|@CMDFILE@|$(pwd)/$cmdfile|" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/l1.cpio.gz") ||
	die "cannot pack the L1 initramfs"

# maxcpus=1: the init brings the other CPUs up (above). noreplace-smp: no
# switch from UP to SMP code when it does. tsc=reliable: no clocksource
# watchdog that could mark the TSC unstable at some random time, which
# patches sched_clock code on every CPU (kvm_anchor.c says why that hurts).
l1_cmdline="${EMBER_NESTED_CMDLINE-maxcpus=1 noreplace-smp tsc=reliable}"
accel=tcg,thread=multi${EMBER_NESTED_TB_MIB:+,tb-size=$EMBER_NESTED_TB_MIB}
log=$work/console
# l1_trace: the L1 kernel's first complaint, for the test's log.
l1_trace() {
	grep -m1 -A15 -E 'Kernel panic|soft lockup|BUG:|general protection|Oops' "$log" |
		sed 's/^/nested:   | /' >&2
}
# run_l1: boot the L1 VM and run the command; 1 if its kernel locked up or
# panicked.
# QEMU-TCG's emulated SVM sometimes wedges the L1 kernel while VMs are
# created and destroyed (soft lockups on every CPU, no progress after), and
# QEMU has once spun in the firmware before booting the L1 kernel at all:
# either way the VM is stopped, so the caller can retry.
run_l1() {
	local bg start why lockup=0 beats=0 beat_t n up=""
	: >"$log"
	rm -f "$work/qemu.pid" "$work/rc"
	# stdin is /dev/null: CI has none at all (QEMU's stdio backend would
	# fail), and a terminal left in cooked mode lets Ctrl-C stop the run.
	(
		timeout --kill-after=10 "${EMBER_NESTED_TIMEOUT:-1800}" \
			qemu-system-x86_64 -accel "$accel" -cpu "${EMBER_NESTED_CPU:-max}" \
			-smp "${EMBER_NESTED_SMP:-2}" -m "$mem" \
			-nographic -no-reboot -nodefaults -serial stdio -display none \
			-pidfile "$work/qemu.pid" -kernel "$L1_VMLINUZ" -initrd "$work/l1.cpio.gz" \
			-append "console=ttyS0 quiet loglevel=1 panic=-1 mitigations=off $l1_cmdline" \
			-virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
			-virtfs "local,path=$(pwd),mount_tag=work,security_model=passthrough,multidevs=remap" \
			</dev/null |
			sed -u -e 's/\r//g' -e 's/\x1bc//g' -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tee "$log" |
			sed -u -e 's/NESTED-ALIVE//g' | # also in the middle of a line of dots
			grep --line-buffered -v -e '^NESTED-EXIT=' -e '^NESTED-UP$' -e '^SeaBIOS' \
				-e '^Booting from ROM' -e 'reboot: Power down$' -e '^$'
		echo "${PIPESTATUS[0]}" >"$work/rc"
	) &
	bg=$!
	start=$(date +%s.%N)
	beat_t=${start%.*}
	while kill -0 "$bg" 2>/dev/null; do
		why=""
		# Not anchored: the console may put a heartbeat on the same line.
		if [ -z "$up" ] && grep -q 'NESTED-UP' "$log"; then
			up=$(echo "$(date +%s.%N) - $start" | bc)
			printf 'up %.1f\n' "$up" >>"$events"
		fi
		n=$(grep -o 'NESTED-ALIVE' "$log" | wc -l)
		[ "$n" != "$beats" ] && beats=$n && beat_t=$(date +%s)
		if grep -qE 'soft lockup - CPU#[0-9]+ stuck for ([6-9][0-9]|[0-9]{3,})s' "$log"; then
			why="the L1 kernel is stuck (soft lockup)"
		elif [ "$beats" -gt 0 ] && [ $(($(date +%s) - beat_t)) -gt 180 ]; then
			why="the L1 kernel is wedged (no heartbeat for 3 minutes)"
		elif [ $(($(date +%s) - ${start%.*})) -gt 300 ] && ! grep -q 'Booting from ROM' "$log"; then
			# Seconds normally; 2 minutes were once exceeded on a
			# loaded machine by a VM that then booted fine.
			why="the L1 VM never left its firmware (5 minutes)"
		fi
		if [ "$lockup" = 0 ] && [ -n "$why" ]; then
			lockup=1
			echo "nested: $why (an emulator problem, not the test's): stopping it" >&2
			echo "fail $why" >>"$events"
			l1_trace
			kill "$(cat "$work/qemu.pid" 2>/dev/null)" 2>/dev/null
		fi
		# Often until the L1 is up, for its boot time; then every 2 s.
		if [ -z "$up" ]; then sleep 0.2; else sleep 2; fi
	done
	wait "$bg"
	# A panic after the last poll (panic=-1 and -no-reboot end QEMU at once).
	if [ "$lockup" = 0 ] && ! grep -q 'NESTED-EXIT=' "$log" &&
		grep -q 'Kernel panic - not syncing' "$log"; then
		echo "nested: the L1 kernel panicked (an emulator problem, not the test's)" >&2
		echo "fail the L1 kernel panicked" >>"$events"
		l1_trace
		lockup=1
	fi
	return "$lockup"
}

tries=$((${EMBER_NESTED_RETRIES:-1} + 1))
for ((try = 1; ; try++)); do
	run_l1 && break
	[ "$try" -lt "$tries" ] || { echo "nested: the L1 VM failed $try time(s); giving up" >&2; exit 75; }
	echo "nested: retrying in a fresh L1 VM" >&2
done
rc=$(cat "$work/rc" 2>/dev/null || echo 1)
[ "$rc" = 124 ] && { echo "nested: L1 VM timed out" >&2; exit 124; }
st=$(sed -e 's/NESTED-ALIVE//g' "$log" | sed -n 's/^NESTED-EXIT=\([0-9]*\).*/\1/p' | tail -n1)
[ -n "$st" ] || die "L1 VM ended without reporting the command's status (qemu exit $rc)"
exit "$st"
