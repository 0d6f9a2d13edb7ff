# SPDX-License-Identifier: Apache-2.0
# Shell helpers for everything that runs emberd end to end (tests/netns/emberd.sh,
# `make run`, `make bench B=e2e`): a host namespace with the XDP router on its
# veth, a client namespace on the other end, emberd itself, deploys, cleanup.
# Source tests/lib/guest.sh first, then this; call env_init PREFIX.
#
# The "host" side is a namespace of its own, not the machine's root namespace:
# emberd needs IPv4 forwarding on (bpf_fib_lookup of the guest program) and
# the demo must not change the machine's own settings or routes.

H="" C="" WORK="" PIN="" SOCK="" EMBERD_PID="" VMM_PIDS=""
ENV_CLIENT_IP=10.99.0.2
ENV_HOST_IP=10.99.0.1
ENV_VIP_NET=10.100.0.0/24
ENV_CLIENT_IP6=fd00:99::2
ENV_HOST_IP6=fd00:99::1
ENV_VIP6_NET=fd00:100::/64

READY_TIMEOUT=${EMBER_TEST_READY_TIMEOUT:-900} # s: nested TCG boots slowly
BG_PID="" # a background process of the test (load, held connections): env_cleanup kills it

children() { cat /proc/"$1"/task/*/children 2>/dev/null; }
# die MESSAGE: the end of emberd's log, then fail (a script may define its own).
die() {
	local f
	echo "--- emberd:"
	tail -n 40 "$WORK/emberd.log"
	# A log the message points at (a guest's console and VMM log) goes with
	# the work dir, which under nested TCG is in the L1's memory: show it now.
	for f in $(echo "$*" | grep -o '/[^ )"]*\.log'); do
		for f in "$f" "${f%/*}"/*.console; do
			[ -r "$f" ] && { echo "--- $f:"; tail -n 30 "$f"; }
		done
	done
	fail "$*"
}
# wait_for SECONDS CONDITION...: polls CONDITION every 0.1 s for SECONDS of
# wall time (a check itself may take a while under TCG); 1 if it never held.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
	"$@"
}
# wait_until SECONDS 'CONDITION': like wait_for, for a condition that must be
# evaluated anew each time ("$(...)" given to wait_for is expanded once, by
# the caller).
wait_until() {
	local end=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$end" ]; do eval "$2" && return 0; sleep 0.1; done
	eval "$2"
}
# alive PID: the process runs (a zombie does not count: VMMs adopted from a
# killed emberd are reaped by whatever init the machine has, maybe late).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# env_init PREFIX: names of this run's namespaces, work dir and pin root.
env_init() {
	H=$1-h-$$
	C=$1-c-$$
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	SOCK=$WORK/run/api.sock
	# A bpffs of our own, not /sys/fs/bpf: 'ip netns exec' mounts a fresh
	# /sys for each command, so pins under /sys/fs/bpf would live in that
	# one command's mount namespace and vanish with it (a restarted emberd
	# would then find none). A mount here is seen by every netns exec.
	mkdir -p "$WORK/bpf" && mount -t bpf bpf "$WORK/bpf" || skip "cannot mount a bpffs"
	PIN=$WORK/bpf/ember
	for f in build/bin/emberd build/tests/emberd_peer; do
		[ -x "$f" ] || fail "$f is missing: run 'make all' first"
	done
}

# env_cleanup: emberd (SIGTERM, then SIGKILL), any VMM it left, namespaces, pins.
env_cleanup() {
	[ -n "$BG_PID" ] && kill "$BG_PID" 2>/dev/null
	if [ -n "$EMBERD_PID" ] && kill -0 "$EMBERD_PID" 2>/dev/null; then
		VMM_PIDS="$VMM_PIDS $(children "$EMBERD_PID")"
		kill "$EMBERD_PID"
		for _ in $(seq 100); do kill -0 "$EMBERD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$EMBERD_PID" 2>/dev/null
	fi
	for p in $VMM_PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -n "$H" ] && ip netns del "$H" 2>/dev/null
	[ -n "$C" ] && ip netns del "$C" 2>/dev/null
	[ -n "$WORK" ] && { umount "$WORK/bpf" 2>/dev/null; keep_work "$WORK"; rm -rf "$WORK"; }
	guest_cleanup
}

# env_net: client -- veth -- host (router on rtr0); guests' taps are emberd's.
env_net() {
	ip netns add "$H" && ip netns add "$C" || fail "cannot create namespaces"
	ip -n "$H" link set lo up && ip -n "$C" link set lo up
	ip -n "$H" link add rtr0 type veth peer name cli0 netns "$C" || fail "veth"
	ip -n "$H" addr add "$ENV_HOST_IP/24" dev rtr0
	ip -n "$C" addr add "$ENV_CLIENT_IP/24" dev cli0
	ip -n "$H" link set rtr0 up && ip -n "$C" link set cli0 up
	ip -n "$H" addr add "$ENV_HOST_IP6/64" dev rtr0 nodad
	ip -n "$C" addr add "$ENV_CLIENT_IP6/64" dev cli0 nodad
	ip -n "$C" route add "$ENV_VIP_NET" via "$ENV_HOST_IP"
	ip -n "$C" -6 route add "$ENV_VIP6_NET" via "$ENV_HOST_IP6"
	# bpf_fib_lookup in the guest program needs forwarding on.
	ip netns exec "$H" sysctl -qw net.ipv4.conf.all.forwarding=1
	ip netns exec "$H" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip netns exec "$C" build/tests/emberd_peer cli0 || fail "preparing cli0"
	local mac
	mac=$(ip netns exec "$C" cat /sys/class/net/cli0/address)
	ip -n "$H" neigh replace "$ENV_CLIENT_IP" dev rtr0 nud permanent lladdr "$mac"
	ip -n "$H" neigh replace "$ENV_CLIENT_IP6" dev rtr0 nud permanent lladdr "$mac"
}

# env_config [HOST_IMAGES_JSON_MEMBERS]: writes $WORK/emberd.json, emberd's
# configuration: the guest files of this build and the host image "demo"
# (ember's kernel and initramfs with its built-in demo workload), plus the
# given members of "host_images" ('"disk": {...}'). env_emberd writes the
# default one if a test has not.
env_config() {
	cat >"$WORK/emberd.json" <<EOF
{"guest_kernel": "$PWD/build/guest/vmlinux", "guest_initramfs": "$PWD/build/guest/initramfs.cpio",
 "host_images": {"demo": {"kernel": "$PWD/build/guest/vmlinux",
                          "initrd": "$PWD/build/guest/initramfs.cpio"}${1:+, $1}}}
EOF
}

# env_emberd [ARGS...]: starts emberd in the host namespace with the router on
# rtr0 and waits until it serves its API (the verifier takes ~20 s under TCG).
env_emberd() {
	local n0
	n0=$(cat "$WORK/emberd.log" 2>/dev/null | wc -l) # a restart appends to the log
	[ -e "$WORK/emberd.json" ] || env_config
	ip netns exec "$H" build/bin/emberd --state-dir "$WORK/state" --run-dir "$WORK/run" \
		--ingress rtr0 --pin-root "$PIN" --config "$WORK/emberd.json" "$@" \
		2>>"$WORK/emberd.log" &
	EMBERD_PID=$!
	for _ in $(seq 1200); do
		tail -n +$((n0 + 1)) "$WORK/emberd.log" | grep -q ' info: ready ' && break
		kill -0 "$EMBERD_PID" 2>/dev/null || die "emberd exited during setup"
		sleep 0.25
	done
	[ -S "$SOCK" ] || die "emberd did not create $SOCK"
}

api() { curl -sS --max-time 30 --unix-socket "$SOCK" "$@"; }
# app_of NAME JQ-ARGS...: a field of app NAME.
app_of() { local n=$1; shift; api "http://localhost/v1/apps/$n" | jq -c "$@"; }
retrans() { # TCP segments retransmitted by the client namespace
	ip netns exec "$C" awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++)
		if ($i == "RetransSegs") c = i } else print $c }' /proc/net/snmp
}

# env_demo_spec NAME VIP[,VIP...] IDLE_MS [STANDBY]: the demo app's JSON on
# stdout, one port 80 service per VIP (IPv4 or IPv6).
env_demo_spec() {
	local svcs
	svcs=$(echo "$2" | tr ',' '\n' | sed 's/.*/{"vip": "&", "port": 80}/' | paste -sd,)
	cat <<EOF
{"name": "$1", "image": {"host": "demo"},
 "services": [$svcs], "mem_mib": 256,
 "idle_timeout_ms": $3, "standby": ${4:-1}}
EOF
}

# env_deploy FILE: POST /v1/apps; prints the HTTP status.
env_deploy() {
	api -o "$WORK/deploy.out" -w '%{http_code}' -X POST --data-binary @"$1" \
		http://localhost/v1/apps
}

# env_wait_ready NAME TIMEOUT_S [PROGRESS_CMD]: until the app is ready with a
# paused guest; dies if it fails. PROGRESS_CMD runs every 10 s (slow boots).
env_wait_ready() {
	local t0 st next
	t0=$(date +%s)
	next=$((t0 + 10))
	while :; do
		st=$(app_of "$1" -r .state)
		[ "$st" = ready ] && [ "$(app_of "$1" .guests.paused)" -ge 1 ] && return 0
		[ "$st" = deploying ] || [ "$st" = ready ] || die "app $1 state '$st': $(app_of "$1" .error)"
		[ $(($(date +%s) - t0)) -lt "$2" ] || die "app $1 not ready after $2 s"
		if [ -n "${3:-}" ] && [ "$(date +%s)" -ge "$next" ]; then
			$3 "$1" $(($(date +%s) - t0))
			next=$((next + 10))
		fi
		sleep 1
	done
}
