#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An app whose workload lives only on its root disk ("image.rootfs", an ext4
# image; ember-init mounts it as / and runs "exec" from it) is deployed,
# restored and woken through emberd and the XDP router: the paused clone,
# every refill and a tier-3 restore onto the spare tap get the boot's --disk
# back (a restore without it is refused by ember-vmm). The image file is
# never written.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 is missing (e2fsprogs: make deps)"
. tests/lib/emberd_env.sh

env_init emberd-rootfs
trap env_cleanup EXIT
VIP=10.100.0.61
IMG=$WORK/root.img

# The workload is on the disk only, under a name the initramfs does not have.
mkdir -p "$WORK/rootfs/srv"
cp build/guest/ember-demo "$WORK/rootfs/srv/on-disk-demo" || die "cannot stage the root"
mkfs.ext4 -q -F -d "$WORK/rootfs" "$IMG" 16M >/dev/null || die "mkfs.ext4 failed"
img_sum=$(sha256sum <"$IMG")

env_net
env_config "\"disk\": {\"kernel\": \"$PWD/build/guest/vmlinux\",
 \"initrd\": \"$PWD/build/guest/initramfs.cpio\", \"rootfs\": \"$IMG\", \"exec\": \"/srv/on-disk-demo\"}"
env_emberd -v
cat >"$WORK/disk.json" <<JSON
{"name": "disk", "image": {"host": "disk"},
 "services": [{"vip": "$VIP", "port": 80}], "mem_mib": 256,
 "idle_timeout_ms": 1500, "standby": 1}
JSON
[ "$(env_deploy "$WORK/disk.json")" = 202 ] || die "deploy: $(cat "$WORK/deploy.out")"
env_wait_ready disk "$READY_TIMEOUT"
# Ready means a clone was restored and paused: before the fix every restore
# of a snapshot with a disk was refused and the deploy failed.
cmds=$(for p in $(children "$EMBERD_PID"); do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)
# (ember-vmm's option parser cuts "PATH,ro" in place: /proc shows "PATH ro".)
grep -q -- "restore .*--disk $IMG[, ]ro" <<<"$cmds" ||
	die "the paused clone was restored without the disk: $cmds"
echo "ok: ready; the paused clone was restored with --disk $IMG,ro"

get() { ip netns exec "$C" build/tests/http_get -t 30000 "$VIP" 80 /; }
body=$(get) || die "the first GET (a wake) failed"
[ "$(app_of disk -r .last_wake.tier)" = paused ] || die "last wake: $(app_of disk .last_wake)"
echo "ok: woken from a paused clone through the router: $body"

# Idle: back to zero live guests, then the same again.
wait_until 30 '[ "$(app_of disk .guests.live)" = 0 ]' || die "not back to zero: $(app_of disk .guests)"
get >/dev/null || die "the GET after scale-to-zero failed"
echo "ok: back to zero after the idle timeout, woken again"

# standby 0: no paused clone is kept, a wake restores one onto the spare tap.
code=$(api -o /dev/null -w '%{http_code}' -X PATCH -d '{"standby": 0}' http://localhost/v1/apps/disk/scale)
[ "$code" = 200 ] || die "PATCH .../scale: HTTP $code"
wait_until 60 '[ "$(app_of disk -c "[.guests.live, .guests.paused]")" = "[0,0]" ]' ||
	die "guests left with standby 0: $(app_of disk .guests)"
get >/dev/null || die "the GET through a tier-3 restore failed"
[ "$(app_of disk -r .last_wake.tier)" = restore ] || die "last wake: $(app_of disk .last_wake)"
echo "ok: with standby 0 a wake restored a clone onto the spare tap, with the disk"

! grep -q 'refus\|exited unexpectedly' "$WORK/emberd.log" ||
	die "emberd logged a refused or failed VMM: $(grep -m3 'refus\|exited unexpectedly' "$WORK/emberd.log")"
[ "$(sha256sum <"$IMG")" = "$img_sum" ] || die "the root image was modified"
echo "ok: no VMM failed; the root image is unchanged"
echo "PASS"
