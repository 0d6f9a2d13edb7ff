#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ember-vmm against a misbehaving guest (tests/vm/hostile-guest.S) and bad
# kernels: every case must end with the documented exit status and a clear
# message, never a crash or a hang. No Linux kernel boots here: fast.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
[ -f build/tests/hostile-guest.elf ] || fail "build/tests/hostile-guest.elf missing (make all)"
GUEST_WORK=$(mktemp -d /tmp/ember-hostile.XXXXXX)
G=build/tests/hostile-guest.elf
failures=0

# vmm CASE EXPECTED_STATUS ARGS...: run ember-vmm to the end; after $T seconds
# (default 30) it gets SIGTERM, and its own status is kept (143 = stopped).
vmm() {
	local name=$1 want=$2 rc
	shift 2
	rm -f "$GUEST_WORK/events" "$GUEST_WORK/console"
	timeout --preserve-status -s TERM "${T:-30}" build/bin/ember-vmm --events "$GUEST_WORK/events" \
		--console "$GUEST_WORK/console" "$@" >"$GUEST_WORK/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		echo "ok: $name: exit $rc"
	else
		echo "FAIL: $name: exit $rc, expected $want"; sed 's/^/    | /' "$GUEST_WORK/out"
		failures=$((failures + 1))
	fi
}
expect() { # expect FILE PATTERN WHAT
	if grep -q -- "$2" "$GUEST_WORK/$1"; then echo "ok:   $3"
	else echo "FAIL: $3 (no '$2' in $1)"; sed 's/^/    | /' "$GUEST_WORK/$1"; failures=$((failures + 1)); fi
}

vmm "doorbell power-off" 7 --kernel "$G" --cmdline p
expect console "hello from the test guest" "serial console output reached the file"
expect events "^init_started t_us=" "init_started event"
expect events "^ready port=80 t_us=" "ready event with the port"
expect events "^poweroff status=7 t_us=" "poweroff event with the status"
vmm "i8042 reset (0xfe to port 0x64)" 0 --kernel "$G" --cmdline k
vmm "reset through port 0xcf9" 0 --kernel "$G" --cmdline c
vmm "triple fault" 0 --kernel "$G" --cmdline t
vmm "instruction fetch from MMIO (KVM internal error)" 3 --kernel "$G" --cmdline m
expect out "internal error\|INTERNAL_ERROR\|emulation" "the crash is explained on stderr"
vmm "hostile port and MMIO accesses are ignored, unclaimed reads are all ones" 9 \
	--kernel "$G" --cmdline h --vcpus 2
T=3 vmm "spinning guest stopped by SIGTERM" 143 --kernel "$G" --cmdline s

# Bad kernels and options: refused before the guest runs.
head -c 200 "$G" >"$GUEST_WORK/truncated.elf"
head -c 4096 /dev/urandom >"$GUEST_WORK/garbage"
vmm "missing kernel file" 2 --kernel "$GUEST_WORK/nonexistent"
expect out "nonexistent" "the missing file is named"
vmm "truncated ELF kernel" 1 --kernel "$GUEST_WORK/truncated.elf"
expect out "truncated\|short\|corrupt" "the truncation is explained"
vmm "random bytes as a kernel" 1 --kernel "$GUEST_WORK/garbage"
vmm "memory size out of range" 2 --kernel "$G" --mem 1k
vmm "unknown option" 2 --kernel "$G" --frobnicate

[ $failures = 0 ] || fail "$failures case(s) failed"
echo PASS
