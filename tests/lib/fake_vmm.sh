#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A stand-in for ember-vmm that emberd can drive without KVM, speaking another
# control protocol version (tests/netns/emberd_vmm_version.sh). Boot: writes
# a "state" file into --snapshot-dir (all that emberd checks) and its
# arguments into boot.argv there, and exits 0.
# restore: answers on its --control-fd: "version" with FAKE_VMM_VERSION, or
# with "err unknown command" when the snapshot dir names an app "old*" (an
# ember-vmm from before versions); "status" with "ok paused"; then waits to
# be stopped. An app named "stuck*" ignores SIGTERM (a hung VMM: emberd must
# SIGKILL it). Every start, command and stop is logged to FAKE_VMM_LOG.
set -u
args=("$@")
mode=boot snap="" ctl=""
while [ $# -gt 0 ]; do
	case $1 in
	restore) mode=restore ;;
	--snapshot-dir) snap=$2; shift ;;
	--control-fd) ctl=$2; shift ;;
	esac
	shift
done
echo "$mode pid=$$ snap=$snap" >>"${FAKE_VMM_LOG:-/dev/null}"
if [ "$mode" = boot ]; then
	mkdir -p "$snap" && echo fake >"$snap/state"
	printf '%s\n' "${args[@]}" >"$snap/boot.argv" # one argument per line
	exit 0
fi
[ -n "$ctl" ] || { echo "fake_vmm: restore without --control-fd" >&2; exit 1; }
case $snap in
*/apps/stuck*) trap '' TERM ;;
*) trap 'echo "stopped pid=$$" >>"${FAKE_VMM_LOG:-/dev/null}"; exit 0' TERM ;;
esac
# Reads time out so that a SIGTERM landing just before bash blocks in read(2)
# still runs its trap within 0.2 s (bash defers traps to between commands).
while :; do
	read -r -t 0.2 -u "$ctl" line
	rc=$?
	[ $rc -gt 128 ] && continue
	[ $rc -eq 0 ] || break
	echo "cmd $line pid=$$" >>"${FAKE_VMM_LOG:-/dev/null}"
	case $line in
	version)
		case $snap in
		*/apps/old*) echo "err unknown command" >&"$ctl" ;;
		*) echo "ok version ${FAKE_VMM_VERSION:-999}" >&"$ctl" ;;
		esac ;;
	status) echo "ok paused" >&"$ctl" ;;
	*) echo "err unknown command" >&"$ctl" ;;
	esac
done
