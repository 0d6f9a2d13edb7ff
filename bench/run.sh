#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs ember's benchmarks: all of them, or the ones named on the command line.
#
# Usage: bench/run.sh [NAME...]        (make bench, make bench B=NAME)
#
# Discovery convention (add a benchmark by adding a file, nothing else):
#   a benchmark NAME is either
#     bench/NAME.sh       a script (run with bash from the repository root), or
#     build/bench/NAME    an executable built by bench/Build.mk (listed in BENCHES);
#   the script wins when both exist (it may wrap the executable).
#   Helper files that are not benchmarks start with an underscore (bench/_lib.sh)
#   or are not executable/scripts (*.c, *.bpf.c, *.mk).
#
# Output protocol for a benchmark: lines `name=value` on stdout, the unit in the
# name (router_mpps=5.1, wake_event_p99_us=12.3), plus `kvm=pvm|hw` when KVM is
# involved. Anything else it prints goes to the log only. Exit 0 = measured,
# 77 = skipped (print a line containing "SKIP:" and why), other = failed.
# Results are also written to build/bench-results/NAME.txt.
set -u
cd "$(dirname "$0")/.." || exit 1
results=build/bench-results
mkdir -p "$results"

# All benchmark names, sorted and deduplicated.
discover() {
	{
		for f in bench/*.sh; do
			[ -e "$f" ] || continue
			n=$(basename "$f" .sh)
			case $n in run | _*) continue ;; esac
			echo "$n"
		done
		for f in build/bench/*; do
			[ -f "$f" ] && [ -x "$f" ] || continue
			n=$(basename "$f")
			case $n in _* | *.*) continue ;; esac
			echo "$n"
		done
	} | sort -u
}

run_one() {
	local n=$1 log=$results/$1.log rc
	if [ -f "bench/$n.sh" ]; then
		bash "bench/$n.sh" >"$results/$n.out" 2>"$log"
	elif [ -x "build/bench/$n" ]; then
		"build/bench/$n" >"$results/$n.out" 2>"$log"
	else
		echo "bench: no benchmark named '$n' (known: $(discover | tr '\n' ' '))" >&2
		return 2
	fi
	rc=$?
	cat "$results/$n.out" >>"$log"
	grep -E '^[A-Za-z0-9_.]+=' "$results/$n.out" >"$results/$n.txt"
	if [ $rc -eq 77 ]; then
		echo "== $n: $(grep -h -m1 'SKIP:' "$results/$n.out" "$log" | head -n1)"
		return 0
	fi
	echo "== $n"
	sed 's/^/  /' "$results/$n.txt"
	if [ $rc -ne 0 ]; then
		echo "== $n FAILED (exit $rc), last lines of $log:"
		tail -n 20 "$log" | sed 's/^/  | /'
	fi
	return $rc
}

if [ $# -gt 0 ]; then names=("$@"); else mapfile -t names < <(discover); fi
[ ${#names[@]} -gt 0 ] || { echo "bench: no benchmarks found"; exit 0; }
status=0
for n in "${names[@]}"; do
	run_one "$n" || status=1
done
exit $status
