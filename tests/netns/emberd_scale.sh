#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd's autoscaler end to end, driven with the ember CLI: an app with a
# target of 2 active flows per guest and at most 3 guests; 6 TCP connections
# held open from the client namespace must scale it out to more than one
# live guest (never more than 3), new requests keep being answered, and once
# the connections close it scales back in to one guest, then to zero after a
# shortened idle timeout. Then with standby 0 a request wakes the app by a
# restore onto its spare tap (tier 3).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
. tests/lib/emberd_env.sh

VIP=10.100.0.20
env_init emberd-scale
trap env_cleanup EXIT
ember() { build/bin/ember --socket "$SOCK" "$@"; }
app() { app_of web "$@"; }
live_is() { [ "$(app .guests.live)" "$1" "$2" ]; }

env_net
env_emberd -v --scale-ms 10

cat >"$WORK/web.json" <<JSON
{"name": "web", "image": {"host": "demo"},
 "services": [{"vip": "$VIP", "port": 80}], "mem_mib": 256,
 "target_concurrency": 2, "max_instances": 3, "standby": 1, "idle_timeout_ms": 60000}
JSON
ember deploy "$WORK/web.json" --wait --timeout "$READY_TIMEOUT" || die "ember deploy --wait failed"
ember ls | tee "$WORK/ls.out"
grep -q '^web  *ready' "$WORK/ls.out" || die "ember ls does not show web ready"

# --- 6 connections held open: the first wakes the app, then the router
# counts 6 active flows on one guest: 3 per guest over the target of 2.
ip netns exec "$C" bash -c "for fd in 3 4 5 6 7 8; do
	eval \"exec \$fd<>/dev/tcp/$VIP/80\" || exit 1
done; echo open; exec sleep 600" >"$WORK/hold.out" 2>&1 &
BG_PID=$!
wait_for 60 grep -q open "$WORK/hold.out" || die "could not open 6 connections: $(cat "$WORK/hold.out")"
echo "ok: 6 connections open to $VIP:80"
wait_for 60 live_is -ge 2 || die "no scale out: guests $(app -c .guests)"
grep -m1 'scale out' "$WORK/emberd.log"
max=0
for _ in $(seq 30); do # the third guest comes after a refill; never a fourth
	n=$(app .guests.live)
	[ "$n" -gt "$max" ] && max=$n
	[ "$n" -le 3 ] || die "$n live guests, max_instances is 3"
	sleep 0.1
done
echo "ok: scaled out to $max live guests (max_instances 3): $(app -c .guests)"
out=$(ip netns exec "$C" build/tests/http_get -n 10 -t 20000 "$VIP" 80 / 2>&1) ||
	die "requests while scaled out failed: $out"
echo "ok: 10 more requests answered while scaled out"
ember status web | sed -n '1,12p'

# --- the connections close: every guest is at 0 flows, one at a time goes
# (2 s of low load each), the last one stays until its idle timeout.
kill "$BG_PID"
wait "$BG_PID" 2>/dev/null
BG_PID=""
wait_for 60 live_is -le 1 || die "no scale in: guests $(app -c .guests)"
grep 'scale in' "$WORK/emberd.log" || die "live guests went down, but not by the autoscaler"
live_is -eq 1 || die "scaled in below one live guest before the idle timeout"
echo "ok: scaled in to one live guest: $(app -c .guests)"
ember scale web --idle-timeout 1000 >/dev/null || die "ember scale failed"
wait_for 30 live_is -eq 0 || die "not back to zero after a 1 s idle timeout"
echo "ok: back to zero live guests after 'ember scale web --idle-timeout 1000'"
[ "$(app .wakes)" = 1 ] || die "wakes = $(app .wakes), want 1 (scale-outs are no wakes)"

# --- standby 0: no paused guest is kept; the app's spare tap is its standby
# tap and a wake restores a clone onto it (tier 3) while the SYN waits there.
ember scale web --standby 0 >/dev/null || die "ember scale --standby 0 failed"
no_guests() { [ "$(app '[.guests[]] | add')" = 0 ]; }
wait_for 60 no_guests || die "paused guests left with standby 0: $(app -c .guests)"
echo "ok: standby 0: no guest at all ($(app -c .guests))"
body=$(ip netns exec "$C" build/tests/http_get -t 30000 "$VIP" 80 /) ||
	die "GET through a tier-3 wake failed"
wait_until 10 '[ "$(app -r .last_wake.tier)" = restore ]' ||
	die "last wake is not a restore: $(app .last_wake)"
[ "$(app .wakes_restore)" = 1 ] || die "wakes_restore = $(app .wakes_restore)"
echo "ok: tier-3 wake (restore onto the spare tap): $body"
echo "    timeline $(app -c .last_wake)"
api http://localhost/metrics | grep '^ember_app_wakes_total{app="web",tier="restore"} 1$' ||
	die "metrics do not count the restore wake"
echo "PASS"
