#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OCI image benchmark, the redis test image (tests/lib/images.sh) from import
# to a woken guest. Native part (no guest): the image's OCI layout imported
# into a store emptied before each run, through emberd (`ember image
# import`: blobs copied and checked, the layer applied, the erofs root
# filesystem built), interleaved with the peer tools doing the same work on
# the same input (`skopeo copy` oci: to oci:, `umoci unpack`, `mkfs.erofs`
# as rootfs_mkfs.c runs it); then a second import into the same store.
# Guest part (a real KVM, else the nested VM): a redis app at zero live
# guests woken by a PING from the client namespace, `redis-cli PING` and
# the same bytes on a connection from a running shell taking turns; the same
# two to the live guest as the floor; then the PSS of paused clones.
#
# Prints name=value lines (bench/run.sh protocol); docs/benchmarks.md says
# what each one is. Knobs: EMBER_BENCH_IMPORTS (imports by each tool,
# default 5), EMBER_BENCH_WAKES (requests of each client from zero, and to
# the live guest; default 20), EMBER_BENCH_IDLE_MS (the app's idle timeout,
# default 2000), EMBER_BENCH_STANDBY (paused clones measured, default 4),
# EMBER_BENCH_PARTS (default import,guest), EMBER_BENCH_IMAGE_FS (the root
# filesystem the guest part boots: erofs, the default, or ext4, emberd's
# "image_fs"). EMBER_BENCH_REDIS_LAYOUT is how
# the script hands the image's path to its nested run.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/guest.sh
. tests/lib/images.sh

IMPORTS=${EMBER_BENCH_IMPORTS:-5}
WAKES=${EMBER_BENCH_WAKES:-20}
STANDBY=${EMBER_BENCH_STANDBY:-4}
IDLE_MS=${EMBER_BENCH_IDLE_MS:-2000}
PARTS=",${EMBER_BENCH_PARTS:-import,guest},"
IMAGE_FS=${EMBER_BENCH_IMAGE_FS:-erofs}
case $IMAGE_FS in erofs | ext4) ;; *) echo "image: EMBER_BENCH_IMAGE_FS is erofs or ext4" >&2; exit 2 ;; esac
part() { case $PARTS in *",$1,"*) return 0 ;; esac; return 1; }
VIP=10.100.0.90
export EMBER_NESTED_MEM=${EMBER_NESTED_MEM:-3072}
export EMBER_NESTED_TIMEOUT=${EMBER_NESTED_TIMEOUT:-1500}

# The input of both tools: the image's OCI layout (one gzip layer). In the
# nested VM the cache is read-only, so it is built (or found) out here first
# and its path handed in (finding it again there, ldd, dpkg -S and hashing
# under emulation, takes most of a minute).
if [ -n "${EMBER_NESTED:-}" ] && [ -f "${EMBER_BENCH_REDIS_LAYOUT:-}/index.json" ]; then
	LAYOUT=$EMBER_BENCH_REDIS_LAYOUT
else
	LAYOUT=$(image_layout redis) || fail "cannot build the redis image (make deps)"
fi
export EMBER_BENCH_REDIS_LAYOUT=$LAYOUT
for t in jq curl redis-cli skopeo umoci mkfs.erofs; do
	command -v "$t" >/dev/null || fail "$t is missing (make deps)"
done
for f in build/bin/ember build/bin/emberd; do [ -x "$f" ] || fail "$f is missing: run 'make all' first"; done
. tests/lib/emberd_env.sh

ember() { build/bin/ember --socket "$SOCK" "$@"; }
now() { echo "${EPOCHREALTIME/./}"; } # microseconds
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }
pct() { # P: nearest-rank percentile of the numbers on stdin
	sort -n | awk -v p="$1" '{v[NR] = $1} END {i = int((NR * p + 99) / 100); if (i < 1) i = 1; print v[i]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- native: ember's import against skopeo + umoci + mkfs.erofs ---

STORE="" # emberd's image store, in the native part

# job_s ID: the job's time in emberd's log, its child's fork to its exit
# seen by the loop ("importing" and "imported" lines, millisecond stamps).
# The CLI's own wall time includes its 200 ms poll of the job.
job_s() {
	awk -v id="$1" '$3 == "info:" && $4 " " $5 == "image job" && $6 == id":" {
		if ($7 == "importing") t0 = $2; else if ($8 == "imported") t1 = $2 }
		END { if (t0 == "" || t1 == "") exit 1; printf "%.3f", t1 - t0 }' "$WORK/emberd.log"
}

