#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OCI images run as a container runtime would, woken through the XDP router:
# the probe image (tests/lib/images.sh: busybox, User 1000:1000, Env,
# WorkingDir, Entrypoint + Cmd) answers over HTTP with the argv, env, cwd,
# uid/gid and hostname its process saw, with the spec's env over the
# image's; Debian's redis-server as an image, deployed with `ember deploy`,
# idle at zero live guests, answers redis-cli's PING, SET and GET through
# the router (the first command wakes it). Root + KVM (nested L1 without).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

# Built (or found in the cache) here, before the nested VM, whose view of
# the cache is read-only.
. tests/lib/images.sh
PROBE=$(image_layout probe) || fail "cannot build the probe image"
REDIS=$(image_layout redis) || fail "cannot build the redis image"
guest_require
. tests/lib/emberd_env.sh
for t in jq redis-cli; do command -v "$t" >/dev/null || fail "$t is missing (make deps)"; done
[ -x build/bin/ember ] || fail "build/bin/ember is missing: make build/bin/ember"

VIP=10.100.0.81 VIP2=10.100.0.82 VIP3=10.100.0.83
env_init emberd-imgguest
trap env_cleanup EXIT
env_net
env_emberd -v
ember() { build/bin/ember --socket "$SOCK" "$@"; }
for i in probe:1:"$PROBE" redis:7:"$REDIS"; do
	ember image import "${i#*:*:}" --name "${i%:*}" >/dev/null 2>"$WORK/imp.err" ||
		die "import ${i%:*}: $(cat "$WORK/imp.err")"
done
echo "ok: probe:1 and redis:7 imported"

# --- the probe: what its process sees ---
cat >"$WORK/probe.json" <<JSON
{"name": "probe", "image": "probe:1", "services": [{"vip": "$VIP"}],
 "env": {"GREETING": "hi from the spec", "EXTRA": "a=b c"},
 "mem_mib": 256, "idle_timeout_ms": 2000}
JSON
ember deploy "$WORK/probe.json" --wait --timeout "$READY_TIMEOUT" >/dev/null ||
	die "ember deploy probe: $(app_of probe .)"
[ "$(app_of probe .guests.live)" = 0 ] || die "probe is live before any request: $(app_of probe .guests)"
out=$(ip netns exec "$C" curl -sS --max-time 60 "http://$VIP:8080/cgi-bin/probe") ||
	die "GET /cgi-bin/probe (a wake) failed"
want="argv0=/bin/probe-start
argv1=one
argv2=two words
argc=2
uid=1000
gid=1000
groups=1000
cwd=/srv/work
hostname=probe
envsrc=proc
env:EXTRA=a=b c
env:GREETING=hi from the spec
env:HOME=/home/app
env:PATH=/bin
env:PROBE_MODE=image"
[ "$(printf '%s\n' "$out" | tr -d '\r')" = "$want" ] ||
	die "the probe saw: $out
--- want:
$want"
echo "ok: the probe's process: argv, uid/gid 1000, cwd /srv/work, hostname, exactly the env"

# A request the guest works on in silence for longer than the idle timeout
# (2 s) is answered: an open connection keeps the guest live.
out=$(ip netns exec "$C" curl -sS --max-time 60 "http://$VIP:8080/cgi-bin/slow?6") ||
	die "GET /cgi-bin/slow?6 failed (the guest slept under an open request?)"
[ "$(tr -d '\r' <<<"$out")" = "slept 6" ] || die "slow answered: $out"
echo "ok: a request silent for 6 s, 3 times the idle timeout, was answered"

# --- a UDP-only app: ready once its process has a socket bound to its port ---
# (busybox's DHCP server on 67/udp, the one UDP server busybox-static has.)
cat >"$WORK/udp.json" <<JSON
{"name": "udponly", "image": "probe:1", "services": [{"vip": "$VIP3", "port": 67, "proto": "udp"}],
 "user": "0:0", "command": ["/bin/busybox", "sh", "-c",
 "printf 'interface eth0\\\\nlease_file /tmp/leases\\\\npidfile /tmp/udhcpd.pid\\\\n' >/tmp/u.conf && exec busybox udhcpd -f /tmp/u.conf"],
 "mem_mib": 256}
JSON
ember deploy "$WORK/udp.json" --wait --timeout "$READY_TIMEOUT" >/dev/null ||
	die "a UDP-only app never became ready: $(app_of udponly .)"
echo "ok: a UDP-only app is ready once its server has bound 67/udp"

# --- redis: deployed, idle at zero, woken by redis-cli ---
cat >"$WORK/redis.json" <<JSON
{"name": "redis", "image": "redis:7", "services": [{"vip": "$VIP2"}],
 "mem_mib": 256, "idle_timeout_ms": 5000}
JSON
ember deploy "$WORK/redis.json" --wait --timeout "$READY_TIMEOUT" >/dev/null ||
	die "ember deploy redis: $(app_of redis .)"
[ "$(app_of redis -c '[.services[] | .port]')" = "[6379]" ] || die "services: $(app_of redis .services)"
[ "$(app_of redis .guests.live)" = 0 ] || die "redis is live before any request"
rcli() { ip netns exec "$C" timeout 60 redis-cli -h "$VIP2" -p 6379 "$@"; }
[ "$(rcli PING)" = PONG ] || die "PING through the router (a wake) failed"
[ "$(app_of redis .wakes)" = 1 ] || die "the PING did not wake redis: $(app_of redis .)"
# SET and GET on one connection: a guest's data is its own and goes with it
# (scale to zero is stateless), and under TCG a new redis-cli process can
# take longer to start than the idle timeout.
out=$(printf 'SET ember "served from an image"\nGET ember\n' | rcli)
[ "$out" = "OK
served from an image" ] || die "SET + GET answered: $out"
echo "ok: redis-cli PING/SET/GET through the router, the first one woke redis from zero"
wait_until 30 '[ "$(app_of redis .guests.live)" = 0 ]' || die "redis not back to zero: $(app_of redis .guests)"
[ "$(rcli PING)" = PONG ] || die "PING after scale-to-zero failed"
[ "$(app_of redis .wakes)" = 2 ] || die "the second PING did not wake redis: $(app_of redis .)"
echo "ok: back to zero after the idle timeout, woken again by PING"
! grep -q 'refus\|exited unexpectedly' "$WORK/emberd.log" ||
	die "emberd logged a refused or failed VMM: $(grep -m3 'refus\|exited unexpectedly' "$WORK/emberd.log")"
echo "PASS"
