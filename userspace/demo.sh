#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: the whole product path once. emberd with the XDP router in native
# mode on a veth, a client namespace on the other end; the demo tenant, an OCI
# image built here from Debian's busybox-static (tests/lib/images.sh, cached),
# imported into emberd's store (layers -> erofs root filesystem) and deployed
# through the API (boot to the ready point, snapshot, paused clone); shows the
# app idle at zero guests, the first request woken from a paused guest
# (latency, tier, timeline), warm requests, and the app back at zero after its
# idle timeout. Cleans up on exit and on Ctrl-C.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/guest.sh

IDLE_MS=${EMBER_DEMO_IDLE_MS:-5000}
VIP=10.100.0.10
skip() { echo "ember demo: cannot run here: $*" >&2; exit 1; }
# The tenant's image, built (or found in the cache) before the nested VM,
# whose view of the cache is read-only.
. tests/lib/images.sh
LAYOUT=$(image_layout demo) || skip "cannot build the demo image (above)"
guest_require
. tests/lib/emberd_env.sh

die() {
	echo
	echo "ember demo failed: $*" >&2
	echo "--- last lines of emberd's log ($WORK/emberd.log):" >&2
	tail -n 20 "$WORK/emberd.log" >&2
	exit 1
}
env_init ember-demo
trap 'env_cleanup; echo "ember demo: cleaned up (emberd, guests, namespaces, pins)"' EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM
app() { app_of demo "$@"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
# cpu_ms PID: user+system CPU time of a process so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }

kind=$(guest_kvm_kind)
cat <<EOF
ember demo: a tenant served through the real path (kvm=$kind)
  client namespace $C ($ENV_CLIENT_IP) --veth--> $H (stands for the host:
  emberd, XDP router on rtr0); app "demo" = the OCI image demo:latest (busybox
  httpd from Debian's busybox-static) in a 256 MiB microVM, VIP $VIP:80 (the
  image's ExposedPorts), idle timeout $IDLE_MS ms, 1 paused standby guest.
EOF
if [ "$kind" = nested-tcg ]; then
	echo "  note: this machine has no /dev/kvm, so the demo runs inside a QEMU-TCG VM"
	echo "  with a real (emulated-SVM) KVM: guest times below are an emulator's, tens"
	echo "  of times slower than on a KVM host (docs/testing.md)."
elif [ "$kind" = pvm ]; then
	echo "  note: kvm-pvm emulates guest kernel code: the deploy's boot takes a minute"
	echo "  or more, and guest kernel time inside each request is inflated."
fi
echo

printf '[1/6] starting emberd (loading and verifying the BPF programs) ... '
t0=$(date +%s)
env_net
env_emberd
echo "ready after $(($(date +%s) - t0)) s"
echo "      $(grep -o 'router attached to rtr0 in [a-z]* mode' "$WORK/emberd.log")"

echo "[2/6] importing the image into emberd's store: layers, then the erofs root filesystem"
t0=$(date +%s%N)
build/bin/ember --socket "$SOCK" image import "$LAYOUT" --name demo:latest >"$WORK/import.out" \
	2>"$WORK/import.err" || die "import: $(cat "$WORK/import.err")"
img=$(api http://localhost/v1/images/demo:latest)
echo "      $(cat "$WORK/import.out") in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
echo "      root filesystem: $(stat -c %s "$(jq -r .rootfs <<<"$img")") bytes of erofs," \
	"entrypoint $(jq -c .config.Entrypoint <<<"$img")"

echo "[3/6] deploying \"demo\" from demo:latest: boot to the ready point, snapshot, restore a paused clone"
cat >"$WORK/demo.json" <<JSON
{"name": "demo", "image": "demo:latest", "services": [{"vip": "$VIP"}], "mem_mib": 256,
 "idle_timeout_ms": $IDLE_MS, "standby": 1}
JSON
code=$(env_deploy "$WORK/demo.json")
[ "$code" = 202 ] || die "deploy answered $code: $(cat "$WORK/deploy.out")"
progress() {
	echo "      ... $2 s, guests $(app -c .guests), console: $(tail -n 1 \
		"$WORK/state/apps/demo/boot.console" 2>/dev/null | cut -c1-60)"
}
t0=$(date +%s)
env_wait_ready demo 1800 progress
inst=$(api http://localhost/v1/apps/demo/instances)
pid=$(jq -r '[.instances[] | select(.state == "paused")][0].pid' <<<"$inst")
tap=$(jq -r '[.instances[] | select(.state == "paused")][0].tap' <<<"$inst")
echo "      ready after $(($(date +%s) - t0)) s: $(app -r '"\(.guests.live) live, \(.guests.paused) paused"') guest(s)" \
	"(paused VMM pid $pid, tap $tap)"

echo "[4/6] idle: the app has no running guest"
c0=$(cpu_ms "$pid")
sleep 3
c1=$(cpu_ms "$pid")
echo "      the paused guest used $(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }') ms of CPU" \
	"in 3 s (/proc/$pid/stat); live guests: $(app .guests.live)"

echo "[5/6] first request from the client: $ENV_CLIENT_IP -> $VIP:80, then 20 warm ones"
# The warm requests go out at once: under an emulator every extra process
# start costs a second, and the idle timeout would put the guest back to sleep.
out=$(ip netns exec "$C" build/tests/http_get -p first -t 30000 "$VIP" 80 / 2>&1) ||
	die "the first request failed: $out"
warm=$(ip netns exec "$C" build/tests/http_get -n 20 -p warm -t 20000 "$VIP" 80 / 2>&1 >/dev/null) ||
	die "a warm request failed: $warm"
for _ in $(seq 50); do [ "$(app 'has("last_wake")')" = true ] && break; sleep 0.1; done
echo "      GET /  $(ms "$(sed -n 's/^first_p50_us=//p' <<<"$out")")  $(grep -v '=' <<<"$out" | head -1)"
w=$(app .last_wake)
if [ "$w" != null ]; then
	echo "      woken from a paused guest (tier paused); wake timeline from the router's event:"
	echo "        emberd read the event       +$(ms "$(jq .event_to_recv_us <<<"$w")")"
	echo "        resume sent                 +$(ms "$(jq '.event_to_recv_us + .recv_to_resume_sent_us' <<<"$w")")"
	echo "        VMM confirmed vCPUs running +$(ms "$(jq .event_to_ok_us <<<"$w")")"
	fp=$(jq .event_to_first_packet_us <<<"$w")
	[ "$fp" != null ] && echo "        first packet from the guest +$(ms "$fp")"
fi
echo "      20 warm requests (guest live, a new connection each): p50 $(ms \
	"$(sed -n 's/^warm_p50_us=//p' <<<"$warm")"), p99 $(ms "$(sed -n 's/^warm_p99_us=//p' <<<"$warm")")"
echo "      wakes: $(app .wakes) (1 = only the first request needed one)"

echo "[6/6] no more requests: waiting for the idle timeout ($IDLE_MS ms)"
t0=$(date +%s%N)
for _ in $(seq 600); do
	[ "$(app .guests.live)" = 0 ] && break
	sleep 0.1
done
[ "$(app .guests.live)" = 0 ] || die "the app is still live 60 s after the last request"
echo "      back at zero live guests after $(( ($(date +%s%N) - t0) / 1000000 )) ms;" \
	"guests now $(app -c .guests)"
echo
echo "ember demo: done. emberd's log lines of this app's wakes and idle transitions:"
grep -E 'wake app=demo|app demo: guest .* idle' "$WORK/emberd.log" | sed 's/^/  /'
