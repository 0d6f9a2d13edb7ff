#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd under open-loop load (build/tests/loadgen from the client
# namespace): a redeploy of a new version (PUT) while requests flow fails
# none of them, and the new version then answers (a new boot id); kill -9 of
# one of two live guests' VMMs loses at most the requests in flight on it,
# the app keeps answering and gets back to min_instances live guests, whose
# active-flow counts (GET .../instances) then go back to 0; a guest
# draining after a redeploy keeps its keep-alive connection, counted as one
# active flow, across a kill -9 and restart of emberd, and stops once that
# connection closes.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
. tests/lib/emberd_env.sh

VIP=10.100.0.30
env_init emberd-load
trap env_cleanup EXIT
[ -x build/tests/loadgen ] || fail "build/tests/loadgen is missing: run 'make all' first"
app() { app_of web "$@"; }
inst() { api http://localhost/v1/apps/web/instances | jq -c "$@"; }
# The router's active-flow counts of the guests in state $1, as a JSON array.
flows_of() { inst "[.instances[] | select(.state == \"$1\") | .active_flows]"; }
live_flows() { inst '[.instances[] | select(.state == "live") | .active_flows] | add'; }
boot_id() { ip netns exec "$C" build/tests/http_get -t 20000 "$VIP" 80 / | sed -n 's/.*boot_id=\([^ ]*\).*/\1/p'; }
# load SECONDS NAME: 20 requests/s in the background, results in $WORK/NAME.
load() {
	ip netns exec "$C" build/tests/loadgen -r 20 -d "$1" -t 20000 -p load "$VIP" 80 / \
		>"$WORK/$2" 2>&1 &
	BG_PID=$!
}
load_done() { # NAME: waits for the run, prints its figures
	wait "$BG_PID"
	BG_PID=""
	echo "    $(grep -E '^load_(ok|failed|p50_us|p99_us)' "$WORK/$1" | tr '\n' ' ')"
}

env_net
env_emberd -v
env_demo_spec web "$VIP" 60000 | jq -c '. + {target_concurrency: 1000}' >"$WORK/web.json"
[ "$(env_deploy "$WORK/web.json")" = 202 ] || die "deploy: $(cat "$WORK/deploy.out")"
env_wait_ready web "$READY_TIMEOUT"
v1=$(boot_id) || die "first GET failed"
[ -n "$v1" ] || die "no boot_id in the demo's answer"
echo "ok: version 1 live (boot_id $v1)"

# --- redeploy under load
load 60 redeploy
sleep 2
code=$(api -o "$WORK/put.out" -w '%{http_code}' -X PUT --data-binary @"$WORK/web.json" \
	http://localhost/v1/apps/web)
[ "$code" = 202 ] || die "PUT answered $code: $(cat "$WORK/put.out")"
[ "$(jq .deploying_version <"$WORK/put.out")" = 2 ] || die "PUT: $(cat "$WORK/put.out")"
code=$(api -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$WORK/web.json" \
	http://localhost/v1/apps/web)
[ "$code" = 409 ] || die "a second PUT while version 2 deploys answered $code"
switched() {
	[ "$(app -c '[.serving_version, .deploying_version, .guests.draining]')" = "[2,null,0]" ]
}
wait_for "$READY_TIMEOUT" switched || die "no switch to version 2: $(app -c .)"
grep -m1 'version 2 serves' "$WORK/emberd.log"
v2=$(boot_id) || die "GET after the redeploy failed"
[ -n "$v2" ] && [ "$v2" != "$v1" ] || die "still the old version's boot id ($v2)"
echo "ok: version 2 serves (boot_id $v2); the old guest drained and stopped"
ls "$WORK/state/apps/web" | grep -q '^snap-v1$' && die "version 1's snapshot was not removed"
load_done redeploy
[ "$(sed -n 's/^load_failed=//p' "$WORK/redeploy")" = 0 ] || die "requests failed during the redeploy"
echo "ok: no request failed during the redeploy (open-loop, 20/s for 60 s)"

# --- kill -9 of one of two live guests under load
api -sf -o /dev/null -X PATCH -d '{"min_instances": 2}' http://localhost/v1/apps/web/scale ||
	die "PATCH min_instances"
wait_until 60 '[ "$(app .guests.live)" = 2 ]' || die "not 2 live guests: $(app -c .guests)"
load 20 kill
sleep 5
victim=$(api http://localhost/v1/apps/web/instances |
	jq -r '[.instances[] | select(.state == "live")][0].pid')
kill -9 "$victim"
echo "ok: killed VMM $victim (live) under load"
wait_for 10 grep -q "exited unexpectedly" "$WORK/emberd.log" || die "emberd did not notice"
load_done kill
failed=$(sed -n 's/^load_failed=//p' "$WORK/kill")
[ "$failed" -le 2 ] || die "$failed requests failed; only the victim's in-flight ones may"
echo "ok: $failed request(s) lost with the killed guest (at most its in-flight ones)"
wait_until 60 '[ "$(app .guests.live)" = 2 ]' || die "not back to 2 live guests: $(app -c .guests)"
echo "ok: back to min_instances = 2 live guests"
# Every connection of the load is closed, the lost ones too: a count left
# over would keep a guest from ever scaling in, one taken away would let the
# autoscaler stop a guest that still holds a connection.
wait_until 10 '[ "$(live_flows)" = 0 ]' ||
	die "active flows counted on the live guests after the load: $(inst -c '[.instances[] | {id, state, slot, active_flows}]')"
echo "ok: the live guests' active-flow counts are back to 0"

# --- a draining guest across an emberd restart
# One keep-alive connection: a GET now, another on the same connection once
# $WORK/held.go (a fifo) gets a line. The flow table keeps the connection on
# its guest, so both answers carry version 2's boot id (every clone of a
# version shares its snapshot's) although a redeploy drains that guest and
# emberd is killed and restarted in between.
cat >"$WORK/held.sh" <<'EOS'
LC_ALL=C
get() { # one GET / on fd 3; the body on stdout
	local l len=0 body
	printf 'GET / HTTP/1.1\r\nHost: ember\r\n\r\n' >&3 || return 1
	while IFS= read -r -t 30 l <&3; do
		l=${l%$'\r'}
		[ -z "$l" ] && break
		case ${l,,} in content-length:*) len=${l#*:} len=${len// /} ;; esac
	done
	[ "$len" -gt 0 ] && IFS= read -r -N "$len" -t 30 body <&3 && echo "$body"
}
exec 3<>"/dev/tcp/$1/80" || exit 1
get >"$2/held.1" || exit 1
read -r _ <"$2/held.go"
get >"$2/held.2" || exit 1
EOS
mkfifo "$WORK/held.go"
ip netns exec "$C" bash "$WORK/held.sh" "$VIP" "$WORK" &
BG_PID=$!
wait_until 30 '[ -s "$WORK/held.1" ]' || die "the held connection's first GET failed"
b1=$(sed -n 's/.*boot_id=\([^ ]*\).*/\1/p' "$WORK/held.1")
[ -n "$b1" ] || die "no boot_id in $(cat "$WORK/held.1")"
[ "$(live_flows)" = 1 ] || die "the held connection is not counted: $(flows_of live)"
code=$(api -o "$WORK/put.out" -w '%{http_code}' -X PUT --data-binary @"$WORK/web.json" \
	http://localhost/v1/apps/web)
[ "$code" = 202 ] || die "PUT answered $code: $(cat "$WORK/put.out")"
wait_until "$READY_TIMEOUT" '[ "$(app -c "[.serving_version, .deploying_version]")" = "[3,null]" ]' ||
	die "no switch to version 3: $(app -c .)"
# The other old guest has no flow: it stops at once.
wait_until 15 '[ "$(app .guests.draining)" = 1 ]' || die "not one draining guest: $(app -c .guests)"
[ "$(flows_of draining)" = "[1]" ] || die "the draining guest's flows: $(flows_of draining)"
api http://localhost/metrics | grep -q '^ember_guest_active_flows{app="web",guest="web-[0-9]*"} 1$' ||
	die "no ember_guest_active_flows 1 in /metrics"
echo "ok: version 3 serves; the guest holding the connection drains (1 active flow)"
kill -9 "$EMBERD_PID"
wait "$EMBERD_PID" 2>/dev/null
EMBERD_PID=""
env_emberd -v
[ "$(app -r .state)" = ready ] || die "not ready after the restart: $(app -c .)"
[ "$(app .guests.draining)" = 1 ] || die "no draining guest after the restart: $(app -c .guests)"
[ "$(flows_of draining)" = "[1]" ] || die "after the restart, its flows: $(flows_of draining)"
echo "ok: emberd killed and restarted: the draining guest was adopted as draining"
n0=$(wc -l <"$WORK/emberd.log")
echo >"$WORK/held.go"
wait "$BG_PID" || die "the held connection's second GET failed"
BG_PID=""
b2=$(sed -n 's/.*boot_id=\([^ ]*\).*/\1/p' "$WORK/held.2")
[ "$b2" = "$b1" ] || die "the second GET on the held connection came from boot $b2, not $b1"
v3=$(boot_id) || die "a new connection's GET failed"
[ -n "$v3" ] && [ "$v3" != "$b1" ] || die "a new connection got boot_id $v3: not version 3's"
echo "ok: the held connection still reaches its draining guest (boot_id $b1;" \
	"a new connection gets version 3's, $v3)"
wait_until 30 '[ "$(app .guests.draining)" = 0 ]' || die "still draining: $(app -c .guests)"
tail -n +$((n0 + 1)) "$WORK/emberd.log" | grep -q "of version 2 drained (0 flows left)" ||
	die "no 'drained (0 flows left)' in the log since the restart"
echo "ok: the connection closed: the draining guest stopped"
echo "PASS"
