#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ember-init running an OCI image as a container runtime would, without a VM:
# a small erofs image (busybox, a user 1000) on a read-only loop device, a
# /ember/run written next to the unpacked initramfs, and ember-init as PID 1
# of fresh PID + mount namespaces inside a network namespace, as
# test_init_host.sh does. The workload prints what it sees on the console.
# Covers: user, groups, workdir, hostname, exact env, default PATH, /etc
# files, runtime-spec mounts, a writable overlay over an unchanged image,
# readiness on the first TCP port, exec failures, a refused run config.
set -u
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$work/console" ] && sed 's/^/  | /' "$work/console"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (namespaces, mounts, loop devices)"
img=build/guest/initramfs.cpio
[ -e "$img" ] || { echo "FAIL: $img is missing: run 'make build/guest/initramfs.cpio'"; exit 1; }
for tool in mkfs.erofs losetup curl; do
	command -v "$tool" >/dev/null || skip "$tool is not installed"
done
busybox=$(command -v busybox) || skip "busybox is not installed"
ldd "$busybox" >/dev/null 2>&1 && skip "$busybox is not static (install busybox-static)"
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || skip "no erofs in this kernel"

work=$(mktemp -d /tmp/ember-init-image.XXXXXX)
ns=ember-img-$$ cns=ember-imgc-$$ pid="" loopdev=""

# PID 1 of the guest's PID namespace, seen from the host (killing it ends the namespace).
init_pid() {
	local p q
	for p in $(pgrep -P "$pid") $(for q in $(pgrep -P "$pid"); do pgrep -P "$q"; done); do
		awk '/^NSpid:/ { exit !($NF == 1) }' "/proc/$p/status" 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}

