#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run-vmm`: boots the demo guest under ember-vmm alone (no emberd, no XDP) on
# a tap in a private network namespace, shows it answering HTTP from the host,
# then powers it off. `make run` (userspace/demo.sh) is the whole product path.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/guest.sh
trap 'echo; echo "interrupted: cleaning up"; exit 130' INT TERM

skip() { echo "ember demo: cannot run here: $*" >&2; exit 1; }
guest_require
guest_net_setup
VCPUS=${EMBER_DEMO_VCPUS:-1}

cat <<EOF
ember demo: one microVM (ember-vmm, $VCPUS vCPU, 256 MiB, kvm=$(guest_kvm_kind)) running
  guest kernel build/guest/vmlinux, ember-init and the ember-demo HTTP server,
  on tap $GUEST_TAP in network namespace $GUEST_NS (guest $GUEST_IP, host $GUEST_HOST_IP).
EOF
if [ "$(guest_kvm_kind)" = nested-tcg ]; then
	echo "  note: this machine has no /dev/kvm, so the demo runs inside a QEMU-TCG VM with"
	echo "  a real (emulated-SVM) KVM: every timing below is an emulator's, tens of times"
	echo "  slower than on a KVM host. See docs/testing.md."
elif [ "$(guest_kvm_kind)" = pvm ]; then
	echo "  note: this KVM is kvm-pvm; it emulates guest kernel code, so the boot takes"
	echo "  a minute or more here (seconds on hardware KVM). Guest user space runs natively."
fi

guest_start --vcpus "$VCPUS" --mem 256M --rng --cmdline "$(guest_cmdline)"
start=$(date +%s)
printf 'booting'
while ! grep -q '^ready ' "$GUEST_WORK/events" 2>/dev/null; do
	kill -0 "$VMM_PID" 2>/dev/null || {
		echo; tail -n 20 "$GUEST_WORK/console.log" "$GUEST_WORK/vmm.log"
		fail "ember-vmm exited before the guest was ready"
	}
	[ $(($(date +%s) - start)) -lt 900 ] || fail "no ready doorbell after 900 s"
	printf '.'
	sleep 2
done
echo
ms() { echo "$(($(event_us "$1") / 1000)) ms"; }
echo "  ember-vmm ready to run the guest  $(ms vmm_start)"
echo "  ember-init started                $(ms init_started)"
echo "  workload listening (ready)        $(ms ready)"
echo
echo "requests from the host ($GUEST_HOST_IP -> $GUEST_IP:80):"
for i in 1 2 3 4 5; do
	out=$(ip netns exec "$GUEST_NS" build/tests/http_get -p rtt -t 20000 "$GUEST_IP" 80 / 2>&1) ||
		fail "request $i failed: $out"
	us=$(sed -n 's/^rtt_p50_us=//p' <<<"$out")
	printf '  GET /  %7.2f ms  %s\n' "$(echo "$us / 1000" | bc -l)" "$(grep ember-demo <<<"$out")"
done
ip netns exec "$GUEST_NS" build/tests/http_get -n 50 -p rtt -t 20000 "$GUEST_IP" 80 / 2>&1 \
	>/dev/null | awk -F= '/_p50_us/ {p50 = $2} /_p99_us/ {p99 = $2}
	END {printf "  50 more requests: p50 %.2f ms, p99 %.2f ms\n", p50 / 1000, p99 / 1000}'
echo
echo "guest console (last lines of $GUEST_WORK/console.log):"
tail -n 5 "$GUEST_WORK/console.log" | sed 's/^/  | /'
echo "stopping the guest (ember-vmm pid $VMM_PID) and removing $GUEST_NS"
