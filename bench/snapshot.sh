#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Snapshot benchmark: restore latency (ember-vmm's main() to vCPU running,
# from its own event stamps), restore to the first byte of an HTTP answer
# and the warm guest service time, resume latency over the control channel
# (client send -> vCPU running, and the VMM's own work), sequential
# restores per second with the CPU time each costs, and the proportional
# memory (Pss) of N paused clones of one snapshot.
#
# Prints name=value lines (bench/run.sh protocol). Knobs: EMBER_BENCH_RESTORES
# (default 10), EMBER_BENCH_RESUMES (100), EMBER_BENCH_CLONES (1000; the
# loop stops early when MemAvailable drops below 256 MiB, or after
# EMBER_BENCH_CLONE_SECS, default 1800), EMBER_BENCH_PARTS (default
# resume,restore,rtfb,qemu,clones,rate: which measurements run, in this
# order; the snapshot is always taken).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/guest.sh

RESTORES=${EMBER_BENCH_RESTORES:-10}
RESUMES=${EMBER_BENCH_RESUMES:-100}
CLONES=${EMBER_BENCH_CLONES:-1000}
TIMEOUT=${EMBER_BOOT_TIMEOUT:-600}
CTL=build/tests/ctl
PIDS=()
PARTS=",${EMBER_BENCH_PARTS:-resume,restore,rtfb,qemu,clones,rate},"
part() { case $PARTS in *",$1,"*) return 0 ;; esac; return 1; }

# 1000 paused clones need more than the nested test VM's default 2 GiB.
export EMBER_NESTED_MEM=${EMBER_NESTED_MEM:-6144}
guest_require
[ -x "$CTL" ] || fail "$CTL is missing: run 'make all' first"
guest_net_setup
SNAP=$GUEST_WORK/snap
bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${GUEST_WORK:-}" ] && stop_pidfile "$GUEST_WORK/clone.pids"
	guest_cleanup
}
trap bench_cleanup EXIT
echo "kvm=$(guest_kvm_kind)"
if [ -n "${EMBER_NESTED:-}" ]; then
	# The nested test VM is ours alone: keep a core if a VMM crashes.
	ulimit -c unlimited
	echo "$PWD/build/bench-results/core.%e.%p" >/proc/sys/kernel/core_pattern
fi
HZ=$(getconf CLK_TCK)

