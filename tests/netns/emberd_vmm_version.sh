#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd refuses to drive a VMM that speaks another control protocol version
# (include/ember/control.h), or none: it stops the VMM, says why with both
# versions, fails the deploy after its retries, and goes on serving. A VMM
# that ignores SIGTERM is killed after EMBERD_STOP_MAX_MS (5 s). The VMM
# is tests/lib/fake_vmm.sh, so this needs root and BPF but no KVM.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, taps, XDP)"
. tests/lib/emberd_env.sh

env_init emberd-ver
trap env_cleanup EXIT
export FAKE_VMM_LOG=$WORK/fake_vmm.log FAKE_VMM_VERSION=999
: >"$FAKE_VMM_LOG"

env_net
env_emberd -v --vmm "$PWD/tests/lib/fake_vmm.sh"

# An app whose VMM answers version 999, one whose VMM knows no "version".
env_demo_spec new 10.100.0.51 60000 >"$WORK/new.json"
env_demo_spec old 10.100.0.52 60000 >"$WORK/old.json"
for n in new old; do
	[ "$(env_deploy "$WORK/$n.json")" = 202 ] || die "deploy $n: $(cat "$WORK/deploy.out")"
done
for n in new old; do
	wait_until 60 '[ "$(app_of '$n' -r .state)" = failed ]' ||
		die "app $n is '$(app_of $n -r .state)', not failed, with a VMM of another version"
	echo "ok: app $n failed: $(app_of $n -r .error)"
done
grep -q 'guest [0-9]*: its ember-vmm speaks control protocol version 999, this emberd speaks version 1: stopping it' \
	"$WORK/emberd.log" || die "no refusal naming both versions in emberd's log"
echo "ok: $(grep -m1 'speaks control protocol version 999' "$WORK/emberd.log")"
grep -q "its ember-vmm knows no control protocol version ('unknown command'" "$WORK/emberd.log" ||
	die "no refusal of a VMM without versions in emberd's log"
echo "ok: $(grep -m1 'knows no control protocol version' "$WORK/emberd.log")"

# Every restored VMM was stopped by emberd (SIGTERM), none was left running,
# and none was sent a command after its version was refused.
restores=$(grep -c '^restore ' "$FAKE_VMM_LOG")
stopped=$(grep -c '^stopped ' "$FAKE_VMM_LOG")
[ "$restores" -ge 2 ] || die "only $restores restore(s) started: $(cat "$FAKE_VMM_LOG")"
wait_until 10 '[ "$(grep -c "^stopped " "$FAKE_VMM_LOG")" = "$restores" ]' ||
	die "$restores VMMs restored, $(grep -c '^stopped ' "$FAKE_VMM_LOG") stopped by emberd"
[ -z "$(children "$EMBERD_PID")" ] || die "VMMs left running: $(children "$EMBERD_PID")"
echo "ok: emberd stopped all $restores restored VMMs of the wrong version ($stopped at first look)"
! grep -E '^cmd (resume|pause|snapshot)' "$FAKE_VMM_LOG" || die "a VMM of another version was driven"
grep -q '^cmd version' "$FAKE_VMM_LOG" || die "emberd never asked a VMM its version"

# A VMM that ignores SIGTERM (tests/lib/fake_vmm.sh: apps named stuck*) is
# SIGKILLed 5 s later, and the deploy's retry follows.
env_demo_spec stuck 10.100.0.53 60000 >"$WORK/stuck.json"
[ "$(env_deploy "$WORK/stuck.json")" = 202 ] || die "deploy stuck: $(cat "$WORK/deploy.out")"
wait_until 20 'grep -q "app stuck: guest [0-9]* (pid [0-9]*) still running 5000 ms after SIGTERM: SIGKILL" "$WORK/emberd.log"' ||
	die "a VMM that ignores SIGTERM was not killed: $(grep stuck "$WORK/emberd.log")"
echo "ok: $(grep -m1 'still running 5000 ms after SIGTERM' "$WORK/emberd.log")"
wait_until 5 '[ "$(grep -c "^restore .*/apps/stuck" "$FAKE_VMM_LOG")" -ge 2 ]' ||
	die "no restore after the killed one: $(grep stuck "$FAKE_VMM_LOG")"
echo "ok: the deploy of app stuck retried after the kill"

# emberd goes on serving: the apps are listed and can be removed (stuck's
# removal too, which waits for the kill of its last VMM).
[ "$(api http://localhost/v1/apps | jq '.apps | length')" = 3 ] || die "GET /v1/apps: $(api http://localhost/v1/apps)"
for n in new old stuck; do
	code=$(api -o /dev/null -w '%{http_code}' -X DELETE "http://localhost/v1/apps/$n")
	[ "$code" = 202 ] || [ "$code" = 200 ] || [ "$code" = 204 ] || die "DELETE $n: HTTP $code"
done
wait_until 15 '[ "$(api http://localhost/v1/apps | jq ".apps | length")" = 0 ]' || die "apps not removed"
[ -z "$(children "$EMBERD_PID")" ] || die "VMMs left running: $(children "$EMBERD_PID")"
echo "ok: emberd still serves: the three apps listed and removed, no VMM left"
echo "PASS"