# ember_import: one import into an empty store; appends its job time, the
# CLI's wall time and the erofs size to $WORK/ember.
ember_import() {
	local t0 t1 id job
	if ember image ls | grep -q '^redis:7 '; then
		ember image rm redis:7 >/dev/null || die "ember image rm redis:7"
	fi
	[ -z "$(find "$STORE/blobs" "$STORE/rootfs" -type f 2>/dev/null)" ] ||
		die "the store is not empty before an import: $(find "$STORE" -type f)"
	sync -f "$WORK" # as before the peer's run: no writeback of the last run in this one
	t0=$(now)
	ember --json image import "$LAYOUT" --name redis:7 >"$WORK/job.json" 2>"$WORK/imp.err" ||
		die "ember image import: $(cat "$WORK/imp.err")"
	t1=$(now)
	id=$(jq -r .id "$WORK/job.json")
	[ "$(jq -r .result.rootfs_cached "$WORK/job.json")" = false ] || die "rootfs cached in an empty store"
	job=$(job_s "$id") || die "no job $id in emberd's log"
	echo "$job $(secs "$t0" "$t1") $(stat -c %s "$(jq -r .result.rootfs "$WORK/job.json")")" >>"$WORK/ember"
}

# peer_import: the same work by the peer tools, into an empty directory;
# appends the total, each tool's time and the erofs size to $WORK/peer.
peer_import() {
	local p=$WORK/peer.d t0 t1 t2 t3
	rm -rf "$p" && mkdir -p "$p" && sync -f "$WORK"
	t0=$(now)
	skopeo --insecure-policy copy -q "oci:$LAYOUT:latest" "oci:$p/layout:latest" ||
		die "skopeo copy failed"
	t1=$(now)
	umoci unpack --image "$p/layout:latest" "$p/bundle" >/dev/null || die "umoci unpack failed"
	t2=$(now)
	mkfs.erofs --quiet "$p/rootfs.erofs" "$p/bundle/rootfs" || die "mkfs.erofs failed"
	t3=$(now)
	echo "$(secs "$t0" "$t3") $(secs "$t0" "$t1") $(secs "$t1" "$t2") $(secs "$t2" "$t3") $(stat -c %s "$p/rootfs.erofs")" >>"$WORK/peer"
}

# col N FILE: column N of FILE.
col() { awk -v n="$1" '{ print $n }' "$2"; }

