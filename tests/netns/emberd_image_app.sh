#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An app deployed from an OCI image, up to what its guest would boot (the
# stand-in VMM records its arguments): the run config emberd appends to
# ember's initramfs says exactly what the image's config and the spec's
# overrides make of argv, env, workdir, user (through the image's
# etc/passwd), hostname and ports; the disk is the image's root filesystem,
# read-only; ports the spec leaves out come from ExposedPorts. Bad specs
# (unknown image, user, no ports) are refused with their reason, and an
# image in use cannot be removed. Root and BPF, no KVM.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, XDP, the root filesystem build)"
for t in umoci mkfs.erofs jq cpio; do
	command -v "$t" >/dev/null || skip "needs $t"
done
[ -x /bin/busybox ] || skip "needs busybox-static's /bin/busybox"
. tests/lib/emberd_env.sh
[ -x build/bin/ember ] || fail "build/bin/ember is missing: make build/bin/ember"
[ -f build/guest/initramfs.cpio ] || fail "build/guest/initramfs.cpio is missing: make guest"

VIP=10.100.0.71 VIP2=10.100.0.72 VIP3=10.100.0.73
env_init emberd-imgapp
trap env_cleanup EXIT
env_net
# The stand-in's restores are refused (it speaks another protocol version),
# so no app becomes ready: only what a boot is given matters here.
env_emberd -v --vmm "$PWD/tests/lib/fake_vmm.sh"
ember() { build/bin/ember --socket "$SOCK" "$@"; }
code() { api -o "$WORK/reply" -w '%{http_code}' "$@"; }

# The image: busybox, a user "app" 1000:1000 in its etc/passwd, a config with
# every field a runtime reads.
L=$WORK/layout
umoci init --layout "$L" && umoci new --image "$L:latest" &&
	umoci unpack --image "$L:latest" "$WORK/bundle" >/dev/null &&
	mkdir -p "$WORK/bundle/rootfs/bin" "$WORK/bundle/rootfs/etc" "$WORK/bundle/rootfs/home/app" &&
	cp /bin/busybox "$WORK/bundle/rootfs/bin/" &&
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' \
		>"$WORK/bundle/rootfs/etc/passwd" &&
	printf 'root:x:0:\napp:x:1000:\n' >"$WORK/bundle/rootfs/etc/group" &&
	umoci repack --image "$L:latest" "$WORK/bundle" &&
	umoci config --image "$L:latest" --os linux --architecture amd64 \
		--config.entrypoint /bin/probe-start --config.cmd one --config.cmd "two words" \
		--config.env PATH=/bin --config.env "GREETING=hello world" \
		--config.workingdir /srv/work --config.user app \
		--config.exposedports 8080/tcp --config.exposedports 9000/udp &&
	umoci gc --layout "$L" || fail "umoci could not build the layout"
ember image import "$L" --name probe:1 >/dev/null 2>&1 || die "import failed"

# run_of APP VERSION: ember/run from the app's initrd (the archive after ember's).
run_of() {
	local initrd=$WORK/state/apps/$1/snap-v$2/initrd.cpio base
	[ -f "$initrd" ] || die "no initrd for app $1 v$2"
	base=$(stat -c %s build/guest/initramfs.cpio)
	tail -c +$(((base + 3) / 4 * 4 + 1)) "$initrd" | cpio -i --quiet --to-stdout ember/run
}
# argv_of APP: the file of the arguments the stand-in VMM booted APP with
# (written by that process, so waited for).
argv_of() {
	local f=$WORK/state/apps/$1/snap-v1/boot.argv
	wait_until 10 "[ -s '$f' ]" || die "the VMM of $1 never wrote $f"
	echo "$f"
}
# The run config as KEY=VALUE lines (no value in this test holds a newline).
records() { awk 'NR % 2 { split($0, h, " "); k = h[1]; next } { print k "=" $0 }'; }

cat >"$WORK/app.json" <<JSON
{"name": "probe", "image": "probe:1", "services": [{"vip": "$VIP"}],
 "env": {"GREETING": "hi", "EXTRA": "x=1"}, "idle_timeout_ms": 1000}
JSON
[ "$(env_deploy "$WORK/app.json")" = 202 ] || die "deploy: $(cat "$WORK/deploy.out")"
run_of probe 1 | records >"$WORK/run.txt"
cat >"$WORK/want.txt" <<'TXT'
arg=/bin/probe-start
arg=one
arg=two words
env=PATH=/bin
env=GREETING=hi
env=EXTRA=x=1
env=HOME=/home/app
workdir=/srv/work
uid=1000
gid=1000
hostname=probe
root=/dev/vda
fstype=erofs
port=8080/tcp
port=9000/udp
TXT
diff -u "$WORK/want.txt" "$WORK/run.txt" || die "the run config is not what the image and spec say"
echo "ok: run config: argv, env (spec over image, HOME from passwd), workdir, uid/gid, hostname, ports"
[ "$(stat -c %a "$WORK/state/apps/probe/snap-v1/initrd.cpio")" = 600 ] || die "initrd readable by others"

