#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd under memory pressure: started with a --min-avail-mib above the
# machine's memory, it stops every paused guest (logging the pressure) and
# refills none; each app keeps a spare tap, so a request still gets an
# answer, through a tier-3 restore on the wake path.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
. tests/lib/emberd_env.sh

env_init emberd-evict
trap env_cleanup EXIT
huge=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 2))

env_net
env_emberd -v --min-avail-mib "$huge"
for n in 1 2; do
	env_demo_spec "m$n" "10.100.0.4$n" 60000 2 >"$WORK/m$n.json"
	[ "$(env_deploy "$WORK/m$n.json")" = 202 ] || die "deploy m$n: $(cat "$WORK/deploy.out")"
done
# Ready means its first clone was paused; under pressure it is stopped again.
for n in 1 2; do
	for _ in $(seq "$READY_TIMEOUT"); do
		st=$(app_of "m$n" -r .state) # read once: it may turn ready between two reads
		[ "$st" = ready ] && break
		[ "$st" = deploying ] || die "m$n in state '$st': $(app_of "m$n" -c .)"
		sleep 1
	done
done
grep -m1 'memory pressure: MemAvailable' "$WORK/emberd.log" || die "no memory pressure logged"
for n in 1 2; do
	for _ in $(seq 100); do
		[ "$(app_of "m$n" -c '[.guests.paused, .guests.starting]')" = "[0,0]" ] && break
		sleep 0.1
	done
	[ "$(app_of "m$n" .guests.paused)" = 0 ] || die "m$n keeps $(app_of "m$n" .guests.paused) paused"
done
grep 'paused guest .* stopped' "$WORK/emberd.log" | head -n 2
echo "ok: under memory pressure no paused guest is kept (standby 2 each), none refilled"
for n in 1 2; do
	body=$(ip netns exec "$C" build/tests/http_get -t 30000 "10.100.0.4$n" 80 /) ||
		die "GET to m$n under memory pressure failed"
	[ "$(app_of "m$n" -r .last_wake.tier)" = restore ] || die "m$n: $(app_of "m$n" .last_wake)"
done
echo "ok: both apps answer through tier-3 wakes: $body"
echo "PASS"
