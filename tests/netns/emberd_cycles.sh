#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 200 deploy/delete cycles through emberd (4 apps at a time; 40 under nested
# TCG unless EMBER_TEST_CYCLES says otherwise): afterwards no
# tap, no ember-vmm process, no control socket, no app directory and no
# dataplane entry (service, app, guest slot) is left, and SIGTERM then
# leaves no pin. (emberd makes no cgroups: nothing to check there.)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

# EMBER_TEST_CYCLES=200 under nested TCG takes about 30 minutes (1805 s on 2026-11-27).
export EMBER_NESTED_TIMEOUT=${EMBER_NESTED_TIMEOUT:-5400}
guest_require
. tests/lib/emberd_env.sh

# 200 cycles are 200 guest boots: about 30 minutes when every boot is
# emulated (nested TCG), so there the default is 40 and the output says so.
if [ -n "${EMBER_TEST_CYCLES:-}" ]; then
	CYCLES=$EMBER_TEST_CYCLES
elif [ "$(guest_kvm_kind)" = nested-tcg ]; then
	CYCLES=40
	echo "note: kvm=nested-tcg: 40 deploy/delete cycles, not 200 (EMBER_TEST_CYCLES=200 for all)"
else
	CYCLES=200
fi
PAR=4
env_init emberd-cycles
trap env_cleanup EXIT
status() { api -o /dev/null -w '%{http_code}' "$@"; }
vmms() { ps -eo comm= | grep -c '^ember-vmm$'; }
dp_entries() { # services, apps and guest slots in the pinned maps
	ip netns exec "$H" build/bin/ember dp --pin "$PIN" show | grep -cE '^  (app|guest) [0-9]|-> app '
}

env_net
env_emberd
vmm0=$(vmms) # ember-vmm processes that are not ours (none expected)
t0=$(date +%s)
for ((c = 0; c < CYCLES; c += PAR)); do
	for i in $(seq "$PAR"); do
		# 64 MiB guests: the boot and the snapshot scan are quicker (emulated here).
		env_demo_spec "c$i" "10.100.2.$i" 60000 | jq -c ".mem_mib = 64" >"$WORK/c$i.json"
		[ "$(env_deploy "$WORK/c$i.json")" = 202 ] ||
			die "cycle $((c + i)): deploy answered $(cat "$WORK/deploy.out")"
	done
	for i in $(seq "$PAR"); do env_wait_ready "c$i" "$READY_TIMEOUT"; done
	for i in $(seq "$PAR"); do
		[ "$(status -X DELETE "http://localhost/v1/apps/c$i")" = 202 ] || die "DELETE c$i"
	done
	for i in $(seq "$PAR"); do
		for _ in $(seq 300); do
			[ "$(status "http://localhost/v1/apps/c$i")" = 404 ] && break
			sleep 0.1
		done
		[ "$(status "http://localhost/v1/apps/c$i")" = 404 ] || die "c$i still there after DELETE"
	done
	[ $(((c + PAR) % 40)) = 0 ] &&
		echo "... $((c + PAR)) deploy/delete cycles ($(($(date +%s) - t0)) s)"
done
echo "ok: $CYCLES deploy/delete cycles in $(($(date +%s) - t0)) s"

taps=$(ip -n "$H" -o link show | grep -c ': ember[0-9]')
[ "$taps" = 0 ] || die "$taps tap(s) left: $(ip -n "$H" -o link show | grep ': ember')"
[ -z "$(children "$EMBERD_PID")" ] || die "emberd still has children: $(children "$EMBERD_PID")"
[ "$(vmms)" = "$vmm0" ] || die "$(($(vmms) - vmm0)) ember-vmm process(es) left"
ls "$WORK/run" | grep -q '\.ctl$' && die "control sockets left: $(ls "$WORK/run")"
[ -z "$(ls -A "$WORK/state/apps")" ] || die "app directories left: $(ls "$WORK/state/apps")"
[ "$(dp_entries)" = 0 ] || die "dataplane entries left: $(ip netns exec "$H" build/bin/ember dp --pin "$PIN" show)"
echo "ok: no tap, VMM, control socket, app directory or dataplane entry left"
kill "$EMBERD_PID"
wait "$EMBERD_PID"
rc=$?
EMBERD_PID=""
[ "$rc" = 0 ] || die "emberd exited $rc after SIGTERM"
[ -e "$PIN" ] && die "pins left under $PIN"
echo "ok: SIGTERM: exit 0, no pins left"
echo "PASS"
