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
. tests/lib/emberd_env.sh

IDLE_MS=3000 # long enough for the warm request to find the guest live under TCG
VIP=10.100.0.10
VIP6=fd00:100::10
env_init emberd
trap env_cleanup EXIT

show_logs() {
	echo "--- dataplane:"
	ip netns exec "$H" build/bin/ember dp --pin "$PIN" show 2>&1 | head -n 40
	ip -n "$H" -s -o link show | awk '{print $2, $3, "rx", $27, $28, "tx", $40, $41}' | grep -v lo
	echo "--- emberd:"; tail -n 40 "$WORK/emberd.log"
	for f in "$WORK"/state/apps/demo/*.log "$WORK"/state/apps/demo/*.console; do
		[ -s "$f" ] && { echo "--- $f:"; tail -n 15 "$f"; }
	done
}
die() { show_logs; fail "$*"; }
app() { app_of demo "$@"; }
get() { ip netns exec "$C" build/tests/http_get -t "$1" "$VIP" 80 /; }

env_net
env_emberd -v
grep -o 'router attached to rtr0 in [a-z]* mode' "$WORK/emberd.log" || die "no router"
[ "$(api http://localhost/v1/health | jq -r .status)" = ok ] || die "GET /v1/health"

# --- deploy: 202, then deploying -> ready
env_demo_spec demo "$VIP,$VIP6" "$IDLE_MS" >"$WORK/demo.json"
code=$(env_deploy "$WORK/demo.json")
[ "$code" = 202 ] || die "deploy answered $code: $(cat "$WORK/deploy.out")"
echo "ok: deploy answered 202 ($(jq -r .state <"$WORK/deploy.out"))"
progress() {
	echo "... deploying for $2 s: guests $(app -c .guests)," \
		"console: $(tail -n 1 "$WORK/state/apps/demo/boot.console" 2>/dev/null)"
}
t0=$(date +%s)
env_wait_ready demo "$READY_TIMEOUT" progress
echo "ok: ready after $(($(date +%s) - t0)) s, guests $(app .guests)"
[ "$(app .guests.live)" = 0 ] || die "live guests before any request"
[ "$(app .guests.paused)" -ge 1 ] || die "no paused standby guest"

# --- first request through the wake path, then at once a warm one
r0=$(retrans)
body=$(get 30000) || die "first GET through the wake path failed"
r1=$(retrans)
warm=$(get 10000) || die "warm GET failed"
r2=$(retrans)
# The same guest over IPv6 (VIP6 -> the clones' inside fd00:ec::2 and back),
# at once: the checks below take seconds under TCG, the idle timeout is 3 s.
warm6=$(ip netns exec "$C" build/tests/http_get -t 10000 "$VIP6" 80 /) || die "GET over IPv6 failed"
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
case $warm6 in ember-demo*) ;; *) die "GET over IPv6 answered '$warm6'" ;; esac
# Its third request (first, warm, this one): the live guest, not a new wake.
case $warm6 in *requests=3*) ;; *) die "the IPv6 GET did not reach the live guest: $warm6" ;; esac
echo "ok: GET over IPv6 ([$VIP6]:80), the same live guest: $warm6"

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

# --- kill -9 of emberd: warm traffic keeps flowing through the pinned maps;
# a new emberd re-adopts the same VMMs from its state directory, pauses the
# live one when idle through its control socket, and wakes the app again.
# A long idle timeout meanwhile (saved in the app's record by the PATCH) so
# the guest stays live across the restart however slow the machine is.
ids() { api http://localhost/v1/apps/demo/instances | jq -r "[.instances[] | $1] | sort | join(\" \")"; }
scale() { api -o /dev/null -w '%{http_code}' -X PATCH -d "$1" http://localhost/v1/apps/demo/scale; }
[ "$(scale '{"idle_timeout_ms": 120000}')" = 200 ] || die "PATCH .../scale failed"
get 30000 >/dev/null || die "GET before the kill failed"
for _ in $(seq 600); do # the refill after a wake: restoring guests are not adopted
	[ "$(app .guests.starting)" = 0 ] && [ "$(app .guests.paused)" -ge 1 ] && break
	sleep 0.1
done
before=$(ids '"\(.pid)/\(.state)"')
case $before in *live*) ;; *) die "no live guest after the second wake: $before" ;; esac
# Metering survives the restart: once meter.json (written every 10 s) has
# both wakes, what the API shows now may only grow across the kill.
meter_file=$WORK/state/apps/demo/meter.json
wait_until 30 '[ "$(jq .wakes "$meter_file" 2>/dev/null)" = 2 ]' || die "meter.json never had 2 wakes"
meter_before=$(app -c '[.meter.cpu_ms, .meter.new_flows, .meter.rx_packets]')
kill -9 "$EMBERD_PID"
wait "$EMBERD_PID" 2>/dev/null
EMBERD_PID=""
body=$(get 10000) || die "a warm GET while emberd was dead failed"
echo "ok: emberd killed (-9); a warm GET still answered through the pinned maps: $body"
env_emberd -v
grep 'adopted guest' "$WORK/emberd.log" || die "no guest adopted"
after=$(ids '"\(.pid)/\(.state)"')
[ "$after" = "$before" ] || die "after the restart the guests are '$after', before '$before'"
[ "$(app -r .state)" = ready ] || die "demo is '$(app -r .state)' after the restart"
body=$(get 10000) || die "a warm GET after the restart failed"
[ "$(app .wakes)" = 2 ] || die "wakes = $(app .wakes) after the restart, want the 2 from before"
meter_after=$(app -c '[.meter.cpu_ms, .meter.new_flows, .meter.rx_packets]')
jq -e -n --argjson b "$meter_before" --argjson a "$meter_after" \
	'[range(3)] | all(. as $i | $a[$i] >= $b[$i])' >/dev/null ||
	die "metering went back across the restart: before $meter_before, after $meter_after"
echo "ok: the restarted emberd adopted the same VMMs ($after); warm GET: $body"
echo "ok: metering kept across kill -9: [cpu_ms, new_flows, rx_packets] $meter_before -> $meter_after"
[ "$(app .idle_timeout_ms)" = 120000 ] || die "the scaled idle timeout did not survive the restart"
[ "$(scale "{\"idle_timeout_ms\": $IDLE_MS}")" = 200 ] || die "PATCH .../scale failed"
for _ in $(seq 600); do
	[ "$(app .guests.live)" = 0 ] && [ "$(app .guests.stopping)" = 0 ] && break
	sleep 0.1
done
[ "$(app .guests.live)" = 0 ] || die "the adopted live guest never went idle"
for p in $before; do
	case $p in */live) alive "${p%/*}" &&
		die "the adopted idle guest ${p%/*} is still running (the pool was full)" ;; esac
