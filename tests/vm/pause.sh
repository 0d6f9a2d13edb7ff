#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Paused restore and the control channel (docs/control.md): snapshots the demo
# guest at its ready point, restores one clone with --paused --control, checks
# that it neither answers nor uses CPU time while paused, resumes it (GET /
# answers), pauses and resumes it 100 times with a GET / after each resume,
# checks that bad control commands get "err" while the clone keeps serving,
# and takes an on-demand snapshot of the running clone.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
[ -x build/tests/ctl ] || fail "build/tests/ctl is missing: run 'make all' first"
guest_net_setup
BOOT_TIMEOUT=${EMBER_BOOT_TIMEOUT:-600}
CYCLES=${EMBER_PAUSE_CYCLES:-100}
SNAP=$GUEST_WORK/snap
SOCK=$GUEST_WORK/ctl.sock
CTL=build/tests/ctl
CLONE_PID=""

pause_cleanup() {
	if [ -n "$CLONE_PID" ]; then
		kill "$CLONE_PID" 2>/dev/null
		sleep 0.2
		kill -9 "$CLONE_PID" 2>/dev/null
	fi
	guest_cleanup
}
trap pause_cleanup EXIT

get() { # TIMEOUT_MS: GET / from the clone
	ip netns exec "$GUEST_NS" build/tests/http_get -t "$1" "$GUEST_IP" 80 /
}
cpu_ticks() { # utime + stime of the clone (fields 14, 15 after the "(comm)")
	sed 's/.*) //' "/proc/$CLONE_PID/stat" | awk '{print $12 + $13}'
}
clone_log() { tail -n 20 "$GUEST_WORK/vmm2.log" "$GUEST_WORK/console2.log"; }

# --- 1. boot to READY and snapshot (ember-vmm exits 0 after writing it)
t0=$(date +%s)
guest_start --vcpus 1 --mem 256M --rng --snapshot-dir "$SNAP" --snapshot-on-ready \
	--cmdline "$(guest_cmdline)"
echo "kvm=$(guest_kvm_kind); waiting for READY + snapshot"
guest_wait_event ready "$BOOT_TIMEOUT" >/dev/null
guest_wait_event snapshot 120 >/dev/null
wait "$VMM_PID"
rc=$?
VMM_PID=""
[ "$rc" = 0 ] || fail "snapshot boot: ember-vmm exited $rc"
echo "ok: snapshot written after $(($(date +%s) - t0)) s"

# --- 2. paused restore: the control socket appears once every vCPU is parked
ip netns exec "$GUEST_NS" build/bin/ember-vmm restore --snapshot-dir "$SNAP" \
	--net "tap=$GUEST_TAP" --console "$GUEST_WORK/console2.log" \
	--events "$GUEST_WORK/events2" --paused --control "$SOCK" 2>"$GUEST_WORK/vmm2.log" &
CLONE_PID=$!
st=$($CTL -w 60000 "$SOCK" status) || { clone_log; fail "control socket: '$st'"; }
[ "$st" = "ok paused" ] || fail "status of a --paused clone: '$st', want 'ok paused'"
grep -q '^vcpu_running ' "$GUEST_WORK/events2" && fail "a --paused clone ran a vCPU"
echo "ok: restored paused (status: $st), no vcpu_running event"

# CPU time first: later requests make the I/O thread work even while paused.
c1=$(cpu_ticks)
sleep 2
c2=$(cpu_ticks)
[ $((c2 - c1)) -le 2 ] || fail "paused clone used $((c2 - c1)) ticks of CPU in 2 s"
echo "ok: paused clone used $((c2 - c1)) clock ticks of CPU in 2 s (utime+stime)"
get 1000 >/dev/null 2>&1 && fail "a paused clone answered GET /"
echo "ok: paused clone does not answer (GET / timed out after 1 s)"

