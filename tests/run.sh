#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test program given on the command line and prints one summary.
#
# Protocol for a test program: exit 0 = passed, 77 = skipped (it must print
# why), anything else = failed. With EMBER_REQUIRE_KVM=1 (CI) a skip counts as
# a failure: tests that need KVM, BPF or root must not pass by not running.
set -u
logdir=build/test-logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed=()
for t in "$@"; do
	name=$(basename "$t")
	log=$logdir/$name.log
	start=$(date +%s.%N)
	timeout --kill-after=10 "${EMBER_TEST_TIMEOUT:-1200}" "$t" >"$log" 2>&1
	rc=$?
	secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); printf '  PASS     %-32s %6ss\n' "$name" "$secs"
	elif [ $rc -eq 77 ] && [ "${EMBER_REQUIRE_KVM:-0}" != 1 ]; then
		skip=$((skip + 1)); printf '  SKIP     %-32s %s\n' "$name" "$(grep -m1 -i skip "$log")"
	else
		[ $rc -eq 77 ] && echo "  (skipped, but EMBER_REQUIRE_KVM=1 makes a skip a failure)"
		[ $rc -eq 124 ] && echo "  (timed out)"
		fail=$((fail + 1)); failed+=("$name")
		printf '  FAIL     %-32s %6ss (exit %d), last lines of %s:\n' "$name" "$secs" "$rc" "$log"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
