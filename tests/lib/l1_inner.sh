#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Inside the nested L1 VM: runs guest tests one after another for
# tests/lib/l1_group.sh and appends "NAME RC SECS" to RESULTS after each.
# Each test runs in a cgroup of its own; whatever it leaves behind
# (processes, network namespaces, links, mounts, files in /tmp) fails it. The
# first failure ends the run, so the next test starts in a fresh L1.
#
# usage: tests/lib/l1_inner.sh RESULTS TEST...
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/results.sh
results=$1
shift

# state: what a test could leave behind in the L1, one item per line.
state() {
	ip netns list 2>/dev/null | sed 's/^/netns /'
	ip -o link show 2>/dev/null | awk -F': ' '{print "link " $2}'
	# /run/netns becomes a mount point with the first 'ip netns add': not a leak.
	awk '$2 != "/run/netns" {print "mount " $2}' /proc/mounts
	ls -A /tmp | sed 's/^/tmp /'
}

# complaints: the L1 kernel's reports of trouble so far (a soft lockup or RCU
# stall that passed is a sign of an L1 that may wedge next).
complaints() {
	dmesg 2>/dev/null | grep -E 'soft lockup|rcu.*stall|BUG:|WARNING:|Oops|blocked for more than'
}

# leftovers CGROUP BEFORE: what the test left (processes get 5 s to go), killed
# and removed where that is simple, so the output says what was found.
leftovers() {
	local cg=$1 i p
	for ((i = 0; i < 50; i++)); do
		[ -s "$cg/cgroup.procs" ] || break
		sleep 0.1
	done
	while read -r p; do
		echo "process $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"
	done <"$cg/cgroup.procs"
	echo 1 >"$cg/cgroup.kill" 2>/dev/null
	diff <(echo "$2") <(state) | sed -n 's/^> //p'
}

for t in "$@"; do
	name=$(basename "$t")
	before=$(state)
	seen=$(complaints | wc -l)
	RUN_CGROUP=/sys/fs/cgroup/ember-test-$name
	mkdir -p "$RUN_CGROUP"
	run_one "$t"
	left=$(leftovers "$RUN_CGROUP" "$before")
	rmdir "$RUN_CGROUP" 2>/dev/null
	why=""
	if [ -n "$left" ]; then
		{ echo "--- left behind in the L1 VM (tests/lib/l1_inner.sh):"; echo "$left"; } \
			>>"$EMBER_TEST_LOGS/$name.log"
		why="it left behind: $(echo "$left" | head -n 5 | tr '\n' ';')"
		[ "$RUN_RC" -eq 0 ] || [ "$RUN_RC" -eq 77 ] && RUN_RC=1
	fi
	show "$name" "$RUN_RC" "$RUN_SECS" "$why"
	echo "$name $RUN_RC $RUN_SECS" >>"$results"
	[ "$RUN_RC" -eq 0 ] || [ "$RUN_RC" -eq 77 ] || exit 0
	new=$(complaints | tail -n +$((seen + 1)))
	if [ -n "$new" ]; then
		echo "  (the L1 kernel complained while $name ran: the next test gets a fresh L1)"
		echo "$new" | head -n 3 | sed 's/^/  | /'
		echo "complaint $name: $(echo "$new" | head -n 1)" >>"$EMBER_TEST_LOGS/l1-events"
		exit 0
	fi
done