import_part() {
	echo "import: the redis layout $LAYOUT, $IMPORTS runs of each, interleaved" >&2
	env_init ember-bimg
	trap env_cleanup EXIT
	env_net
	# No guest in this part: the stand-in VMM is never started.
	env_emberd --vmm "$PWD/tests/lib/fake_vmm.sh"
	STORE=$WORK/state/images
	: >"$WORK/ember" && : >"$WORK/peer"
	cat "$LAYOUT"/blobs/sha256/* >/dev/null # the input in the page cache for both
	for i in $(seq "$IMPORTS"); do
		# Alternating who goes first spreads any drift of the machine's load.
		if [ $((i % 2)) = 1 ]; then ember_import && peer_import; else peer_import && ember_import; fi
		echo "import $i: ember $(tail -1 "$WORK/ember") / peer $(tail -1 "$WORK/peer")" >&2
	done
	# Again into the same store: every blob present, the erofs built.
	ember --json image import "$LAYOUT" --name redis:7 >"$WORK/job.json" 2>"$WORK/imp.err" ||
		die "second import: $(cat "$WORK/imp.err")"
	[ "$(jq -c '[.result.bytes_written, .result.rootfs_cached]' "$WORK/job.json")" = "[0,true]" ] ||
		die "the second import did work: $(cat "$WORK/job.json")"
	local e p
	e=$(col 1 "$WORK/ember" | pct 50)
	p=$(col 1 "$WORK/peer" | pct 50)
	echo "import_runs=$IMPORTS"
	echo "import_s_p50=$e"
	echo "import_s_max=$(col 1 "$WORK/ember" | pct 100)"
	echo "import_cli_s_p50=$(col 2 "$WORK/ember" | pct 50)"
	echo "peer_import_s_p50=$p"
	echo "peer_import_s_max=$(col 1 "$WORK/peer" | pct 100)"
	echo "peer_skopeo_s_p50=$(col 2 "$WORK/peer" | pct 50)"
	echo "peer_umoci_s_p50=$(col 3 "$WORK/peer" | pct 50)"
	echo "peer_mkfs_s_p50=$(col 4 "$WORK/peer" | pct 50)"
	echo "import_vs_peer_ratio=$(ratio "$e" "$p")"
	echo "rootfs_bytes=$(col 3 "$WORK/ember" | tail -1)"
	echo "peer_rootfs_bytes=$(col 5 "$WORK/peer" | tail -1)"
	echo "import_again_s=$(job_s "$(jq -r .id "$WORK/job.json")")"
	env_cleanup
	trap - EXIT
	EMBERD_PID="" H="" C="" WORK=""
	echo "note: import part done after $SECONDS s" >&2
}

if [ -z "${EMBER_NESTED:-}" ] && part import; then
	import_part
fi
part guest || exit 0

# --- guest: first request from zero, the warm floor, paused clones ---

guest_require
kind=$(guest_kvm_kind)
echo "kvm=$kind"
[ "$kind" = hw ] || echo "note: kvm=$kind: the guest's kernel and redis are emulated; guest times are an emulator's" >&2

die() {
	echo "--- emberd:" >&2
	tail -n 30 "$WORK/emberd.log" >&2
	fail "$*"
}
note() { echo "note: $SECONDS s: $*" >&2; }
env_init ember-bimg
trap env_cleanup EXIT
app() { app_of redis "$@"; }
scale() { api -sf -o /dev/null -X PATCH -d "$1" http://localhost/v1/apps/redis/scale || die "scale $1"; }

# The client side: functions run by one shell in the client namespace per
# loop (client LOOP ARGS), not one `ip netns exec` per request: under
# nested TCG every process start costs a large part of a second.
#
# syn: SYN_N = the namespace's SYN retransmissions (TcpExt TCPSynRetrans),
# read with builtins around each request, outside its timed part: a SYN
# lost on the wake path costs the client's 1 s retransmission timeout.
syn() {
	local h v i
	SYN_N=0
	while read -r -a h && read -r -a v; do
		[ "${h[0]}" = TcpExt: ] || continue
		for i in "${!h[@]}"; do [ "${h[i]}" = TCPSynRetrans ] && SYN_N=${v[i]}; done
	done </proc/net/netstat
}
# sample KIND FILE: one PING to the VIP; "MS SYNS" appended to FILE.
# KIND cli: `redis-cli -h VIP PING`, its start included. KIND conn: the
# same bytes on a new connection from this shell (connect, request,
# answer), no program start in it.
sample() {
	local t0 t1 s0 r=""
	syn && s0=$SYN_N
	t0=${EPOCHREALTIME/./}
	if [ "$1" = cli ]; then
		r=$(redis-cli -h "$VIP" PING)
	elif exec 3<>"/dev/tcp/$VIP/6379"; then
		printf '*1\r\n$4\r\nPING\r\n' >&3 && IFS= read -r -t 60 r <&3
		exec 3<&-
	fi
	t1=${EPOCHREALTIME/./}
	[ "${r%$'\r'}" = PONG ] || [ "${r%$'\r'}" = +PONG ] || { echo "FAIL: $1 PING: '$r'"; return 1; }
	syn
	printf '%d.%d %d\n' $(((t1 - t0) / 1000)) $(((t1 - t0) % 1000 / 100)) $((SYN_N - s0)) >>"$2"
}
# zero N WAKES: until the app has no live guest, N paused, nothing starting
# or stopping; it must have counted WAKES wakes by then.
zero() {
	local end=$((SECONDS + 300)) j
	while [ "$SECONDS" -lt "$end" ]; do
		j=$(curl -sS --max-time 30 --unix-socket "$SOCK" http://localhost/v1/apps/redis |
			jq -c '[[.guests | .live, .paused, .starting, .stopping], .wakes]')
		[ "${j%,*}" = "[[0,$1,0,0]" ] && break
		sleep 0.1
	done
	[ "${j%,*}" = "[[0,$1,0,0]" ] || { echo "FAIL: not back at zero with $1 paused: $j"; return 1; }
	[ "${j##*,}" = "$2]" ] || { echo "FAIL: $2 wakes expected, the app says $j"; return 1; }
}
# first_requests N: N PINGs of each kind from zero live guests, in turns.
first_requests() {
	local i
	for i in $(seq $((2 * $1))); do
		zero 1 $((i - 1)) || return 1
		if [ $((i % 2)) = 1 ]; then sample cli "$WORK/first_cli"; else sample conn "$WORK/first_conn"; fi ||
			return 1
	done
	zero 1 $((2 * $1))
}
# warm_requests N: N PINGs of each kind to the live guest, in turns.
warm_requests() {
	local i
	for i in $(seq "$1"); do
		sample cli "$WORK/warm_cli" && sample conn "$WORK/warm_conn" || return 1
	done
}
client() {
	SOCK=$SOCK WORK=$WORK VIP=$VIP ip netns exec "$C" bash -c \
		"$(declare -f syn sample zero first_requests warm_requests); $*"
}
sum() { awk '{ n += $1 } END { print n + 0 }'; }

env_net
env_config
jq --arg fs "$IMAGE_FS" '. + {image_fs: $fs}' "$WORK/emberd.json" >"$WORK/e.json" &&
	mv "$WORK/e.json" "$WORK/emberd.json"
env_emberd --scale-ms 10
note "emberd ready (root filesystems: $IMAGE_FS)"
echo "image_fs=$IMAGE_FS"
ember image import "$LAYOUT" --name redis:7 >/dev/null 2>"$WORK/imp.err" || die "import: $(cat "$WORK/imp.err")"
cat >"$WORK/redis.json" <<JSON
{"name": "redis", "image": "redis:7", "services": [{"vip": "$VIP"}],
 "mem_mib": 256, "idle_timeout_ms": $IDLE_MS, "standby": 1}
JSON
[ "$(env_deploy "$WORK/redis.json")" = 202 ] || die "deploy: $(cat "$WORK/deploy.out")"
env_wait_ready redis 1800
note "redis imported and deployed"

# First request from zero: a paused standby guest, no live one.
client first_requests "$WAKES" || die "first requests failed"
note "first requests done"
echo "note: first requests, redis-cli (ms): $(col 1 "$WORK/first_cli" | tr '\n' ' ')" >&2
echo "note: first requests, connection (ms): $(col 1 "$WORK/first_conn" | tr '\n' ' ')" >&2
# Each wake as emberd logged it (in the order of the requests): its tier,
# router event -> ember-vmm says the vCPUs run, router event -> the
# guest's first packet (-1: none seen).
grep ' info: wake app=redis ' "$WORK/emberd.log" | awk '{
	t = ""; us = 0; fp = -1000
	for (i = 1; i <= NF; i++) {
		if ($i ~ /^tier=/) t = substr($i, 6)
		if ($i ~ /^event->first_pkt=[0-9]/) fp = substr($i, 18) + 0
		if ($i ~ /^(event->recv|recv->resume_sent|sent->running|running->ok)=/) {
			split($i, kv, "="); us += kv[2] + 0
		}
	}
	printf "%s %.1f %.1f\n", t, us / 1000, fp / 1000 }' >"$WORK/wakes"
[ "$(wc -l <"$WORK/wakes")" = $((2 * WAKES)) ] || die "$(wc -l <"$WORK/wakes") wakes logged for $((2 * WAKES)) requests"
last_tier=$(tail -n 1 "$WORK/wakes" | awk '{ print $1 }')
[ "$(app -c '[.last_wake.tier, .wakes_restore]')" = "[\"$last_tier\",$(grep -c '^restore ' "$WORK/wakes")]" ] ||
	die "emberd's log and its API disagree on the wakes' tiers: $(app -c '[.last_wake, .wakes_restore]')"

# The floor: the same PINGs to the live guest (idle timeout out of the way).
scale '{"idle_timeout_ms": 600000}'
client sample conn /dev/null || die "PING to make the app live failed"
w0=$(app .wakes)
client warm_requests "$WAKES" || die "warm requests failed"
[ "$(app .wakes)" = "$w0" ] || die "a warm PING woke the app"
note "warm requests done"

first=$(col 1 "$WORK/first_cli" | pct 50) warm=$(col 1 "$WORK/warm_cli" | pct 50)
echo "idle_timeout_ms=$IDLE_MS"
echo "first_request_samples=$WAKES"
echo "first_request_ms_p50=$first"
echo "first_request_ms_p99=$(col 1 "$WORK/first_cli" | pct 99)"
echo "warm_request_ms_p50=$warm"
echo "warm_request_ms_p99=$(col 1 "$WORK/warm_cli" | pct 99)"
echo "first_vs_warm_ratio=$(ratio "$first" "$warm")"
first=$(col 1 "$WORK/first_conn" | pct 50) warm=$(col 1 "$WORK/warm_conn" | pct 50)
echo "first_request_conn_ms_p50=$first"
echo "first_request_conn_ms_p99=$(col 1 "$WORK/first_conn" | pct 99)"
echo "warm_request_conn_ms_p50=$warm"
echo "warm_request_conn_ms_p99=$(col 1 "$WORK/warm_conn" | pct 99)"
echo "first_vs_warm_conn_ratio=$(ratio "$first" "$warm")"
# SYNs the client sent again: each one is a second (or more) in a sample.
echo "first_request_syn_retrans=$(col 2 "$WORK/first_cli" | sum)"
echo "first_request_conn_syn_retrans=$(col 2 "$WORK/first_conn" | sum)"
echo "warm_request_syn_retrans=$(cat "$WORK/warm_cli" "$WORK/warm_conn" | awk '{ print $2 }' | sum)"
echo "wake_event_to_running_ms_p50=$(col 2 "$WORK/wakes" | pct 50)"
echo "wake_event_to_running_ms_p99=$(col 2 "$WORK/wakes" | pct 99)"
# ... and router event -> the guest's first packet (its SYN-ACK).
echo "wake_event_to_first_packet_ms_p50=$(col 3 "$WORK/wakes" | pct 50)"
echo "wake_tier=$(col 1 "$WORK/wakes" | sort | uniq -c | awk -v n=$((2 * WAKES)) '{ printf "%s%s", (NR > 1 ? "," : ""), ($1 == n ? $2 : $2 ":" $1) }')"

# Paused clones: STANDBY of them, back at zero live guests, PSS and RSS each
# from /proc (each must be one of emberd's children, i.e. a VMM). The live
# guest goes first (stopped: the pool is full), so that every clone
# measured is a restore that never ran, not a guest paused after serving.
scale "{\"idle_timeout_ms\": $IDLE_MS}"
client zero 1 "$(app .wakes)" || die "not back at zero"
scale "{\"standby\": $STANDBY}"
client zero "$STANDBY" "$(app .wakes)" || die "no $STANDBY paused guests"
pids=$(api http://localhost/v1/apps/redis/instances | jq -r '.instances[] | select(.state == "paused") | .pid')
kids=" $(children "$EMBERD_PID" | tr '\n' ' ') "
n=0 pss=0 rss=0
for p in $pids; do
	[[ $kids == *" $p "* ]] || die "paused guest pid $p is not emberd's child ($kids)"
	read -r a b <<<"$(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print p, r }' "/proc/$p/smaps_rollup")"
	pss=$((pss + a)) rss=$((rss + b)) n=$((n + 1))
	echo "note: paused clone pid $p: Pss $a KiB, Rss $b KiB" >&2
done
[ "$n" = "$STANDBY" ] || die "$n paused guests, want $STANDBY"
echo "paused_clones=$n"
echo "pss_kib_per_paused_clone=$((pss / n))"
echo "rss_kib_per_paused_clone=$((rss / n))"
echo "mem_mib=$(app .mem_mib)"
