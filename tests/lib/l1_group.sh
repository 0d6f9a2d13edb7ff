# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Guest tests on a machine without /dev/kvm, for tests/run.sh: one nested L1
# VM (tests/lib/nested.sh) runs them one after another (tests/lib/l1_inner.sh)
# instead of one L1 boot per test. A test that fails, or leaves anything
# behind, ends its L1 and the rest go on in a fresh one, so it cannot poison
# them. An L1 panic or wedge is the emulator's fault: the test it hit runs
# again once in a fresh L1 (a second one fails it). A test's own failure is
# never retried.

L1_BOOTS=0 L1_FAILS=0 L1_RETRIED=()

# l1_group TEST...: runs the tests and tallies them (results.sh).
l1_group() {
	local todo=("$@") results events rc n name trc secs first
	events=$PWD/$EMBER_TEST_LOGS/l1-events
	: >"$events"
	while [ ${#todo[@]} -gt 0 ]; do
		results=$EMBER_TEST_LOGS/l1-results
		: >"$results"
		# The L1's own limit: every test's, plus boots (wedges are caught
		# sooner by nested.sh's heartbeat watch).
		EMBER_NESTED_RETRIES=0 EMBER_NESTED_EVENTS=$events \
			EMBER_NESTED_TIMEOUT=$((${#todo[@]} * (${EMBER_TEST_TIMEOUT:-1200} + 60) + 300)) \
			tests/lib/nested.sh tests/lib/l1_inner.sh "$results" "${todo[@]}"
		rc=$?
		L1_BOOTS=$((L1_BOOTS + 1))
		n=0 again=""
		while read -r name trc secs; do
			[ -n "$secs" ] || continue # a line cut short by the L1's end
			n=$((n + 1))
			if boot_reset "$name" "$trc"; then
				again=${todo[n - 1]}
				continue # not tallied: it runs again
			fi
			tally "$name" "$trc"
		done <"$results"
		todo=("${todo[@]:n}")
		[ -n "$again" ] && todo=("$again" "${todo[@]}")
		[ ${#todo[@]} -gt 0 ] || break
		first=$(basename "${todo[0]}")
		case $rc in
		0) ;; # the L1 ended after a failure or a leak: a fresh one for the rest
		75)
			L1_FAILS=$((L1_FAILS + 1))
			if [[ " ${L1_RETRIED[*]} " == *" $first "* ]]; then
				show "$first" 75 0 "the L1 VM failed twice while it ran: an emulator problem"
				tally "$first" 75
				todo=("${todo[@]:1}")
			else
				L1_RETRIED+=("$first")
				echo "  (the L1 VM failed while $first ran: it runs again in a fresh L1)"
			fi
			;;
		*)
			show "$first" "$rc" 0 "the L1 VM ended with status $rc while it ran"
			tally "$first" "$rc"
			todo=("${todo[@]:1}")
			;;
		esac
	done
}

# boot_reset NAME RC: true (and counted) when test NAME failed only because
# its guest reset before printing anything (tests/lib/guest.sh's
# EMBER-BOOT-RESET line) and has not been given its one more try yet. Seen
# under nested TCG only, about once in a dozen full runs (docs/testing.md);
# a second one fails the test.
L1_BOOT_RESETS=0
boot_reset() {
	[ "$2" != 0 ] && [ "$2" != 77 ] || return 1
	grep -q '^EMBER-BOOT-RESET' "$EMBER_TEST_LOGS/$1.log" 2>/dev/null || return 1
	[[ " ${L1_RETRIED[*]} " != *" $1 "* ]] || return 1
	L1_RETRIED+=("$1")
	L1_BOOT_RESETS=$((L1_BOOT_RESETS + 1))
	echo "  ($1: its guest reset before printing anything, an emulator fault: it runs again in a fresh L1)"
	sed 's/^/    | /' "$EMBER_TEST_LOGS/$1.log" | tail -n 6
}

# l1_summary: how many L1 VMs the guest tests took, their boot time, retries.
l1_summary() {
	local up
	up=$(awk '$1 == "up" {t += $2} END {printf "%.0f", t}' "$EMBER_TEST_LOGS/l1-events")
	echo "L1 VMs: $L1_BOOTS booted (${up} s to boot in all), $L1_FAILS L1 failure(s), $L1_BOOT_RESETS guest boot reset(s)," \
		"${#L1_RETRIED[@]} test(s) retried${L1_RETRIED[*]:+: ${L1_RETRIED[*]}}"
	sed -n -e 's/^fail /  L1 failure: /p' -e 's/^complaint /  L1 kernel complaint (fresh L1 after it): /p' \
		"$EMBER_TEST_LOGS/l1-events"
}
