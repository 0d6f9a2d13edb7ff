#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ready-point snapshot and restore: boots the demo guest with
# --snapshot-on-ready --snapshot-continue (ember-vmm writes the snapshot,
# resumes, and the original keeps serving), restores 3 clones of it at once,
# each on its own tap in its own network namespace (same inside address, same
# gateway MAC; the third with a MAC of its own), waits for each clone's
# ember-init to apply the restore hint, checks GET / from each, that each
# clone's wall clock is within a second of the host's, that the three clones'
# random bytes differ, and that the third answers from its new MAC; then
# checks that a truncated memory file, a corrupted state file, another format
# version, another CPU template and a memory file changed after the snapshot
# are all refused with exit status 1 and a message naming the reason.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
guest_net_setup
VCPUS=${EMBER_TEST_VCPUS:-2}
BOOT_TIMEOUT=${EMBER_BOOT_TIMEOUT:-600}
CLONES=3
SNAP=$GUEST_WORK/snap
CLONE_PIDS=()
CLONE_NS=()

snap_cleanup() {
	local p n
	for p in "${CLONE_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${CLONE_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for n in "${CLONE_NS[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	guest_cleanup
}
trap snap_cleanup EXIT

GW_MAC=$(ip netns exec "$GUEST_NS" cat /sys/class/net/$GUEST_TAP/address)

# --- 1. boot to READY, snapshot, keep running (--snapshot-continue)
# --exit-after 3: three requests, then the workload exits and ember-init powers
# off. The snapshot is taken before any request, so every clone inherits it too.
t0=$(date +%s)
guest_start --vcpus "$VCPUS" --mem 256M --rng --snapshot-dir "$SNAP" --snapshot-on-ready \
	--snapshot-continue --cmdline "$(guest_cmdline ember.arg=--exit-after ember.arg=3)"
echo "ember-vmm pid $VMM_PID, kvm=$(guest_kvm_kind), $VCPUS vCPUs; waiting for READY + snapshot"
guest_wait_event ready "$BOOT_TIMEOUT" >/dev/null
guest_wait_event snapshot 120
[ -s "$SNAP/state" ] && [ -f "$SNAP/memory" ] || fail "snapshot files missing"
mem_size=$(stat -c %s "$SNAP/memory")
mem_used=$(($(stat -c %b "$SNAP/memory") * $(stat -c %B "$SNAP/memory")))
[ "$mem_size" = $((256 << 20)) ] || fail "memory file is $mem_size bytes, want 256 MiB"
[ "$mem_used" -lt "$mem_size" ] || fail "memory file is not sparse ($mem_used of $mem_size bytes)"
echo "ok: snapshot written after $(($(date +%s) - t0)) s: state $(stat -c %s "$SNAP/state") bytes," \
	"memory $((mem_used >> 20)) MiB allocated of $((mem_size >> 20)) MiB"

# clock_check NS WHO: the guest's CLOCK_REALTIME (GET /time) is within a
# second of the host's: between the host's clock before the request minus 1 s
# and after the answer plus 1 s (a slow emulated request does not count).
clock_check() {
	local t g h0 h1
	h0=$(date +%s%N)
	t=$(ip netns exec "$1" build/tests/http_get -t 30000 "$GUEST_IP" 80 /time) ||
		fail "$2: GET /time failed"
	h1=$(date +%s%N)
	g=${t//[^0-9]/}
	[ -n "$g" ] || fail "$2: GET /time answered '$t'"
	[ "$g" -ge $((h0 - 1000000000)) ] && [ "$g" -le $((h1 + 1000000000)) ] ||
		fail "$2: guest clock is $((((h0 + h1) / 2 - g) / 1000000)) ms off the host's (more than 1 s)"
	echo "ok: $2: guest wall clock within 1 s of the host's" \
		"(host - guest = $((((h0 + h1) / 2 - g) / 1000000)) ms +- $(((h1 - h0) / 2000000)) ms request)"
}

# The original was paused and resumed: it must go on serving, then power off cleanly.
body=$(ip netns exec "$GUEST_NS" build/tests/http_get -t 30000 "$GUEST_IP" 80 /) ||
	fail "the original guest stopped serving after the snapshot"
clock_check "$GUEST_NS" "the original"
ip netns exec "$GUEST_NS" build/tests/http_get -t 30000 "$GUEST_IP" 80 /rand >/dev/null ||
	fail "the original guest: third request failed"
guest_wait_event poweroff 120 | grep -q 'status=0' || fail "original: no poweroff status=0"
wait "$VMM_PID"
rc=$?
VMM_PID=""
[ "$rc" = 0 ] || fail "original ember-vmm exited $rc after power-off"
echo "ok: the original resumed after the snapshot, served 3 requests, powered off (exit 0)"
# Time passes between snapshot and restore, as it would in production: the
# clones' clocks must be stepped, not just continue from the snapshot.
sleep 3

# --- 2. three clones at once, each on its own tap in its own namespace
clone_ns_setup() { # NS
	ip netns add "$1" || fail "cannot create namespace $1"
	CLONE_NS+=("$1")
	ip -n "$1" link set lo up
	ip -n "$1" tuntap add dev "$GUEST_TAP" mode tap vnet_hdr || fail "cannot create tap in $1"
	# The guest resolved its gateway at boot: every clone's tap carries that MAC.
	ip -n "$1" link set "$GUEST_TAP" address "$GW_MAC"
	ip -n "$1" addr add "$GUEST_HOST_IP/24" dev "$GUEST_TAP"
	ip -n "$1" link set "$GUEST_TAP" up
}

CLONE_MAC=02:eb:00:00:00:33 # the third clone's own MAC
for i in $(seq 1 $CLONES); do
	ns=ember-clone$i-$$
	clone_ns_setup "$ns"
	mac=""
	[ "$i" = "$CLONES" ] && mac=",mac=$CLONE_MAC"
	ip netns exec "$ns" build/bin/ember-vmm restore --snapshot-dir "$SNAP" \
		--net "tap=$GUEST_TAP$mac" --console "$GUEST_WORK/console$i.log" \
		--events "$GUEST_WORK/events$i" 2>"$GUEST_WORK/vmm$i.log" &
	CLONE_PIDS+=($!)
done
# ember-init applies the restore hint (reseed, clock step, MAC) and rings
# REFRESHED with what it did: 0x1 entropy, 0x2 clock, 0x4 MAC, 0x80 a failure.
for i in $(seq 1 $CLONES); do
	for _ in $(seq 1 600); do
		grep -q '^refreshed ' "$GUEST_WORK/events$i" 2>/dev/null && break
		kill -0 "${CLONE_PIDS[$((i - 1))]}" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^restored ' "$GUEST_WORK/events$i" 2>/dev/null ||
		{ cat "$GUEST_WORK/vmm$i.log"; fail "clone $i did not restore"; }
	flags=$(sed -n 's/^refreshed flags=\(0x[0-9a-f]*\).*/\1/p' "$GUEST_WORK/events$i")
	[ -n "$flags" ] || { tail -n 20 "$GUEST_WORK/console$i.log"; fail "clone $i: no REFRESHED doorbell"; }
	want=$((0x3 | (i == CLONES ? 0x4 : 0)))
	[ "$((flags))" = "$want" ] ||
		{ tail -n 20 "$GUEST_WORK/console$i.log"; fail "clone $i: refreshed flags=$flags, want $(printf 0x%x $want)"; }
	echo "ok: clone $i applied its restore hint (flags=$flags)"
done
grep -hF 'ember.restore gen=' "$GUEST_WORK"/console*.log && fail "a restore hint (with its seed) was echoed on a console"

for p in "${CLONE_PIDS[@]}"; do
	kill -0 "$p" 2>/dev/null || fail "a clone exited before serving"
done
echo "ok: $CLONES clones restored and running at once"
for i in $(seq 1 $CLONES); do
	ns=${CLONE_NS[$((i - 1))]}
	body=$(ip netns exec "$ns" build/tests/http_get -t 30000 "$GUEST_IP" 80 /) ||
		{ tail -n 20 "$GUEST_WORK/vmm$i.log" "$GUEST_WORK/console$i.log"; fail "clone $i: GET / failed"; }
	case $body in
	ember-demo*) echo "ok: clone $i (pid ${CLONE_PIDS[$((i - 1))]}) answered GET /: $body" ;;
	*) fail "clone $i answered something else: '$body'" ;;
	esac
done
for i in $(seq 1 $CLONES); do
	clock_check "${CLONE_NS[$((i - 1))]}" "clone $i"
done
# The new MAC is the one the guest answers ARP from (the namespace never saw the old one).
got=$(ip -n "${CLONE_NS[$((CLONES - 1))]}" neigh show "$GUEST_IP" | awk '{print $5}')
[ "$got" = "$CLONE_MAC" ] || fail "clone $CLONES: the guest's MAC seen from its tap is '$got', want $CLONE_MAC"
echo "ok: clone $CLONES answers from its own MAC $got"
# Third request each: fresh random bytes; then the workload exits, the clone
# powers off and ember-vmm exits 0.
RANDS=()
for i in $(seq 1 $CLONES); do
	ns=${CLONE_NS[$((i - 1))]}
	rand=$(ip netns exec "$ns" build/tests/http_get -t 30000 "$GUEST_IP" 80 /rand) ||
		fail "clone $i: GET /rand failed"
	echo "   clone $i GET /rand: $rand"
	RANDS+=("$rand")
done
[ "$(printf '%s\n' "${RANDS[@]}" | sort -u | wc -l)" = "$CLONES" ] ||
	fail "clones returned the same random bytes: the CRNG was not reseeded per clone"
echo "ok: every clone's random bytes differ"

for i in $(seq 1 $CLONES); do
	wait "${CLONE_PIDS[$((i - 1))]}"
	rc=$?
	[ "$rc" = 0 ] || { tail -n 20 "$GUEST_WORK/vmm$i.log"; fail "clone $i: ember-vmm exited $rc"; }
	grep -q '^poweroff status=0' "$GUEST_WORK/events$i" || fail "clone $i: no poweroff event"
done
CLONE_PIDS=()
echo "ok: every clone served its requests and powered off cleanly (exit 0)"

# --- 3. refusals: each on a copy of the snapshot, exit 1 and the reason in stderr
NS1=${CLONE_NS[0]}
refused() { # NAME PATTERN DIR [ARGS...]
	local name=$1 pat=$2 dir=$3 rc
	shift 3
	ip netns exec "$NS1" build/bin/ember-vmm restore --snapshot-dir "$dir" \
		--net "tap=$GUEST_TAP" --console none "$@" 2>"$GUEST_WORK/refuse.log" &
	local pid=$!
	CLONE_PIDS+=($pid)
	wait "$pid"
	rc=$?
	CLONE_PIDS=()
	[ "$rc" = 1 ] || { cat "$GUEST_WORK/refuse.log"; fail "$name: exit status $rc, want 1"; }
	grep -qi -- "$pat" "$GUEST_WORK/refuse.log" ||
		{ cat "$GUEST_WORK/refuse.log"; fail "$name: message does not say '$pat'"; }
	echo "ok: $name refused: $(head -n1 "$GUEST_WORK/refuse.log")"
}
copy() { rm -rf "$GUEST_WORK/$1" && cp -a --sparse=always "$SNAP" "$GUEST_WORK/$1" && echo "$GUEST_WORK/$1"; }

d=$(copy trunc) && truncate -s -4096 "$d/memory"
refused "truncated memory file" "truncated" "$d"
d=$(copy corrupt) && printf '\xff' | dd of="$d/state" bs=1 seek=200 conv=notrunc status=none
refused "corrupted state file" "checksum" "$d"
d=$(copy version) && printf '\x02\x00\x00\x00' | dd of="$d/state" bs=1 seek=8 conv=notrunc status=none
refused "other format version" "version 2" "$d"
refused "other CPU template" "CPU template" "$SNAP" --cpu-template host
d=$(copy modified) && printf 'x' | dd of="$d/memory" bs=1 seek=$((100 << 20)) conv=notrunc status=none
refused "memory file changed after the snapshot" "modified after the snapshot" "$d"
d=$(copy stealth) && printf 'x' | dd of="$d/memory" bs=1 seek=17 conv=notrunc status=none &&
	touch -r "$SNAP/memory" "$d/memory"
refused "memory file changed, mtime put back" "does not belong" "$d"
echo "ok: whole test $(($(date +%s) - t0)) s"
echo "PASS"
