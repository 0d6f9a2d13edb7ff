#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The BPF programs on Debian 12's own kernel (6.1): the packet fixtures run in
# a nested QEMU-TCG VM booted with Debian's linux-image-amd64 6.1, so the
# router and guest programs keep passing that kernel's older verifier now
# that the guest tests' L1 VM runs 6.12 (docs/testing.md). It needs no KVM,
# only QEMU. The host's own kernel runs the same fixtures natively
# (build/tests/bpf_fixtures).
set -u
cd "$(dirname "$0")/../.." || exit 1
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -z "${EMBER_NESTED:-}" ] || skip "already inside a nested VM"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (make deps)"
[ -x build/tests/bpf_fixtures ] || { echo "FAIL: build/tests/bpf_fixtures missing: make all"; exit 1; }
EMBER_NESTED_KERNEL=6.1 EMBER_NESTED_TIMEOUT=600 \
	tests/lib/nested.sh bash -c 'echo "kernel $(uname -r)"; exec build/tests/bpf_fixtures'