# restore ARGS...: one clone in the namespace, in the background (pid in $!).
restore() {
	ip netns exec "$GUEST_NS" build/bin/ember-vmm restore --snapshot-dir "$SNAP" \
		--console none "$@" 2>>"$GUEST_WORK/restore.log" &
}
stop() { # PID
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
stop_pidfile() { # FILE: stop the processes listed in FILE (not our children)
	local p end=$((SECONDS + 10)) # SIGTERM gets 10 s in all, then SIGKILL
	[ -r "$1" ] || return 0
	while read -r p; do kill "$p" 2>/dev/null; done <"$1"
	while read -r p; do
		while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done <"$1"
	rm -f "$1"
}
pct() { # P: percentile of the numbers on stdin
	sort -n | awk -v p="$1" '{v[NR] = $1} END {i = int(NR * p / 100) + 1; if (i > NR) i = NR; print v[i]}'
}
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# fb_client OUT [http_get options]: GET / from the namespace in the background
# (pid in FB_PID), printing first_byte_ns to OUT; returns once the client waits
# for the tap's carrier, so its own start-up is never timed.
fb_client() {
	local out=$1 _
	shift
	ip netns exec "$GUEST_NS" build/tests/http_get -F -c "$GUEST_TAP" "$@" \
		"$GUEST_IP" 80 / 2>"$out" >/dev/null &
	FB_PID=$!
	for _ in $(seq 1 1000); do
		grep -q '^waiting for carrier' "$out" && break
		sleep 0.01
	done
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{t += $1} END {printf "%d\n", t}'; }

# --- the snapshot: the demo at its ready point -----------------------------------
guest_start --vcpus 1 --mem 256M --rng --snapshot-dir "$SNAP" --snapshot-on-ready \
	--cmdline "$(guest_cmdline)"
guest_wait_event ready "$TIMEOUT" >&2
guest_wait_event snapshot 120 >&2
wait "$VMM_PID" || fail "snapshot boot failed"
VMM_PID=""

# --- resume latency: pause/resume cycles on one clone ----------------------------
if part resume; then
	restore --net "tap=$GUEST_TAP" --paused --control "$GUEST_WORK/c.sock"
	pid=$!
	PIDS+=("$pid")
	$CTL -w 10000 "$GUEST_WORK/c.sock" resume >/dev/null || fail "resume failed"
	$CTL -c "$RESUMES" "$GUEST_WORK/c.sock" >"$GUEST_WORK/cycles" || fail "pause/resume cycles failed"
	echo "resumes=$RESUMES"
	sed -n 's/^resume_/resume_/p; s/^wake_/resume_vmm_/p; s/^rtt_/resume_rtt_/p' "$GUEST_WORK/cycles"
	stop "$pid"
	PIDS=()
fi

# --- restore latency: main() -> vCPU 0 entering KVM_RUN (vcpu_running t_us) -------
if part restore; then
	: >"$GUEST_WORK/restore_us"
	: >"$GUEST_WORK/restore_cpu_ns"
	for i in $(seq 1 "$RESTORES"); do
		ev=$GUEST_WORK/ev.$i
		restore --net "tap=$GUEST_TAP" --events "$ev"
		pid=$!
		for _ in $(seq 1 2000); do
			grep -q '^vcpu_running ' "$ev" 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.005
		done
		echo "# restore $i: $(grep -c . "$ev" 2>/dev/null) event lines"
		cpu_ns "$pid" >>"$GUEST_WORK/restore_cpu_ns"
		stop "$pid"
		sleep 0.2 # fast VM create/destroy churn has hung the nested test VM's kernel
		sed -n 's/^vcpu_running t_us=\([0-9]*\).*/\1/p' "$ev" >>"$GUEST_WORK/restore_us"
	done
	n=$(wc -l <"$GUEST_WORK/restore_us")
	[ "$n" = "$RESTORES" ] || { tail "$GUEST_WORK/restore.log"; fail "$n of $RESTORES restores ran"; }
	echo "restores=$RESTORES"
	echo "restore_p50_us=$(pct 50 <"$GUEST_WORK/restore_us")"
	echo "restore_p99_us=$(pct 99 <"$GUEST_WORK/restore_us")"
	# CPU of every ember-vmm thread (schedstat: ns on a CPU) when vCPU 0 has just
	# started: an upper bound of the restore's own CPU (the guest's first
	# instructions run on the vCPU thread).
	echo "restore_cpu_p50_us=$(($(pct 50 <"$GUEST_WORK/restore_cpu_ns") / 1000))"
fi

# --- restore to first byte: restore started -> first byte of GET / on the client ---
# The client starts first and waits for the tap's carrier (ember-vmm attaches
# the tap during restore), so its own start-up is not counted; its ARP and
# SYN wait in the tap until the restored guest reads them. The figure counts
# ember-vmm's exec and loading too (restore_p50_us starts at main()).
if part rtfb; then
	: >"$GUEST_WORK/rtfb_us"
	for i in $(seq 1 "$RESTORES"); do
		fb_client "$GUEST_WORK/rtfb.$i" -t 60000
		cpid=$FB_PID
		t0=$(date +%s%N)
		restore --net "tap=$GUEST_TAP" --events "$GUEST_WORK/rev.$i"
		pid=$!
		wait "$cpid" || { cat "$GUEST_WORK/rtfb.$i"; fail "restore to first byte $i: GET / failed"; }
		fb=$(sed -n 's/^first_byte_ns=//p' "$GUEST_WORK/rtfb.$i")
		echo $(((fb - t0) / 1000)) >>"$GUEST_WORK/rtfb_us"
		# Where it went: launch -> main() (exec, loading), main() -> vCPU
		# running (ember-vmm), vCPU running -> first byte (the guest).
		main_ns=$(sed -n 's/^main unix_ns=\([0-9]*\).*/\1/p' "$GUEST_WORK/rev.$i")
		run_us=$(sed -n 's/^vcpu_running t_us=\([0-9]*\).*/\1/p' "$GUEST_WORK/rev.$i" | head -n1)
		echo $(((main_ns - t0) / 1000)) >>"$GUEST_WORK/rtfb_exec_us"
		echo "$run_us" >>"$GUEST_WORK/rtfb_vmm_us"
		echo $(((fb - main_ns) / 1000 - run_us)) >>"$GUEST_WORK/rtfb_guest_us"
		echo "# restore to first byte $i: $(tail -n1 "$GUEST_WORK/rtfb_us") us" \
			"(exec $(tail -n1 "$GUEST_WORK/rtfb_exec_us"), vmm $run_us," \
			"guest $(tail -n1 "$GUEST_WORK/rtfb_guest_us"))"
		if [ "$i" = "$RESTORES" ]; then
			# The same request to the now warm guest: what serving it takes
			# (a new connection each time, as the first request had).
			ip netns exec "$GUEST_NS" build/tests/http_get -n 50 -p guest_service -t 30000 \
				"$GUEST_IP" 80 / 2>"$GUEST_WORK/service" >/dev/null ||
				fail "warm requests failed"
		fi
		stop "$pid"
		sleep 0.2 # see the restore loop above
	done
	echo "restore_to_first_byte_p50_us=$(pct 50 <"$GUEST_WORK/rtfb_us")"
	echo "restore_to_first_byte_p99_us=$(pct 99 <"$GUEST_WORK/rtfb_us")"
	echo "restore_to_first_byte_exec_p50_us=$(pct 50 <"$GUEST_WORK/rtfb_exec_us")"
	echo "restore_to_first_byte_vmm_p50_us=$(pct 50 <"$GUEST_WORK/rtfb_vmm_us")"
	echo "restore_to_first_byte_guest_p50_us=$(pct 50 <"$GUEST_WORK/rtfb_guest_us")"
	grep -E '^guest_service_p(50|99)_us=' "$GUEST_WORK/service"
fi

# --- QEMU's migration-based restore of the same guest ------------------------------
# QEMU (microvm, same kernel, initramfs, command line, virtio-net on the same
# tap, virtio-rng) boots the demo; at its ready point the running guest is
# migrated to a file (`migrate "exec:cat > FILE"` on the monitor), QEMU quits,
# and a new QEMU starts with `-incoming "exec:cat FILE"`: qemu_restore_ms is
# that start -> the first byte of GET / (the same measurement as ember's
# restore_to_first_byte). QEMU drops frames while it loads, so the namespace
# re-sends ARP every 10 ms here instead of every second.
qemu_restore() {
	local q=$GUEST_WORK/q qcpu qcmd qpid cpid fb t0 i
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu_restore_ms=unavailable"; return; }
	qcpu=host,-arch-capabilities,kvm-pv-ipi=off,kvm-pv-sched-yield=off,kvm-pv-tlb-flush=off,kvm-pv-unhalt=off
	qcmd="$(guest_cmdline | sed 's/ quiet / loglevel=4 /') noxsave retain_initrd"
	qcmd="$qcmd clearcpuid=141,151,297,308,580"
	mkdir -p "$q" && mkfifo "$q/mon.in" "$q/mon.out" || return
	qemu_run() {
		ip netns exec "$GUEST_NS" qemu-system-x86_64 -M microvm,rtc=off,acpi=off -enable-kvm \
			-cpu "$qcpu" -smp 1 -m 256 -nodefaults -no-user-config -display none \
			-serial "file:$q/console.log" -kernel build/guest/vmlinux \
			-initrd build/guest/initramfs.cpio -append "$qcmd" \
			-netdev "tap,id=n0,ifname=$GUEST_TAP,script=no,downscript=no" \
			-device virtio-net-device,netdev=n0 -device virtio-rng-device "$@" \
			2>>"$q/qemu.log" &
	}
	qemu_run -monitor "pipe:$q/mon"
	qpid=$!
	PIDS+=("$qpid")
	exec 7>"$q/mon.in"
	cat "$q/mon.out" >"$q/mon.log" &
	cpid=$!
	for ((i = 0; i < TIMEOUT * 5; i++)); do
		ip netns exec "$GUEST_NS" build/tests/http_get -t 200 "$GUEST_IP" 80 / \
			>/dev/null 2>&1 && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.2
	done
	echo "migrate \"exec:cat > $q/state\"" >&7
	for ((i = 0; i < 6000; i++)); do
		[ $((i % 20)) = 0 ] && echo "info migrate" >&7
		grep -qE "Migration status: (completed|failed)" "$q/mon.log" && break
		sleep 0.05
	done
	echo quit >&7
	exec 7>&-
	wait "$qpid" 2>/dev/null
	kill "$cpid" 2>/dev/null
	if ! grep -q "Migration status: completed" "$q/mon.log"; then
		tail -n 5 "$q/qemu.log" >&2
		echo "qemu_restore_ms=failed"
		return
	fi
	echo "qemu_state_kib=$(($(stat -c %s "$q/state") / 1024))"
	ip netns exec "$GUEST_NS" sysctl -qw "net.ipv4.neigh.$GUEST_TAP.retrans_time_ms=10" \
		"net.ipv4.neigh.$GUEST_TAP.mcast_solicit=100" "net.ipv4.neigh.$GUEST_TAP.ucast_solicit=100"
	fb_client "$q/fb" -r -t 120000
	cpid=$FB_PID
	t0=$(date +%s%N)
	qemu_run -incoming "exec:cat $q/state"
	qpid=$!
	PIDS+=("$qpid")
	if wait "$cpid"; then
		fb=$(sed -n 's/^first_byte_ns=//p' "$q/fb")
		echo "qemu_restore_ms=$(((fb - t0) / 1000000))"
		[ -s "$GUEST_WORK/rtfb_us" ] &&
			echo "ember_vs_qemu_restore_ratio=$(echo "scale=3; $(pct 50 <"$GUEST_WORK/rtfb_us") / 1000 / ((($fb - $t0) / 1000000))" | bc)"
	else
		cat "$q/fb" >&2
		echo "qemu_restore_ms=failed"
	fi
	stop "$qpid"
}
[ "${EMBER_BENCH_QEMU:-1}" = 1 ] && part qemu && qemu_restore
PIDS=()

# --- N paused clones of one snapshot: Pss per clone -------------------------------
# Each clone has its own tap; the loop stops early if the machine runs short
# of memory. It runs inside the namespace so that it runs no program but ember-vmm.
if part clones; then
	ip netns exec "$GUEST_NS" bench/snapshot_clones.sh "$SNAP" "$GUEST_WORK" "$CLONES" \
		"${EMBER_BENCH_CLONE_SECS:-1800}" "$GUEST_WORK/clone.pids" ||
		fail "paused clones: see the lines above"
	stop_pidfile "$GUEST_WORK/clone.pids"
fi

# --- restores per second: paused restore + resume to running, then kill -------------
# The control socket is connected to (retried every 1 ms) as soon as it exists.
# Under nested-tcg, back-to-back VM create/destroy has hung the L1 test VM's
# kernel (soft lockups in kthreadd/rcu): not measured there unless asked for.
part rate || exit 0
if [ "$(guest_kvm_kind)" = nested-tcg ] && [ "${EMBER_BENCH_RESTORE_RATE:-0}" != 1 ]; then
	echo "restores_per_s=unmeasured-on-nested-tcg"
	exit 0
fi
cpu=0
start=$(date +%s%N)
for i in $(seq 1 "$RESTORES"); do
	restore --net "tap=$GUEST_TAP" --paused --control "$GUEST_WORK/r.sock"
	pid=$!
	# 60 s: the L1 may still be tearing down the clones of the part before.
	$CTL -w 60000 "$GUEST_WORK/r.sock" resume >/dev/null ||
		{ tail -n 5 "$GUEST_WORK/restore.log" >&2; fail "restore $i: resume failed"; }
	cpu=$((cpu + $(ticks "$pid")))
	echo "# paused restore + resume $i"

	stop "$pid"
done
end=$(date +%s%N)
echo "restores_per_s=$(echo "scale=1; $RESTORES * 1000000000 / ($end - $start)" | bc)"
echo "restore_cpu_ms=$(echo "scale=2; $cpu * 1000 / $HZ / $RESTORES" | bc)"