done
body=$(get 30000) || die "GET after the adopted guest's scale-to-zero failed"
[ "$(app .wakes)" = 3 ] || die "wakes = $(app .wakes) after the restart's wake, want 3"
echo "ok: the adopted guest went idle (stopped: the pool was full), a GET woke the app: $body"

# --- a second app, then DELETE: its VMMs and taps go, the first app stays
env_demo_spec demo2 10.100.0.11 "$IDLE_MS" >"$WORK/demo2.json"
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

# --- SIGTERM: nothing left behind (adopted VMMs are not emberd's children)
VMM_PIDS=$(echo $(children "$EMBERD_PID") $(ids .pid) | tr " " "\n" | sort -u)
[ -n "$VMM_PIDS" ] || die "emberd has no VMM children"
kill "$EMBERD_PID"
for _ in $(seq 300); do kill -0 "$EMBERD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$EMBERD_PID" 2>/dev/null && die "emberd still running 30 s after SIGTERM"
wait "$EMBERD_PID"
rc=$?
EMBERD_PID=""
[ "$rc" = 0 ] || die "emberd exited $rc after SIGTERM"
for p in $VMM_PIDS; do
	alive "$p" && die "VMM $p survived emberd's SIGTERM"
done
taps=$(ip -n "$H" -o link show | grep -c ': ember[0-9]')
[ "$taps" = 0 ] || die "$taps tap(s) left: $(ip -n "$H" -o link show | grep ': ember')"
[ -e "$SOCK" ] && die "API socket left behind"
[ -e "$PIN" ] && die "pins left under $PIN"
ip -n "$H" link show rtr0 | grep -q xdp && die "router still attached to rtr0"
echo "ok: SIGTERM: exit 0, VMMs ($(echo $VMM_PIDS)) gone, no taps, socket, pins or XDP left"
echo "PASS"
