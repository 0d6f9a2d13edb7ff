#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Counts nested L1 VM failures (panics, soft lockups, wedges) under tests that
# churn VMs: runs each SCRIPT (a guest test or benchmark that calls
# guest_require) ROUNDS times, each in a fresh L1 with no retry, and prints
# one line per run and name=value totals. The L1 levers of tests/lib/nested.sh
# (EMBER_NESTED_KERNEL, _KVM, _CPU, _SMP, _TB_MIB) apply as set in the
# environment; docs/testing.md has the results.
#
# usage: tests/lib/l1_soak.sh [-n ROUNDS] [-o FILE] SCRIPT...
#   -n  rounds (default 5); -o  also append the per-run lines to FILE
set -u
cd "$(dirname "$0")/../.." || exit 1
rounds=5 out=/dev/null
while getopts n:o: o; do
	case $o in
	n) rounds=$OPTARG ;;
	o) out=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: l1_soak.sh [-n ROUNDS] [-o FILE] SCRIPT..." >&2; exit 2; }
[ -c /dev/kvm ] && { echo "l1_soak: this machine has /dev/kvm: no L1 to measure" >&2; exit 2; }
mkdir -p build/soak
lever="anchor=${EMBER_NESTED_ANCHOR:-1} kernel=${EMBER_NESTED_KERNEL:-6.12} kvm='${EMBER_NESTED_KVM:-}' cpu=${EMBER_NESTED_CPU:-max} cmdline='${EMBER_NESTED_CMDLINE-default}'"
lever="$lever smp=${EMBER_NESTED_SMP:-2} tb_mib=${EMBER_NESTED_TB_MIB:-default}"
echo "# l1_soak: $rounds round(s) of $*; $lever"

runs=0 secs_all=0 l1_fails=0 test_fails=0
for ((r = 1; r <= rounds; r++)); do
	for s in "$@"; do
		name=$(basename "$s")
		ev=$PWD/build/soak/events
		: >"$ev"
		start=$(date +%s)
		EMBER_NESTED_RETRIES=0 EMBER_NESTED_EVENTS=$ev "$s" >"build/soak/$name.$r.log" 2>&1
		rc=$?
		secs=$(($(date +%s) - start))
		if grep -q '^fail ' "$ev"; then
			result="l1-failure: $(sed -n 's/^fail //p' "$ev" | head -n1)"
			l1_fails=$((l1_fails + 1))
		elif [ "$rc" = 0 ]; then
			result=pass
		else
			result="test-failure (exit $rc)"
			test_fails=$((test_fails + 1))
		fi
		runs=$((runs + 1)) secs_all=$((secs_all + secs))
		line="round=$r test=$name secs=$secs result=$result"
		echo "$line"
		echo "$(date -u +%FT%TZ) $lever $line" >>"$out"
	done
done
echo "runs=$runs"
echo "test_minutes=$((secs_all / 60))"
echo "l1_failures=$l1_fails"
echo "test_failures=$test_fails"
echo "l1_failures_per_test_hour=$(echo "scale=2; $l1_fails * 3600 / ($secs_all + 1)" | bc)"
