# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# One test's run, its line and the run's counts, for tests/run.sh and for the
# runner inside the L1 VM (tests/lib/l1_inner.sh). Logs go to
# $EMBER_TEST_LOGS/NAME.log.

PASS=0 FAIL=0 SKIP=0 FAILED=()

# run_one TEST: runs it (in cgroup RUN_CGROUP when that is set) with its
# output in its log; sets RUN_RC and RUN_SECS for the caller.
# shellcheck disable=SC2034
run_one() {
	local log start
	log=$EMBER_TEST_LOGS/$(basename "$1").log
	start=$(date +%s.%N)
	(
		[ -n "${RUN_CGROUP:-}" ] && echo "$BASHPID" >"$RUN_CGROUP/cgroup.procs"
		exec timeout --kill-after=10 "${EMBER_TEST_TIMEOUT:-1200}" "$1"
	) >"$log" 2>&1
	RUN_RC=$?
	RUN_SECS=$(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")
}

# show NAME RC SECS [WHY]: the test's line; a failure adds the end of its log.
show() {
	local log=$EMBER_TEST_LOGS/$1.log
	if [ "$2" -eq 0 ]; then
		printf '  PASS     %-32s %6ss\n' "$1" "$3"
	elif [ "$2" -eq 77 ] && [ "${EMBER_REQUIRE_KVM:-0}" != 1 ]; then
		printf '  SKIP     %-32s %s\n' "$1" "$(grep -m1 -i skip "$log")"
	else
		[ "$2" -eq 77 ] && echo "  (skipped, but EMBER_REQUIRE_KVM=1 makes a skip a failure)"
		[ "$2" -eq 124 ] && echo "  (timed out)"
		[ -n "${4:-}" ] && echo "  ($4)"
		printf '  FAIL     %-32s %6ss (exit %d), last lines of %s:\n' "$1" "$3" "$2" "$log"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
}

# tally NAME RC: counts the result as show printed it.
tally() {
	if [ "$2" -eq 0 ]; then
		PASS=$((PASS + 1))
	elif [ "$2" -eq 77 ] && [ "${EMBER_REQUIRE_KVM:-0}" != 1 ]; then
		SKIP=$((SKIP + 1))
	else
		FAIL=$((FAIL + 1))
		FAILED+=("$1")
	fi
}
