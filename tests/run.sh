#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test program given on the command line and prints one summary.
#
# Protocol for a test program: exit 0 = passed, 77 = skipped (it must print
# why), anything else = failed. With EMBER_REQUIRE_KVM=1 (CI) a skip counts as
# a failure: tests that need KVM, BPF or root must not pass by not running.
#
# Guest tests (those that call guest_require) need /dev/kvm. Without it they
# run together in one nested L1 VM (tests/lib/l1_group.sh, docs/testing.md),
# after the others; with EMBER_NO_NESTED=1 or a real /dev/kvm each runs on
# its own as before.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/results.sh
. tests/lib/l1_group.sh
export EMBER_TEST_LOGS=build/test-logs
mkdir -p "$EMBER_TEST_LOGS"
rm -rf "$EMBER_TEST_LOGS"/*.work # a failed test's kept files (keep_work), of an earlier run

native=() guests=()
for t in "$@"; do
	# The conditions under which guest_require would re-run the test in an L1.
	if [ ! -c /dev/kvm ] && [ "${EMBER_NO_NESTED:-0}" != 1 ] && [ -z "${EMBER_NESTED:-}" ] &&
		[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v qemu-system-x86_64 >/dev/null &&
		grep -q '^[[:space:]]*guest_require' "$t" 2>/dev/null; then
		guests+=("$t")
	else
		native+=("$t")
	fi
done

for t in "${native[@]}"; do
	run_one "$t"
	show "$(basename "$t")" "$RUN_RC" "$RUN_SECS"
	tally "$(basename "$t")" "$RUN_RC"
done
# The OCI images guest tests use (tests/lib/images.sh), built or found in the
# cache here: inside the L1 the host's files, the cache too, are read-only.
if [ ${#guests[@]} -gt 0 ] && grep -q 'tests/lib/images.sh' "${guests[@]}"; then
	. tests/lib/images.sh
	for k in $IMG_KINDS; do
		image_layout "$k" >/dev/null || echo "image $k could not be built: the guest tests using it will fail"
	done
fi
[ ${#guests[@]} -gt 0 ] && l1_group "${guests[@]}"

[ ${#FAILED[@]} -gt 0 ] && echo "failed: ${FAILED[*]}"
echo "tests: $PASS passed, $FAIL failed, $SKIP skipped"
[ ${#guests[@]} -gt 0 ] && l1_summary
[ "$FAIL" -eq 0 ]