# What the VMM was given: ember's kernel, that initrd, the image read-only, no ember.root.
argv=$(argv_of probe)
rootfs=$(api http://localhost/v1/images/probe:1 | jq -r .rootfs)
grep -qx -- "$PWD/build/guest/vmlinux" "$argv" || die "kernel: $(cat "$argv")"
grep -qx -- "$WORK/state/apps/probe/snap-v1/initrd.cpio" "$argv" || die "initrd: $(cat "$argv")"
grep -qx -- "$rootfs,ro" "$argv" || die "disk: $(cat "$argv")"
grep -q 'ember.root\|ember.arg\|ember.exec' "$argv" && die "image mode with host-image words: $(cat "$argv")"
app=$(api http://localhost/v1/apps/probe)
[ "$(jq -c '[.services[] | "\(.port)/\(.proto)"]' <<<"$app")" = '["8080/tcp","9000/udp"]' ] ||
	die "services not expanded from ExposedPorts: $app"
manifest=$(api http://localhost/v1/images/probe:1 | jq -r .manifest)
[ "$(jq -r .image_digest <<<"$app")" = "$manifest" ] || die "image_digest: $app"
echo "ok: boots $rootfs read-only with ember's kernel; services 8080/tcp + 9000/udp from the image"

# command replaces Entrypoint and drops Cmd; args replace Cmd; user by uid:gid.
cat >"$WORK/app2.json" <<JSON
{"name": "probe2", "image": "probe:1", "services": [{"vip": "$VIP2", "port": 80}],
 "command": ["/bin/busybox", "httpd"], "user": "0:5", "workdir": "/"}
JSON
[ "$(env_deploy "$WORK/app2.json")" = 202 ] || die "deploy 2: $(cat "$WORK/deploy.out")"
run_of probe2 1 | records | grep -E '^(arg|uid|gid|workdir|port)=' | paste -sd' ' >"$WORK/run2.txt"
[ "$(cat "$WORK/run2.txt")" = "arg=/bin/busybox arg=httpd workdir=/ uid=0 gid=5 port=80/tcp" ] ||
	die "overrides: $(cat "$WORK/run2.txt")"
echo "ok: command/user/workdir overrides: $(cat "$WORK/run2.txt")"

# Refusals, each with its reason; nothing registered.
refuse() { # JSON FIELD WORDS
	[ "$(code -X POST --data-binary "$1" http://localhost/v1/apps)" = 400 ] ||
		die "accepted: $1: $(cat "$WORK/reply")"
	[ "$(jq -r .field "$WORK/reply")" = "$2" ] && grep -q "$3" "$WORK/reply" ||
		die "$1: want field $2 '$3': $(cat "$WORK/reply")"
}
svc="\"services\": [{\"vip\": \"$VIP3\", \"port\": 80}]"
refuse "{\"name\": \"x\", \"image\": \"nope:1\", $svc}" image 'no image \\"nope:1\\" in the store'
refuse "{\"name\": \"x\", \"image\": \"probe:1\", $svc, \"user\": \"ghost\"}" user 'user \\"ghost\\"'
refuse "{\"name\": \"x\", \"image\": {\"kernel\": \"/etc/shadow\"}, $svc}" image 'host paths are not accepted'
refuse "{\"name\": \"x\", \"image\": {\"host\": \"nope\"}, $svc}" image.host 'no host image'
refuse "{\"name\": \"x\", \"image\": \"probe:1\", $svc, \"command\": []}" command 'neither Entrypoint nor Cmd'
[ "$(api http://localhost/v1/apps | jq '.apps | length')" = 2 ] || die "a refused app was registered"
echo "ok: unknown image, unknown user, host paths, unknown host image, empty argv refused (400)"

# The image cannot go while apps use it; it can once they are gone.
ember image rm probe:1 2>"$WORK/rm.err" && die "an image in use was removed"
grep -q 'used by app probe' "$WORK/rm.err" || die "rm: $(cat "$WORK/rm.err")"
[ -f "$rootfs" ] || die "the root filesystem went with a refused rm"
for a in probe probe2; do api -X DELETE "http://localhost/v1/apps/$a" >/dev/null; done
for _ in $(seq 100); do
	[ "$(api http://localhost/v1/apps | jq '.apps | length')" = 0 ] && break
	sleep 0.1
done
ember image rm probe:1 >/dev/null || die "rm after the apps went failed"
[ ! -e "$rootfs" ] && [ ! -e "${rootfs%.erofs}.users" ] || die "root filesystem or its .users left after rm"
echo "ok: rm refused while used (reason names the app), done once the apps are gone"

# "image_fs": "ext4": the same image as an ext4 root filesystem, booted as one.
kill "$EMBERD_PID" && wait "$EMBERD_PID" 2>/dev/null
EMBERD_PID=""
env_config
jq '. + {"image_fs": "ext4"}' "$WORK/emberd.json" >"$WORK/e4.json" && mv "$WORK/e4.json" "$WORK/emberd.json"
env_emberd -v --vmm "$PWD/tests/lib/fake_vmm.sh"
ember image import "$L" --name probe:1 >/dev/null 2>&1 || die "import (ext4) failed"
ext4=$(api http://localhost/v1/images/probe:1 | jq -r .rootfs)
[ "${ext4##*.}" = ext4 ] && [ -f "$ext4" ] || die "no ext4 root filesystem: $ext4"
sed "s/\"probe\"/\"probe4\"/" "$WORK/app.json" >"$WORK/app4.json"
[ "$(env_deploy "$WORK/app4.json")" = 202 ] || die "deploy (ext4): $(cat "$WORK/deploy.out")"
run_of probe4 1 | records | grep -qx 'fstype=ext4' || die "run config (ext4): $(run_of probe4 1 | records)"
argv=$(argv_of probe4)
grep -qx -- "$ext4,ro" "$argv" || die "disk (ext4): $(cat "$argv")"
echo "ok: with image_fs ext4 the image is built and booted as ext4 (fstype=ext4, ${ext4##*/})"
kill -0 "$EMBERD_PID" || die "emberd is gone"
echo "PASS"
