#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boots the guest kernel with ember-init and the demo workload under ember-vmm
# (2 vCPUs, virtio-net on a tap in a private namespace, virtio-rng), waits for
# the ready doorbell, fetches GET / from the host side of the tap, then lets
# the workload exit so the guest powers off and ember-vmm exits 0. A second
# boot does the same from the bzImage. On kvm-pvm the guest kernel is
# emulated, so each boot takes a minute or more there.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
guest_net_setup
VCPUS=${EMBER_TEST_VCPUS:-2}
BOOT_TIMEOUT=${EMBER_BOOT_TIMEOUT:-600}

# --exit-after 2: the two requests below, then the workload exits 0 and
# ember-init powers the guest off through the doorbell.
t0=$(date +%s)
guest_start --vcpus "$VCPUS" --mem 256M --rng \
	--cmdline "$(guest_cmdline ember.arg=--exit-after ember.arg=2)"
echo "ember-vmm pid $VMM_PID, kvm=$(guest_kvm_kind), $VCPUS vCPUs; waiting for the ready doorbell"

guest_wait_event init_started "$BOOT_TIMEOUT" >/dev/null
echo "ok: init_started after $(($(event_us init_started) / 1000)) ms (ember-vmm clock)"
guest_wait_event ready "$BOOT_TIMEOUT" | grep -q 'port=80' || fail "ready doorbell without port=80"
echo "ok: ready port=80 after $(($(event_us ready) / 1000)) ms"

body=$(ip netns exec "$GUEST_NS" build/tests/http_get -t 20000 "$GUEST_IP" 80 /) ||
	fail "GET / over the tap failed"
case $body in
ember-demo*) echo "ok: GET / answered: $body" ;;
*) fail "GET / answered something else: '$body'" ;;
esac
rand=$(ip netns exec "$GUEST_NS" build/tests/http_get -t 20000 "$GUEST_IP" 80 /rand) ||
	fail "GET /rand over the tap failed"
[[ $rand =~ ^[0-9a-f]{64} ]] || fail "GET /rand did not return 32 random bytes in hex: '$rand'"
echo "ok: GET /rand answered $rand"

guest_wait_event poweroff 120 | grep -q 'status=0' || fail "poweroff doorbell without status=0"
wait "$VMM_PID"
rc=$?
VMM_PID=""
[ "$rc" = 0 ] || fail "ember-vmm exited with status $rc after a clean power-off"
grep -q '^workload_exit status=0' "$GUEST_WORK/events" || fail "no workload_exit status=0 event"
echo "ok: guest powered off, ember-vmm exited 0 ($(($(date +%s) - t0)) s)"

# The same guest from the bzImage (64-bit boot protocol instead of PVH).
rm -f "$GUEST_WORK/events"
GUEST_KERNEL=build/guest/bzImage guest_start --vcpus 1 --mem 256M --cmdline "$(guest_cmdline)"
guest_wait_event ready "$BOOT_TIMEOUT" >/dev/null
echo "ok: bzImage: ready after $(($(event_us ready) / 1000)) ms"
body=$(ip netns exec "$GUEST_NS" build/tests/http_get -t 20000 "$GUEST_IP" 80 /) ||
	fail "bzImage guest: GET / failed"
[[ $body == ember-demo* ]] || fail "bzImage guest: GET / answered '$body'"
echo "ok: bzImage: GET / answered"
kill "$VMM_PID"
wait "$VMM_PID"
rc=$?
VMM_PID=""
[ "$rc" = 143 ] || fail "ember-vmm exited $rc on SIGTERM (expected 143)"
echo "ok: SIGTERM stops ember-vmm with status 143 (whole test $(($(date +%s) - t0)) s)"
echo "PASS"
