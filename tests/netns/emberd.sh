#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd end to end: a host namespace running emberd with the XDP router on
# its veth, a client namespace on the other end. Deploys the demo app through
# the API socket, waits for it to be ready (snapshot + a paused standby
# clone), then from the client: the first GET to the VIP goes through the
# wake path (must succeed; zero TCP retransmissions asserted except under
# nested TCG), a warm GET, the app goes back to zero live guests after its
# idle timeout, a GET wakes it again; a second app is deployed and DELETEd;
# SIGTERM leaves no VMM, tap, socket, pin or XDP program behind.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
for f in build/bin/emberd build/tests/emberd_peer; do
	[ -x "$f" ] || fail "$f is missing: run 'make all' first"
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || skip "no bpffs"

READY_TIMEOUT=${EMBER_TEST_READY_TIMEOUT:-900} # s: nested TCG boots slowly
IDLE_MS=3000 # long enough for the warm request to find the guest live under TCG
VIP=10.100.0.10
H=emberd-h-$$
C=emberd-c-$$
WORK=$(mktemp -d /tmp/emberd-test.XXXXXX)
PIN=/sys/fs/bpf/emberd-test-$$
SOCK=$WORK/run/api.sock
EMBERD_PID=""
VMM_PIDS=""

children() { cat /proc/"$1"/task/*/children 2>/dev/null; }

emberd_cleanup() {
	if [ -n "$EMBERD_PID" ] && kill -0 "$EMBERD_PID" 2>/dev/null; then
		VMM_PIDS="$VMM_PIDS $(children "$EMBERD_PID")"
		kill "$EMBERD_PID"
		for _ in $(seq 100); do kill -0 "$EMBERD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$EMBERD_PID" 2>/dev/null
	fi
	for p in $VMM_PIDS; do kill -9 "$p" 2>/dev/null; done
	ip netns del "$H" 2>/dev/null
	ip netns del "$C" 2>/dev/null
	rm -rf "$PIN" "$WORK"
	guest_cleanup
}
trap emberd_cleanup EXIT

show_logs() {
	echo "--- emberd:"; tail -n 40 "$WORK/emberd.log"
	for f in "$WORK"/state/apps/demo/*.log "$WORK"/state/apps/demo/*.console; do
		[ -s "$f" ] && { echo "--- $f:"; tail -n 15 "$f"; }
	done
}
die() { show_logs; fail "$*"; }

api() { curl -sS --max-time 30 --unix-socket "$SOCK" "$@"; }
app() { api http://localhost/v1/apps/demo | jq -c "$@"; } # JQ-FILTER: a field of the app
retrans() { # TCP segments retransmitted by the client namespace
	ip netns exec "$C" awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++)
		if ($i == "RetransSegs") c = i } else print $c }' /proc/net/snmp
}
get() { ip netns exec "$C" build/tests/http_get -t "$1" "$VIP" 80 /; }

# --- network: client -- veth -- host (router on rtr0); guests' taps are emberd's
ip netns add "$H" && ip netns add "$C" || fail "cannot create namespaces"
ip -n "$H" link set lo up && ip -n "$C" link set lo up
ip -n "$H" link add rtr0 type veth peer name cli0 netns "$C" || fail "veth"
ip -n "$H" addr add 10.99.0.1/24 dev rtr0
ip -n "$C" addr add 10.99.0.2/24 dev cli0
ip -n "$H" link set rtr0 up && ip -n "$C" link set cli0 up
ip -n "$C" route add 10.100.0.0/24 via 10.99.0.1
# bpf_fib_lookup in the guest program needs forwarding on.
ip netns exec "$H" sysctl -qw net.ipv4.conf.all.forwarding=1
ip netns exec "$C" build/tests/emberd_peer cli0 || fail "preparing cli0"
ip -n "$H" neigh replace 10.99.0.2 lladdr "$(ip netns exec "$C" cat /sys/class/net/cli0/address)" \
	dev rtr0 nud permanent

# --- emberd
ip netns exec "$H" build/bin/emberd --state-dir "$WORK/state" --run-dir "$WORK/run" \
	--ingress rtr0 --pin-root "$PIN" -v 2>"$WORK/emberd.log" &
EMBERD_PID=$!
# Loading the programs takes ~20 s of verifier time under nested TCG.
for _ in $(seq 1200); do
	grep -q ' info: ready ' "$WORK/emberd.log" && break
	kill -0 "$EMBERD_PID" 2>/dev/null || die "emberd exited during setup"
	sleep 0.25
done
[ -S "$SOCK" ] || die "emberd did not create $SOCK"
grep -o 'router attached to rtr0 in [a-z]* mode' "$WORK/emberd.log" || die "no router"
[ "$(api http://localhost/v1/health | jq -r .status)" = ok ] || die "GET /v1/health"

# --- deploy: 202, then deploying -> ready
cat >"$WORK/demo.json" <<EOF
{"name": "demo", "image": {"kernel": "$PWD/build/guest/vmlinux",
 "initrd": "$PWD/build/guest/initramfs.cpio"},
 "services": [{"vip": "$VIP", "port": 80}], "mem_mib": 256,
 "idle_timeout_ms": $IDLE_MS, "standby": 1}
EOF
code=$(api -o "$WORK/deploy.out" -w '%{http_code}' -X POST --data-binary @"$WORK/demo.json" \
	http://localhost/v1/apps)
[ "$code" = 202 ] || die "deploy answered $code: $(cat "$WORK/deploy.out")"
echo "ok: deploy answered 202 ($(jq -r .state <"$WORK/deploy.out"))"
t0=$(date +%s)
while :; do
	st=$(app -r .state)
	[ "$st" = ready ] && break
	[ "$st" = deploying ] || die "app state '$st': $(app .error)"
	[ $(($(date +%s) - t0)) -lt "$READY_TIMEOUT" ] || die "not ready after $READY_TIMEOUT s"
	if [ $((($(date +%s) - t0) % 60)) = 59 ]; then # progress of a slow (nested) boot
		echo "... deploying for $(($(date +%s) - t0)) s: guests $(app -c .guests)," \
			"console: $(tail -n 1 "$WORK/state/apps/demo/boot.console" 2>/dev/null)"
	fi
	sleep 1
done
echo "ok: ready after $(($(date +%s) - t0)) s, guests $(app .guests)"
[ "$(app .guests.live)" = 0 ] || die "live guests before any request"
[ "$(app .guests.paused)" -ge 1 ] || die "no paused standby guest"

# --- first request through the wake path, then at once a warm one
r0=$(retrans)
body=$(get 30000) || die "first GET through the wake path failed"
r1=$(retrans)
warm=$(get 10000) || die "warm GET failed"
r2=$(retrans)
case $body in ember-demo*) ;; *) die "first GET answered '$body'" ;; esac
echo "ok: first GET (wake from zero): $body"
for _ in $(seq 50); do [ "$(app 'has("last_wake")')" = true ] && break; sleep 0.1; done
echo "ok: wake timeline $(app .last_wake)"
grep -m1 'wake app=demo' "$WORK/emberd.log"
[ "$(app .wakes)" = 1 ] || die "wakes = $(app .wakes), want 1 (the warm request woke it again?)"
# emberd's own part: ring-buffer event to "ok resumed" read back.
ok_us=$(app .last_wake.event_to_ok_us)
[ "$ok_us" -lt 500000 ] || die "event -> resumed took $ok_us us"
# Zero SYN retransmissions needs the guest to answer within the 1 s SYN
# RTO after its resume. Nested TCG guests take 0.8-1.1 s there (measured),
# so under nested-tcg the count is reported, not asserted.
if [ "$r1" = "$r0" ]; then
	echo "ok: zero TCP retransmissions on the first request"
elif [ "$(guest_kvm_kind)" = nested-tcg ]; then
	echo "note: $((r1 - r0)) TCP retransmission(s) on the first request (kvm=nested-tcg," \
		"guest answered $(app .last_wake.event_to_first_packet_us) us after the event)"
else
	die "the first request needed $((r1 - r0)) TCP retransmission(s)"
fi
[ "$r2" = "$r1" ] || die "the warm request needed a retransmission"
echo "ok: warm GET: $warm (no retransmission, no wake)"

# --- idle: back to zero live guests, a paused standby again
t0=$(date +%s)
for _ in $(seq 600); do
	[ "$(app .guests.live)" = 0 ] && break
	sleep 0.1
done
[ "$(app .guests.live)" = 0 ] || die "still live $(($(date +%s) - t0)) s after the last request"
echo "ok: back to zero live guests after ~$(($(date +%s) - t0)) s (idle timeout $IDLE_MS ms)"
for _ in $(seq 300); do
	[ "$(app .guests.paused)" -ge 1 ] && [ "$(app .guests.starting)" = 0 ] && break
	sleep 0.1
done
echo "ok: guests at zero: $(app .guests)"

# --- a second wake from zero
body=$(get 30000) || die "GET after scale-to-zero failed"
[ "$(app .wakes)" = 2 ] || die "wakes = $(app .wakes), want 2"
echo "ok: second wake from zero: $body"

# --- a second app, then DELETE: its VMMs and taps go, the first app stays
sed -e 's/"demo"/"demo2"/' -e "s/\"$VIP\"/\"10.100.0.11\"/" "$WORK/demo.json" >"$WORK/demo2.json"
code=$(api -o /dev/null -w '%{http_code}' -X POST --data-binary @"$WORK/demo2.json" \
	http://localhost/v1/apps)
[ "$code" = 202 ] || die "deploy of demo2 answered $code"
t0=$(date +%s)
until [ "$(api http://localhost/v1/apps/demo2 | jq -r .state)" = ready ]; do
	[ $(($(date +%s) - t0)) -lt "$READY_TIMEOUT" ] || die "demo2 not ready"
	sleep 1
done
pids2=$(api http://localhost/v1/apps/demo2/instances | jq -r '.instances[].pid')
taps2=$(api http://localhost/v1/apps/demo2/instances | jq -r '.instances[].tap')
[ -n "$pids2" ] || die "demo2 has no instances"
code=$(api -o /dev/null -w '%{http_code}' -X DELETE http://localhost/v1/apps/demo2)
[ "$code" = 202 ] || die "DELETE answered $code"
for _ in $(seq 300); do
	[ "$(api -o /dev/null -w '%{http_code}' http://localhost/v1/apps/demo2)" = 404 ] && break
	sleep 0.1
done
[ "$(api -o /dev/null -w '%{http_code}' http://localhost/v1/apps/demo2)" = 404 ] ||
	die "demo2 still listed 30 s after DELETE"
for p in $pids2; do kill -0 "$p" 2>/dev/null && die "VMM $p of demo2 survived DELETE"; done
for t in $taps2; do ip -n "$H" link show "$t" >/dev/null 2>&1 && die "tap $t of demo2 left"; done
[ "$(app -r .state)" = ready ] || die "demo is no longer ready after demo2's DELETE"
echo "ok: demo2 deployed, DELETE: 202, then 404, its VMMs ($(echo $pids2)) and taps gone"

# --- SIGTERM: nothing left behind
VMM_PIDS=$(children "$EMBERD_PID")
[ -n "$VMM_PIDS" ] || die "emberd has no VMM children"
kill "$EMBERD_PID"
for _ in $(seq 300); do kill -0 "$EMBERD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$EMBERD_PID" 2>/dev/null && die "emberd still running 30 s after SIGTERM"
wait "$EMBERD_PID"
rc=$?
EMBERD_PID=""
[ "$rc" = 0 ] || die "emberd exited $rc after SIGTERM"
for p in $VMM_PIDS; do
	kill -0 "$p" 2>/dev/null && die "VMM $p survived emberd's SIGTERM"
done
taps=$(ip -n "$H" -o link show | grep -c ': ember[0-9]')
[ "$taps" = 0 ] || die "$taps tap(s) left: $(ip -n "$H" -o link show | grep ': ember')"
[ -e "$SOCK" ] && die "API socket left behind"
[ -e "$PIN" ] && die "pins left under $PIN"
ip -n "$H" link show rtr0 | grep -q xdp && die "router still attached to rtr0"
echo "ok: SIGTERM: exit 0, VMMs ($(echo $VMM_PIDS)) gone, no taps, socket, pins or XDP left"
echo "PASS"
