#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# N paused clones of one snapshot, each on its own tap, started back to back
# from inside the guest namespace: prints the mean Pss per clone (bench/run.sh
# name=value lines). Called by bench/snapshot.sh through `ip netns exec`.
#
# Usage: snapshot_clones.sh SNAP WORK N SECS PIDFILE
#
# Every process started in an emulated nested VM costs a large fraction of a
# second (ld.so, page faults, all emulated), so the loop executes nothing but
# ember-vmm itself: the taps come from one `ip -batch`, the wait for each
# restore reads its --events file with bash builtins, and the Pss sums read
# /proc with one awk for all clones. Each clone's pid is appended to PIDFILE
# so the caller can stop them even if this script is killed.
set -u
SNAP=$1 WORK=$2 N=$3 SECS=$4 PIDFILE=$5
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

# read -t on a fifo nobody writes: a sleep without running sleep (no <(...) here:
# the nested test VM has no /dev/fd).
mkfifo "$WORK/nap" && exec {NAP}<>"$WORK/nap" || exit 1
nap() { read -r -t "$1" -u "$NAP"; }
mem_available() { # KiB, from /proc/meminfo without running a program
	local k v _
	while read -r k v _; do
		[ "$k" = MemAvailable: ] && { echo "$v"; return; }
	done </proc/meminfo
}
pss_avg() { # mean Pss (KiB) of the running clones
	local p files=()
	for p in "${PIDS[@]}"; do
		[ -r "/proc/$p/smaps_rollup" ] && files+=("/proc/$p/smaps_rollup")
	done
	[ "${#files[@]}" -gt 0 ] || { echo 0; return; }
	awk '/^Pss:/ {t += $2; n++} END {printf "%d\n", t / n}' "${files[@]}"
}
# wait_restored PID EVENTS: 0 once the clone reports "restored" (paused,
# every device attached), 1 if it exits first or takes over 60 s.
wait_restored() {
	local line i
	for ((i = 0; i < 6000; i++)); do
		if [ -e "$2" ]; then
			while read -r line; do
				[ "${line%% *}" = restored ] && return 0
			done <"$2"
		fi
		kill -0 "$1" 2>/dev/null || return 1
		nap 0.01
	done
	return 1
}

for ((i = 1; i <= N; i++)); do
	echo "tuntap add dev ember-c$i mode tap vnet_hdr"
done | ip -batch - || { echo "cannot create $N taps" >&2; exit 1; }

n=0 failed=0 t0=$SECONDS avail0=$(mem_available)
for ((i = 1; i <= N; i++)); do
	if [ $((SECONDS - t0)) -ge "$SECS" ]; then
		echo "stopping at $n clones: EMBER_BENCH_CLONE_SECS ($SECS s) reached" >&2
		break
	fi
	avail=$(mem_available)
	if [ "$avail" -le 262144 ]; then
		echo "stopping at $n clones: MemAvailable ${avail} KiB" >&2
		break
	fi
	ev=$WORK/cev.$i
	build/bin/ember-vmm restore --snapshot-dir "$SNAP" --console none \
		--net "tap=ember-c$i" --paused --control "$WORK/p$i.sock" \
		--events "$ev" 2>>"$WORK/restore.log" &
	PIDS+=($!)
	echo "$!" >>"$PIDFILE"
	if ! wait_restored "$!" "$ev"; then
		kill "$!" 2>/dev/null
		tail -n 3 "$WORK/restore.log" >&2
		failed=$((failed + 1))
		[ "$failed" -lt 5 ] || break
		continue
	fi
	n=$((n + 1))
	[ $((n % 50)) = 0 ] &&
		echo "# clones=$n pss_kib_per_clone=$(pss_avg) ($((SECONDS - t0)) s)"
	[ "$n" = 100 ] && echo "pss_kib_per_clone_at_100=$(pss_avg)"
done
[ "$n" -gt 0 ] || { echo "no paused clone started" >&2; exit 1; }
pss=$(pss_avg)
echo "clones=$n"
echo "clone_restore_failures=$failed"
secs=$((SECONDS - t0))
echo "clone_seconds=$secs"
# Paused restores back to back, one at a time, none stopped: not the
# restore + resume + kill loop of restores_per_s.
[ "$secs" -gt 0 ] && echo "clone_restores_per_s=$((n / secs)).$((n * 10 / secs % 10))"
echo "pss_kib_per_clone=$pss"
[ "$n" = 100 ] || echo "pss_kib_per_clone_at_$n=$pss" # at_100 came in the loop
# Pss leaves out what each clone costs the host kernel (KVM's structures and
# page tables, the tap, thread stacks): the drop of MemAvailable counts it.
avail=$(mem_available)
echo "mem_available_kib_before=$avail0"
echo "mem_available_kib_after=$avail"
echo "mem_available_drop_kib_per_clone=$(((avail0 - avail) / n))"
