#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Snapshot benchmark: restore latency (ember-vmm's main() to vCPU running,
# from its own event stamps), resume latency over the control channel
# (client send -> vCPU running, and the VMM's own work), sequential
# restores per second with the CPU time each costs, and the proportional
# memory (Pss) of N paused clones of one snapshot.
#
# Prints name=value lines (bench/run.sh protocol). Knobs: EMBER_BENCH_RESTORES
# (default 10), EMBER_BENCH_RESUMES (100), EMBER_BENCH_CLONES (100).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/guest.sh

RESTORES=${EMBER_BENCH_RESTORES:-10}
RESUMES=${EMBER_BENCH_RESUMES:-100}
CLONES=${EMBER_BENCH_CLONES:-100}
TIMEOUT=${EMBER_BOOT_TIMEOUT:-600}
CTL=build/tests/ctl
PIDS=()

guest_require
[ -x "$CTL" ] || fail "$CTL is missing: run 'make all' first"
guest_net_setup
SNAP=$GUEST_WORK/snap
bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	guest_cleanup
}
trap bench_cleanup EXIT
echo "kvm=$(guest_kvm_kind)"
HZ=$(getconf CLK_TCK)

# restore ARGS...: one clone in the namespace, in the background (pid in $!).
restore() {
	ip netns exec "$GUEST_NS" build/bin/ember-vmm restore --snapshot-dir "$SNAP" \
		--console none "$@" 2>>"$GUEST_WORK/restore.log" &
}
stop() { # PID
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
pct() { # P: percentile of the numbers on stdin
	sort -n | awk -v p="$1" '{v[NR] = $1} END {i = int(NR * p / 100) + 1; if (i > NR) i = NR; print v[i]}'
}
pss_avg() { # N: mean Pss (KiB) of the first N clones in PIDS
	local p t=0
	for p in "${PIDS[@]:0:$1}"; do
		t=$((t + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup")))
	done
	echo $((t / $1))
}
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# --- the snapshot: the demo at its ready point -----------------------------------
guest_start --vcpus 1 --mem 256M --rng --snapshot-dir "$SNAP" --snapshot-on-ready \
	--cmdline "$(guest_cmdline)"
guest_wait_event ready "$TIMEOUT" >&2
guest_wait_event snapshot 120 >&2
wait "$VMM_PID" || fail "snapshot boot failed"
VMM_PID=""

# --- resume latency: pause/resume cycles on one clone ----------------------------
restore --net "tap=$GUEST_TAP" --paused --control "$GUEST_WORK/c.sock"
pid=$!
PIDS+=("$pid")
$CTL -w 10000 "$GUEST_WORK/c.sock" resume >/dev/null || fail "resume failed"
$CTL -c "$RESUMES" "$GUEST_WORK/c.sock" >"$GUEST_WORK/cycles" || fail "pause/resume cycles failed"
echo "resumes=$RESUMES"
sed -n 's/^resume_/resume_/p; s/^wake_/resume_vmm_/p; s/^rtt_/resume_rtt_/p' "$GUEST_WORK/cycles"
stop "$pid"
PIDS=()

# --- N paused clones of one snapshot: Pss per clone -------------------------------
# Each clone has its own tap; stop early if the machine runs short of memory.
n=0
for i in $(seq 1 "$CLONES"); do
	avail=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)
	[ "$avail" -gt 262144 ] || { echo "stopping at $n clones: MemAvailable ${avail} KiB" >&2; break; }
	ip -n "$GUEST_NS" tuntap add dev "ember-c$i" mode tap vnet_hdr || break
	restore --net "tap=ember-c$i" --paused --control "$GUEST_WORK/p$i.sock"
	PIDS+=($!)
	$CTL -w 30000 "$GUEST_WORK/p$i.sock" status >/dev/null || { tail -n 3 "$GUEST_WORK/restore.log" >&2; break; }
	n=$i
	[ $((i % 10)) = 0 ] && echo "# clones=$i pss_kib_per_clone=$(pss_avg "$i")"
done
pss=$(pss_avg "$n")
[ "$n" -gt 0 ] || fail "no paused clone started"
echo "clones=$n"
echo "pss_kib_per_clone=$pss"
echo "mem_available_kib_after=$(awk '/^MemAvailable/ {print $2}' /proc/meminfo)"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
PIDS=()

# --- restore latency: main() -> vCPU 0 entering KVM_RUN (vcpu_running t_us) -------
: >"$GUEST_WORK/restore_us"
for i in $(seq 1 "$RESTORES"); do
	ev=$GUEST_WORK/ev.$i
	restore --net "tap=$GUEST_TAP" --events "$ev"
	pid=$!
	for _ in $(seq 1 2000); do
		grep -q '^vcpu_running ' "$ev" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.005
	done
	echo "# restore $i: $(grep -c . "$ev" 2>/dev/null) event lines"
	stop "$pid"
	sleep 0.2 # fast VM create/destroy churn has hung the nested test VM's kernel
	sed -n 's/^vcpu_running t_us=\([0-9]*\).*/\1/p' "$ev" >>"$GUEST_WORK/restore_us"
done
n=$(wc -l <"$GUEST_WORK/restore_us")
[ "$n" = "$RESTORES" ] || { tail "$GUEST_WORK/restore.log"; fail "$n of $RESTORES restores ran"; }
echo "restores=$RESTORES"
echo "restore_p50_us=$(pct 50 <"$GUEST_WORK/restore_us")"
echo "restore_p99_us=$(pct 99 <"$GUEST_WORK/restore_us")"

# --- restores per second: paused restore + resume to running, then kill -------------
# The control socket is connected to (retried every 1 ms) as soon as it exists.
# Under nested-tcg, back-to-back VM create/destroy has hung the L1 test VM's
# kernel (soft lockups in kthreadd/rcu): not measured there unless asked for.
if [ "$(guest_kvm_kind)" = nested-tcg ] && [ "${EMBER_BENCH_RESTORE_RATE:-0}" != 1 ]; then
	echo "restores_per_s=unmeasured-on-nested-tcg"
	exit 0
fi
cpu=0
start=$(date +%s%N)
for i in $(seq 1 "$RESTORES"); do
	restore --net "tap=$GUEST_TAP" --paused --control "$GUEST_WORK/r.sock"
	pid=$!
	$CTL -w 10000 "$GUEST_WORK/r.sock" resume >/dev/null || fail "restore $i: resume failed"
	cpu=$((cpu + $(ticks "$pid")))
	echo "# paused restore + resume $i"

	stop "$pid"
done
end=$(date +%s%N)
echo "restores_per_s=$(echo "scale=1; $RESTORES * 1000000000 / ($end - $start)" | bc)"
echo "restore_cpu_ms=$(echo "scale=2; $cpu * 1000 / $HZ / $RESTORES" | bc)"

