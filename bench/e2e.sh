#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end benchmark through the whole product path: emberd with the XDP
# router on a veth, the client in its own namespace, guests restored from
# a snapshot. Measures warm latency under open-loop load, the first request
# to an app at zero (tier 2: a paused guest resumed; tier 3: a clone
# restored on the wake path), the guest's own service time, 200 idle apps
# hit at once, the CPU paused guests use while idle, and paused guests' PSS.
#
# Prints name=value lines (bench/run.sh protocol). Knobs: EMBER_BENCH_WAKES
# (tier-2 wakes, default 20), EMBER_BENCH_RESTORE_WAKES (tier 3, default 10),
# EMBER_BENCH_BURST_APPS (default 200), EMBER_BENCH_WARM_RATE (requests/s of
# the open-loop warm run, default 100), EMBER_BENCH_WARM_SECS (default 10),
# EMBER_BENCH_STANDBY (paused guests of the standby part, default 16) and
# EMBER_BENCH_PARTS (default idle,wake,warm,restore,standby,burst: the parts
# to run, comma-separated, always in that order).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/guest.sh

WAKES=${EMBER_BENCH_WAKES:-20}
RWAKES=${EMBER_BENCH_RESTORE_WAKES:-10}
BURST=${EMBER_BENCH_BURST_APPS:-200}
RATE=${EMBER_BENCH_WARM_RATE:-100}
SECS=${EMBER_BENCH_WARM_SECS:-10}
STANDBY=${EMBER_BENCH_STANDBY:-16}
PARTS=",${EMBER_BENCH_PARTS:-idle,wake,warm,restore,standby,burst},"
part() { case $PARTS in *",$1,"*) return 0 ;; esac; return 1; }
VIP=10.100.0.10
# 200 apps, each with a snapshot in the page cache and a paused clone; their
# 200 boots take most of an hour under nested TCG.
export EMBER_NESTED_MEM=${EMBER_NESTED_MEM:-12288}
export EMBER_NESTED_TIMEOUT=${EMBER_NESTED_TIMEOUT:-7200}
guest_require
. tests/lib/emberd_env.sh
[ -x build/tests/loadgen ] || fail "build/tests/loadgen is missing: run 'make all' first"

die() {
	echo "--- emberd:" >&2
	tail -n 30 "$WORK/emberd.log" >&2
	fail "$*"
}
env_init ember-e2e
trap env_cleanup EXIT
app() { app_of e2e "$@"; }
scale() { api -sf -o /dev/null -X PATCH -d "$1" http://localhost/v1/apps/e2e/scale || die "scale $1"; }
pct() { # P: percentile (nearest rank) of the numbers on stdin
	sort -n | awk -v p="$1" '{v[NR] = $1} END {i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i]}'
}
rtt_us() { # one GET from the client, new connection: its round trip in us
	ip netns exec "$C" build/tests/http_get -p one -t 30000 "$1" 80 / 2>&1 >/dev/null |
		sed -n 's/^one_p50_us=//p'
}
# wait_zero: no live guest, nothing starting or stopping, (1) paused or none.
wait_zero() {
	local want=$1
	for _ in $(seq 600); do
		[ "$(app -c '[.guests.live, .guests.paused, .guests.starting, .guests.stopping]')" = "[0,$want,0,0]" ] &&
			return 0
		sleep 0.05
	done
	die "app not back at zero: $(app -c .guests)"
}
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }

kind=$(guest_kvm_kind)
echo "kvm=$kind"
[ "$kind" = hw ] || echo "note: kvm=$kind: guest kernel code is emulated on this machine; guest times (guest_service_*, first packets) are an emulator's"

env_net
env_emberd --scale-ms 10
env_demo_spec e2e "$VIP" 300 >"$WORK/e2e.json"
[ "$(env_deploy "$WORK/e2e.json")" = 202 ] || die "deploy: $(cat "$WORK/deploy.out")"
env_wait_ready e2e 1800