cleanup() {
	local i p
	if [ -n "$pid" ]; then
		p=$(init_pid) && kill -9 "$p" 2>/dev/null
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	# The mounts went with the mount namespace; the loop device is freed
	# once the kernel has let go of the erofs (autoclear if still busy).
	for ((i = 0; i < 20 && ${#loopdev} > 0; i++)); do
		losetup -d "$loopdev" 2>/dev/null && break
		sleep 0.1
	done
	ip netns del "$ns" 2>/dev/null
	ip netns del "$cns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# ---- the image: busybox and a user 1000, as an image builder would leave them
tree=$work/tree
mkdir -p "$tree"/{bin,etc,home/app,srv/data,srv/www}
cp "$busybox" "$tree/bin/busybox"
for applet in sh id pwd hostname env cat touch tr sed grep ls httpd; do
	ln -s busybox "$tree/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$tree/etc/passwd"
echo 'app:x:1000:1000:app:/home/app:/bin/sh' >>"$tree/etc/passwd"
printf 'root:x:0:\nextra:x:27:\napp:x:1000:\n' >"$tree/etc/group"
echo 'image hosts' >"$tree/etc/hosts"
ln -s ../run/systemd/resolve/stub-resolv.conf "$tree/etc/resolv.conf"
chown 1000:1000 "$tree/srv/data" "$tree/home/app"
echo 'from the image' >"$tree/srv/www/index.html"
echo 'not a program' >"$tree/srv/noexec" && chmod 0644 "$tree/srv/noexec"
mkfs.erofs "$work/image.erofs" "$tree" >/dev/null 2>&1 || fail "mkfs.erofs"
sum_before=$(sha256sum <"$work/image.erofs")
loopdev=$(losetup -f --show -r "$work/image.erofs" 2>/dev/null) || {
	loopdev=""
	skip "losetup does not work here (no loop devices)"
}

mkdir "$work/root"
cpio -id --quiet -D "$work/root" <"$img" || fail "cannot unpack $img"
[ -d "$work/root/ember" ] || fail "the initramfs has no /ember"

ip netns add "$ns" && ip netns add "$cns" || skip "cannot create network namespaces"
ip -n "$ns" link add eth0 type veth peer name cli0 netns "$cns" || skip "no veth"
ip -n "$cns" addr add 192.0.2.1/24 dev cli0
ip -n "$cns" link set cli0 up

# rec KEY VALUE: one record of /ember/run (docs/guest-run.md), length in bytes.
rec() {
	local LC_ALL=C
	printf '%s %d\n%s\n' "$1" "${#2}" "$2"
}

# boot CMDLINE: ember-init as PID 1, with $work/root/ember/run as it is now.
boot() {
	: >"$work/console"
	EMBER_INIT_TEST=1 EMBER_INIT_CMDLINE="$1" ip netns exec "$ns" \
		unshare -p -f -m --propagation private --kill-child chroot "$work/root" /init \
		>"$work/console" 2>&1 &
	pid=$!
}

wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		grep -qF -- "$1" "$work/console" && return 0
		sleep 0.05
	done
	fail "no '$1' on the console within $2 s"
}

halted() {
	local i
	wait_for "doorbell POWEROFF $1" 10
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "ember-init still running after POWEROFF"
	wait "$pid" 2>/dev/null
	pid=""
}

# has LINE: exactly this line on the console.
has() { grep -qxF -- "$1" "$work/console" || fail "no line '$1'"; }

# The workload of test 1: what a container sees, one prefixed line each.
script='echo "id: $(id)"; echo "pwd: $(pwd)"; echo "hostname: $(hostname)"
tr "\0" "\n" </proc/$$/environ | sed "s/^/env: /"
grep -E "^(Uid|Gid|Groups|CapEff):" /proc/self/status | sed "s/^/status: /"
sed "s/^/resolv: /" /etc/resolv.conf; sed "s/^/hosts: /" /etc/hosts
echo "etc-hostname: $(cat /etc/hostname)"; [ -L /etc/resolv.conf ] || echo resolv-replaced
grep -E " /(sys|proc|dev|dev/pts|dev/shm|dev/mqueue|tmp|run) " /proc/mounts |
	while read -r src dir type opts rest; do echo "mount: $dir $type ${opts%%,*}"; done
touch /srv/data/written && echo upper-ok'

echo "--- 1: user, groups, workdir, hostname, env, /etc, mounts, writable root"
{
	rec arg sh; rec arg -c; rec arg "$script"
	rec env PATH=/bin; rec env HOME=/home/app; rec env "GREETING=hello world"
	rec workdir /srv/data; rec uid 1000; rec gid 1000; rec groups 1000,27
	rec hostname img-t1; rec root "$loopdev"; rec fstype erofs
	rec dns 192.0.2.53; rec dns 2001:db8::53
} >"$work/root/ember/run"
boot "ember.ip=192.0.2.2/24 ember.hostname=ignored"
wait_for "doorbell WORKLOAD_EXIT 0" 10
halted 0
has "ember-init: image root: $loopdev (erofs, read-only) under a tmpfs overlay, workdir /srv/data"
grep -q "^ember-init: started /bin/sh (pid [0-9]*)" "$work/console" || fail "not /bin/sh"
has "id: uid=1000(app) gid=1000(app) groups=27(extra),1000(app)"
has "pwd: /srv/data"
has "hostname: img-t1"
# Exactly the env given, in order: nothing of ember-init's own.
[ "$(grep '^env: ' "$work/console")" = "env: PATH=/bin
env: HOME=/home/app
env: GREETING=hello world" ] || fail "env is not exactly the one given"
# Real, effective, saved and filesystem ids; no capability left.
has "status: Uid:	1000	1000	1000	1000"
has "status: Gid:	1000	1000	1000	1000"
has "status: Groups:	27 1000 "
has "status: CapEff:	0000000000000000"
[ "$(grep '^resolv: ' "$work/console")" = "resolv: nameserver 192.0.2.53
resolv: nameserver 2001:db8::53" ] || fail "resolv.conf"
has "resolv-replaced"
has "hosts: 127.0.0.1	localhost"
has "hosts: 192.0.2.2	img-t1"
grep -q "^hosts: image hosts" "$work/console" && fail "/etc/hosts is the image's"
has "etc-hostname: img-t1"
for m in "/proc proc" "/sys sysfs ro" "/dev devtmpfs" "/dev/pts devpts" "/dev/shm tmpfs" \
	"/dev/mqueue mqueue" "/tmp tmpfs" "/run tmpfs"; do
	grep -q "^mount: $m" "$work/console" || fail "no mount '$m'"
done
# The workdir is the image's (read-only): the write went to the overlay.
has "upper-ok"
echo "ok"

echo "--- 2: root, no PATH in the image (the default one), a missing workdir, writes anywhere"
{
	rec arg sh; rec arg -c
	rec arg 'echo "pwd: $(pwd)"; tr "\0" "\n" </proc/$$/environ | sed "s/^/env: /"
echo "uid: $(id -u)"; touch /etc/written /written-too && echo root-ok'
	rec workdir /new/dir; rec uid 0; rec gid 0; rec root "$loopdev"; rec fstype erofs
} >"$work/root/ember/run"
boot ""
halted 0
has "pwd: /new/dir"
[ "$(grep '^env: ' "$work/console")" = \
	"env: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ] ||
	fail "not the default PATH alone"
has "uid: 0"
has "root-ok"
echo "ok"

echo "--- 3: readiness on the first TCP port, SIGTERM"
{
	rec arg httpd; rec arg -f; rec arg -p; rec arg 7000; rec arg -h; rec arg /srv/www
	rec env PATH=/nope:/bin; rec uid 1000; rec gid 1000; rec root "$loopdev"; rec fstype erofs
	rec port 53/udp; rec port 7000/tcp; rec port 7001/tcp
} >"$work/root/ember/run"
boot "ember.ip=192.0.2.2/24 ember.port=8080"
wait_for "doorbell READY 7000" 10
out=$(ip netns exec "$cns" curl -s --max-time 5 http://192.0.2.2:7000/index.html)
[ "$out" = "from the image" ] || fail "GET from the image's httpd: '$out'"
kill -TERM "$(init_pid)"
wait_for "stopping the workload" 5
halted 143
echo "ok"

echo "--- 4: a program that is not there, one that cannot be run"
{
	rec arg nope; rec env PATH=/bin:/srv; rec uid 1000; rec gid 1000
	rec root "$loopdev"; rec fstype erofs
} >"$work/root/ember/run"
boot ""
halted 127
has "ember-init: cannot start nope (searched PATH=/bin:/srv): No such file or directory"
has "ember-init: doorbell WORKLOAD_EXIT 32512"
{
	rec arg noexec; rec env PATH=/bin:/srv; rec uid 1000; rec gid 1000
	rec root "$loopdev"; rec fstype erofs
} >"$work/root/ember/run"
boot ""
halted 127
has "ember-init: cannot start /srv/noexec (as uid 1000 gid 1000): Permission denied"
echo "ok"

echo "--- 5: a run config that is refused -> PANIC"
{
	rec arg sh; rec uid 1000; rec gid 1000; rec root "$loopdev"; rec fstype erofs; rec user app
} >"$work/root/ember/run"
boot ""
halted 255
has "ember-init: panic: /ember/run: record 6: unknown key 'user'"
has "ember-init: doorbell PANIC 22"
printf 'arg 100\nsh\n' >"$work/root/ember/run"
boot ""
halted 255
has "ember-init: panic: /ember/run: record 1 (arg): 100-byte value runs past the end of the file"
echo "ok"

echo "--- 6: the image is unchanged"
[ "$(sha256sum <"$work/image.erofs")" = "$sum_before" ] || fail "the image file changed"
echo "ok"
echo "PASS"