# --- 3. resume: GET / answers
out=$($CTL -r "$SOCK" resume) || { clone_log; fail "resume: $out"; }
echo "ok: resumed: $(echo "$out" | tr '\n' ' ')"
grep -q '^vcpu_running ' "$GUEST_WORK/events2" || fail "no vcpu_running event after resume"
body=$(get 30000) || { clone_log; fail "GET / after resume failed"; }
case $body in ember-demo*) ;; *) fail "GET / after resume answered '$body'" ;; esac
[ "$($CTL "$SOCK" status)" = "ok running" ] || fail "status after resume is not 'ok running'"
echo "ok: GET / after resume: $body"

# Paused again, it stops answering; resumed, it answers the same connection's retry.
[ "$($CTL "$SOCK" pause)" = "ok paused" ] || fail "pause refused"
get 1000 >/dev/null 2>&1 && fail "answered GET / after 'pause'"
$CTL "$SOCK" resume >/dev/null || fail "resume after pause failed"
get 30000 >/dev/null || { clone_log; fail "GET / after pause + resume failed"; }
echo "ok: pause stops serving, resume brings it back"

# --- 4. pause/resume cycles, a GET / after each resume
t1=$(date +%s%N)
for i in $(seq 1 "$CYCLES"); do
	out=$($CTL "$SOCK" pause resume) || { clone_log; fail "cycle $i: $out"; }
	case $out in "ok paused"$'\n'"ok resumed t_us="*) ;; *) fail "cycle $i: '$out'" ;; esac
	get 30000 >/dev/null || { clone_log; fail "cycle $i: GET / failed after resume"; }
done
echo "ok: $CYCLES pause/resume cycles, each followed by a good GET /" \
	"($((($(date +%s%N) - t1) / 1000000)) ms)"

# --- 5. bad commands: "err", and the clone keeps serving
long=$(head -c 3000 /dev/zero | tr '\0' x)
for cmd in bogus "" "snapshot" "resume now" "$long" "pause" "resume" "resume"; do
	out=$($CTL "$SOCK" "$cmd")
	case ${cmd:0:20} in
	pause) [ "$out" = "ok paused" ] || fail "pause: '$out'" ;;
	resume) ;; # the second one is refused: checked below
	*) case $out in err\ *) ;; *) fail "'${cmd:0:20}': reply '$out', want err" ;; esac ;;
	esac
	echo "   '${cmd:0:20}' -> ${out:0:60}"
done
out=$($CTL "$SOCK" resume)
case $out in "err not paused") ;; *) fail "resume while running: '$out'" ;; esac
kill -0 "$CLONE_PID" || fail "the clone died on bad commands"
get 30000 >/dev/null || { clone_log; fail "GET / after bad commands failed"; }
[ "$($CTL "$SOCK" status)" = "ok running" ] || fail "status after bad commands"
echo "ok: bad commands refused with err, the clone keeps serving"

# --- 6. on-demand snapshot of the running clone; it keeps running and serving
out=$($CTL -t 120000 "$SOCK" "snapshot $GUEST_WORK/snap2") || { clone_log; fail "snapshot: $out"; }
[ "$out" = "ok snapshot $GUEST_WORK/snap2" ] || fail "snapshot reply '$out'"
[ -s "$GUEST_WORK/snap2/state" ] && [ -f "$GUEST_WORK/snap2/memory" ] || fail "snapshot files missing"
[ "$($CTL "$SOCK" status)" = "ok running" ] || fail "status after snapshot is not 'ok running'"
get 30000 >/dev/null || { clone_log; fail "GET / after the on-demand snapshot failed"; }
echo "ok: on-demand snapshot of the running clone written; it keeps serving"

# --- 7. stop: SIGTERM exits 143, the socket is removed
kill "$CLONE_PID"
wait "$CLONE_PID"
rc=$?
CLONE_PID=""
[ "$rc" = 143 ] || fail "clone exited $rc on SIGTERM, want 143"
[ -e "$SOCK" ] && fail "control socket left behind"
echo "ok: whole test $(($(date +%s) - t0)) s"
echo "PASS"