# --- idle: the paused standby guest's CPU over 30 s
if part idle; then
	pid=$(api http://localhost/v1/apps/e2e/instances | jq -r '.instances[] | select(.state == "paused") | .pid')
	c0=$(cpu_ms "$pid")
	sleep 30
	c1=$(cpu_ms "$pid")
	echo "idle_guest_cpu_ms_per_min=$(awk -v a="$c0" -v b="$c1" 'BEGIN { print (b - a) * 2 }')"

fi
# --- tier 2: a paused guest resumed; idle timeout 300 ms brings it back to zero
if part wake; then
	: >"$WORK/wake" && : >"$WORK/wake_ok"
	for i in $(seq "$WAKES"); do
		wait_zero 1
		us=$(rtt_us "$VIP") || die "wake $i failed"
		[ -n "$us" ] || die "wake $i: no answer"
		echo "$us" >>"$WORK/wake"
		for _ in $(seq 100); do [ "$(app .wakes)" = "$i" ] && [ "$(app '.last_wake.event_to_ok_us')" != null ] && break; sleep 0.05; done
		app .last_wake.event_to_ok_us >>"$WORK/wake_ok"
	done
	[ "$(app .wakes)" = "$WAKES" ] || die "$(app .wakes) wakes for $WAKES requests"
	echo "wake_paused_p50_us=$(pct 50 <"$WORK/wake")"
	echo "wake_paused_p99_us=$(pct 99 <"$WORK/wake")"
	# ember's own part: router event -> ember-vmm says the vCPUs run.
	echo "wake_paused_event_to_running_p50_us=$(pct 50 <"$WORK/wake_ok")"
	echo "wake_paused_event_to_running_p99_us=$(pct 99 <"$WORK/wake_ok")"

fi
# --- warm: a live guest (long idle timeout); closed loop for the guest's
if part warm; then
	# own service time, then open-loop load.
	scale '{"idle_timeout_ms": 600000}'
	rtt_us "$VIP" >/dev/null || die "GET to make the app live failed"
	ip netns exec "$C" build/tests/http_get -n 100 -p guest_service -t 30000 "$VIP" 80 / \
		2>"$WORK/service" >/dev/null || die "warm requests failed"
	grep -E '^guest_service_p(50|99)_us=' "$WORK/service"
	# The wake's cost beyond what the guest itself needs to answer (goal: < 2 ms).
	svc=$(sed -n 's/^guest_service_p50_us=//p' "$WORK/service")
	echo "wake_paused_p99_minus_service_p50_us=$(($(pct 99 <"$WORK/wake") - svc))"
	ip netns exec "$C" build/tests/loadgen -r "$RATE" -d "$SECS" -t 10000 -p warm "$VIP" 80 / \
		>"$WORK/warm" || echo "note: some warm requests failed: $(grep failed "$WORK/warm" | tr '\n' ' ')"
	grep -E '^warm_(p50|p99|ok|failed|rate_achieved|send_lag_p99)' "$WORK/warm"
	echo "warm_rate_rps=$RATE"

fi
# --- tier 3: standby 0, every wake restores a clone onto the spare tap
if part restore; then
	scale '{"standby": 0, "idle_timeout_ms": 300}'
	: >"$WORK/rwake" && : >"$WORK/rwake_restore"
	n0=$(app .wakes_restore)
	for i in $(seq "$RWAKES"); do
		wait_zero 0
		us=$(rtt_us "$VIP") || die "restore wake $i failed"
		echo "$us" >>"$WORK/rwake"
		for _ in $(seq 100); do [ "$(app .wakes_restore)" = $((n0 + i)) ] && [ "$(app '.last_wake.restore_to_paused_us')" != null ] && break; sleep 0.05; done
		app .last_wake.restore_to_paused_us >>"$WORK/rwake_restore"
	done
	echo "wake_restore_p50_us=$(pct 50 <"$WORK/rwake")"
	echo "wake_restore_p99_us=$(pct 99 <"$WORK/rwake")"
	echo "wake_restore_restore_to_paused_p50_us=$(pct 50 <"$WORK/rwake_restore")"

fi
# --- paused guests: PSS each, and how many fit in what memory is available
if part standby; then
	n0=$(app .guests.paused)
	avail0=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
	scale "{\"standby\": $STANDBY, \"idle_timeout_ms\": 600000}"
	for _ in $(seq $((STANDBY * 80))); do
		[ "$(app .guests.paused)" = "$STANDBY" ] && break
		sleep 0.25
	done
	n=$(app .guests.paused)
	pss=$(api http://localhost/v1/apps/e2e/instances | jq '[.instances[] | select(.state == "paused") | .pss_kib] | add / length | floor')
	avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
	echo "standby_guests_measured=$n"
	echo "standby_pss_kib_per_guest=$pss"
	echo "standby_guests_max_est=$((avail / (pss > 0 ? pss : 1)))"
	# Pss leaves out the host kernel's share (KVM, page tables, the tap):
	# the drop of MemAvailable per added guest counts it too.
	drop=0
	[ "$n" -gt "$n0" ] && drop=$(((avail0 - avail) / (n - n0)))
	if [ "$drop" -gt 0 ]; then
		echo "standby_mem_available_drop_kib_per_guest=$drop"
		echo "standby_guests_max_est_by_mem_available=$((avail / drop + n))"
	else # the page cache moved more than the guests took
		echo "standby_mem_available_drop_kib_per_guest=unmeasured"
	fi
	scale '{"standby": 1}'

fi
# --- burst: BURST idle apps (a paused guest each) hit at once
if part burst; then
	echo "note: deploying $BURST apps for the burst (one boot and snapshot each)" >&2
	vips=""
	for i in $(seq "$BURST"); do
		v=10.101.$((i / 250)).$((i % 250 + 1))
		vips="$vips${vips:+,}$v"
		sed -e 's/"e2e"/"b'"$i"'"/' -e "s/\"$VIP\"/\"$v\"/" -e 's/"mem_mib": 256/"mem_mib": 64/' \
			"$WORK/e2e.json" >"$WORK/b.json"
		sed -i 's/"idle_timeout_ms": 300/"idle_timeout_ms": 600000/' "$WORK/b.json"
		[ "$(env_deploy "$WORK/b.json")" = 202 ] || die "deploy b$i: $(cat "$WORK/deploy.out")"
		# Two boots at a time: more only thrash the CPUs.
		if [ $((i % 2)) = 0 ] || [ "$i" = "$BURST" ]; then
			env_wait_ready "b$i" 1800
			[ $((i - 1)) -ge 1 ] && env_wait_ready "b$((i - 1))" 1800
			[ $((i % 20)) = 0 ] && echo "... $i apps ready" >&2
		fi
	done
	ip -n "$C" route add 10.101.0.0/16 via "$ENV_HOST_IP"
	ip netns exec "$C" build/tests/loadgen --burst -t 60000 -p burst "$vips" 80 / >"$WORK/burst"
	echo "burst_apps=$BURST"
	echo "burst_failed=$(sed -n 's/^burst_failed=//p' "$WORK/burst")"
	grep -E '^burst_(p50|p99|max)_us=' "$WORK/burst"
fi
