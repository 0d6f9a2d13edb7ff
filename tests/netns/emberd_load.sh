#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd under open-loop load (build/tests/loadgen from the client
# namespace): a redeploy of a new version (PUT) while requests flow fails
# none of them, and the new version then answers (a new boot id); kill -9 of
# one of two live guests' VMMs loses at most the requests in flight on it,
# the app keeps answering and gets back to min_instances live guests.
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
echo "PASS"
