#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot benchmark: one ember-vmm boot of the demo guest (time to VMM ready, to
# init, to the ready doorbell), HTTP round trips over virtio-net + tap, and
# QEMU's microvm booting the same kernel and initramfs to init in the same run.
#
# Prints name=value lines (bench/run.sh protocol). Knobs: EMBER_BENCH_REQUESTS
# (default 200), EMBER_BENCH_VCPUS (1), EMBER_BENCH_QEMU=0 skips QEMU.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/guest.sh

REQUESTS=${EMBER_BENCH_REQUESTS:-200}
VCPUS=${EMBER_BENCH_VCPUS:-1}
TIMEOUT=${EMBER_BOOT_TIMEOUT:-600}

guest_require
guest_net_setup
echo "kvm=$(guest_kvm_kind)"
echo "vcpus=$VCPUS"

# --- ember-vmm ---------------------------------------------------------------
guest_start --vcpus "$VCPUS" --mem 256M --rng --cmdline "$(guest_cmdline)"
guest_wait_event ready "$TIMEOUT" >&2
vmm_us=$(event_us vmm_start)
init_us=$(event_us init_started)
ready_us=$(event_us ready)
[ -n "$vmm_us" ] && [ -n "$init_us" ] && [ -n "$ready_us" ] || fail "missing event lines"
echo "vmm_start_ms=$(echo "scale=3; $vmm_us / 1000" | bc)"
echo "boot_to_init_ms=$((init_us / 1000))"
echo "boot_to_ready_ms=$((ready_us / 1000))"
echo "init_to_ready_ms=$(((ready_us - init_us) / 1000))"

# Round trips from the host side of the tap: a new connection per request
# (SYN, request, response, FIN), then one kept-alive connection.
ip netns exec "$GUEST_NS" build/tests/http_get -n "$REQUESTS" -p http_rtt -t 20000 \
	"$GUEST_IP" 80 / 2>&1 >/dev/null | grep '=' || fail "HTTP round trips failed"
ip netns exec "$GUEST_NS" build/tests/http_get -k -n "$REQUESTS" -p http_keepalive_rtt \
	-t 20000 "$GUEST_IP" 80 / 2>&1 >/dev/null | grep '=' || fail "keep-alive round trips failed"
kill "$VMM_PID"
wait "$VMM_PID" 2>/dev/null
VMM_PID=""

# --- QEMU microvm, same kernel and initramfs ------------------------------------
# QEMU does not apply ember's CPU template, so the command line hides the same
# CPU features (platform notes). It does not implement the doorbell either:
# time to init is taken from ember-init's first console line (so `loglevel=4`
# quiets the kernel instead of `quiet`, which ember-init also obeys), time to
# ready from the first HTTP answer over the same tap.
[ "${EMBER_BENCH_QEMU:-1}" = 1 ] || exit 0
command -v qemu-system-x86_64 >/dev/null || { echo "qemu_boot_to_init_ms=unavailable"; exit 0; }
qlog=$GUEST_WORK/qemu-console.log
qcpu=host,-arch-capabilities,kvm-pv-ipi=off,kvm-pv-sched-yield=off,kvm-pv-tlb-flush=off,kvm-pv-unhalt=off
qcmd="$(guest_cmdline | sed 's/ quiet / loglevel=4 /') noxsave retain_initrd"
qcmd="$qcmd clearcpuid=141,151,297,308,580"
start=$(date +%s%N)
ip netns exec "$GUEST_NS" qemu-system-x86_64 -M microvm,rtc=off,acpi=off -enable-kvm \
	-cpu "$qcpu" -smp "$VCPUS" -m 256 -nodefaults -no-user-config -nographic \
	-serial "file:$qlog" -kernel build/guest/vmlinux -initrd build/guest/initramfs.cpio \
	-append "$qcmd" -netdev "tap,id=n0,ifname=$GUEST_TAP,script=no,downscript=no" \
	-device virtio-net-device,netdev=n0 -device isa-debug-exit,iobase=0xcf9,iosize=1 \
	>/dev/null 2>"$GUEST_WORK/qemu.log" &
qpid=$!
init_ns="" ready_ns=""
for ((i = 0; i < TIMEOUT * 50; i++)); do
	if [ -z "$init_ns" ] && grep -q 'ember-init' "$qlog" 2>/dev/null; then
		init_ns=$(date +%s%N)
	fi
	if [ -n "$init_ns" ] && ip netns exec "$GUEST_NS" build/tests/http_get -t 200 \
		"$GUEST_IP" 80 / >/dev/null 2>&1; then
		ready_ns=$(date +%s%N)
		break
	fi
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.02
done
kill "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null
if [ -n "$init_ns" ]; then
	qms=$(((init_ns - start) / 1000000))
	echo "qemu_boot_to_init_ms=$qms"
	echo "ember_vs_qemu_boot_to_init_ratio=$(echo "scale=3; $init_us / 1000 / $qms" | bc)"
	[ -n "$ready_ns" ] && echo "qemu_boot_to_first_answer_ms=$(((ready_ns - start) / 1000000))"
else
	tail -n 20 "$qlog" "$GUEST_WORK/qemu.log" >&2
	echo "qemu_boot_to_init_ms=failed"
	exit 1
fi
