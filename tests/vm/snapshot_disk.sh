#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Snapshots of a guest with virtio-blk disks: the demo guest boots from an
# ext4 root image (--disk IMG,ro, ember.root=/dev/vda; made with mkfs.ext4 -d,
# no loop mount) with a second, copy-on-write raw disk that its workload
# writes two pages to (busybox dd, then exec ember-demo) before READY; the
# ready-point snapshot must hold exactly those pages in DIR/disk<slot>. Then
# the refusals (exit 1, one line naming the reason): no --disk, one --disk
# too few, the wrong mode, another image of the same size (mtime put back),
# the image touched after the snapshot, the overlay missing, truncated or with
# a changed page. Last, a clone restored with the same --disk options answers
# GET /, an on-demand snapshot of the clone carries the written pages on, and
# neither image file was ever modified.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh

guest_require
command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 is missing (e2fsprogs: make deps)"
for f in build/guest/ember-demo build/tests/ctl /bin/busybox; do
	[ -x "$f" ] || fail "$f is missing (make all guest; busybox-static: make deps)"
done
guest_net_setup
BOOT_TIMEOUT=${EMBER_BOOT_TIMEOUT:-600}
SNAP=$GUEST_WORK/snap
IMG=$GUEST_WORK/root.img
DATA=$GUEST_WORK/data.img
CLONE_PID=""

disk_cleanup() {
	if [ -n "$CLONE_PID" ]; then
		kill "$CLONE_PID" 2>/dev/null
		sleep 0.2
		kill -9 "$CLONE_PID" 2>/dev/null
	fi
	guest_cleanup
}
trap disk_cleanup EXIT

# --- the disks: an ext4 root holding the demo and a static busybox, a raw data disk
mkdir -p "$GUEST_WORK/rootfs/bin"
cp build/guest/ember-demo /bin/busybox "$GUEST_WORK/rootfs/bin/" || fail "cannot stage the root"
mkfs.ext4 -q -F -d "$GUEST_WORK/rootfs" "$IMG" 16M >/dev/null || fail "mkfs.ext4 failed"
truncate -s 4M "$DATA" || fail "cannot create the data disk"
img_sum=$(sha256sum <"$IMG")
data_sum=$(sha256sum <"$DATA")

# --- 1. boot; the workload writes pages 3 and 4 of /dev/vdb, then becomes the demo
# Slots: 0 net, 1 root (ro), 2 data (cow): the overlay is DIR/disk2.
WRITER="/bin/busybox dd if=/bin/ember-demo of=/dev/vdb bs=4096 count=2 seek=3 conv=fsync"
WRITER="$WRITER && exec /bin/ember-demo --exit-after=2"
t0=$(date +%s)
guest_start --mem 256M --disk "$IMG,ro" --disk "$DATA,cow" --snapshot-dir "$SNAP" \
	--snapshot-on-ready --cmdline "$(guest_cmdline ember.root=/dev/vda \
	ember.exec=/bin/busybox ember.arg=sh ember.arg=-c "ember.arg=\"$WRITER\"")"
echo "ember-vmm pid $VMM_PID, kvm=$(guest_kvm_kind); waiting for READY + snapshot"
guest_wait_event ready "$BOOT_TIMEOUT"
guest_wait_event snapshot 120
wait "$VMM_PID"
rc=$?
VMM_PID=""
[ "$rc" = 0 ] || { tail -n 20 "$GUEST_WORK/vmm.log"; fail "ember-vmm exited $rc after the snapshot"; }
# READY came from a workload only the disk has (the initramfs has no busybox):
# ember-init mounted /dev/vda as the root.
echo "ok: booted from the ext4 disk, snapshot written after $(($(date +%s) - t0)) s"

# --- 2. the overlay: only the cow disk has one, holding exactly the two written pages
OV=$SNAP/disk2
[ -f "$OV" ] || fail "no overlay $OV for the cow disk"
[ -e "$SNAP/disk1" ] && fail "an overlay was written for the read-only disk"
u64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; } # FILE OFFSET
[ "$(head -c 8 "$OV")" = EMBRDISK ] || fail "overlay magic is not EMBRDISK"
pages=$(u64 "$OV" 24)
data_off=$(u64 "$OV" 48)
[ "$pages" = 2 ] || fail "overlay holds $pages pages, the guest wrote 2"
[ "$(stat -c %s "$OV")" = $((data_off + (4 << 20))) ] || fail "overlay size is not data_off + 4 MiB"
used=$(($(stat -c %b "$OV") * $(stat -c %B "$OV")))
[ "$used" -le $((data_off + 4 * 4096)) ] || fail "overlay is not sparse ($used bytes allocated)"
page_cmp() { # OVERLAY WHO: pages 3 and 4 hold the first 8 KiB of ember-demo
	# (temporary files: the nested VM's /dev has no /dev/fd for <(...))
	dd if="$1" bs=4096 skip=$(($(u64 "$1" 48) / 4096 + 3)) count=2 status=none \
		>"$GUEST_WORK/pages"
	head -c 8192 build/guest/ember-demo >"$GUEST_WORK/want"
	cmp -s "$GUEST_WORK/pages" "$GUEST_WORK/want" || fail "$2: pages 3-4 are not what the guest wrote"
}
page_cmp "$OV" "snapshot overlay"
echo "ok: overlay $OV: 2 pages (the guest's writes), $used bytes allocated of $(stat -c %s "$OV")"

# --- 3. refusals, before anything runs
refused() { # NAME PATTERN DIR ARGS...
	local name=$1 pat=$2 dir=$3 rc
	shift 3
	ip netns exec "$GUEST_NS" build/bin/ember-vmm restore --snapshot-dir "$dir" \
		--net "tap=$GUEST_TAP" --console none "$@" 2>"$GUEST_WORK/refuse.log" &
	CLONE_PID=$!
	wait "$CLONE_PID"
	rc=$?
	CLONE_PID=""
	[ "$rc" = 1 ] || { cat "$GUEST_WORK/refuse.log"; fail "$name: exit status $rc, want 1"; }
	[ "$(wc -l <"$GUEST_WORK/refuse.log")" = 1 ] ||
		{ cat "$GUEST_WORK/refuse.log"; fail "$name: not a one-line message"; }
	grep -qF -- "$pat" "$GUEST_WORK/refuse.log" ||
		{ cat "$GUEST_WORK/refuse.log"; fail "$name: message does not say '$pat'"; }
	echo "ok: $name refused: $(cat "$GUEST_WORK/refuse.log")"
}
# A snapshot directory sharing the memory file (a symlink keeps its identity) and the state.
snapdir() { # NAME: prints the new directory
	local d=$GUEST_WORK/$1
	mkdir -p "$d" && ln -sf "$SNAP/memory" "$d/memory" && cp -a "$SNAP/state" "$d/" && echo "$d"
}

refused "no --disk" "has 2 virtio-blk device(s): give as many --disk" "$SNAP"
refused "one --disk too few" "give as many --disk" "$SNAP" --disk "$IMG,ro"
refused "ro disk given as cow" "has it ro, restore asks for cow" "$SNAP" \
	--disk "$IMG,cow" --disk "$DATA,cow"
refused "cow disk given as ro" "has it cow, restore asks for ro" "$SNAP" \
	--disk "$IMG,ro" --disk "$DATA,ro"
mkfs.ext4 -q -F -d "$GUEST_WORK/rootfs" "$GUEST_WORK/other.img" 16M >/dev/null &&
	touch -r "$IMG" "$GUEST_WORK/other.img" || fail "cannot make the other image"
refused "another image of the same size" "is not the snapshot's image (content differs)" "$SNAP" \
	--disk "$GUEST_WORK/other.img,ro" --disk "$DATA,cow"
cp -a "$IMG" "$GUEST_WORK/touched.img" && touch "$GUEST_WORK/touched.img" || fail "cp failed"
refused "image modified after the snapshot" "was modified after the snapshot" "$SNAP" \
	--disk "$GUEST_WORK/touched.img,ro" --disk "$DATA,cow"
d=$(snapdir no-overlay) || fail "cannot copy the snapshot"
refused "missing overlay" "disk2: No such file or directory" "$d" --disk "$IMG,ro" --disk "$DATA,cow"
d=$(snapdir short-overlay) && cp -a "$OV" "$d/" && truncate -s -4096 "$d/disk2" || fail "copy"
refused "truncated overlay" "(truncated)" "$d" --disk "$IMG,ro" --disk "$DATA,cow"
d=$(snapdir bad-overlay) && cp -a "$OV" "$d/" &&
	printf 'x' | dd of="$d/disk2" bs=1 seek=$((data_off + 3 * 4096 + 100)) conv=notrunc status=none ||
	fail "copy"
refused "overlay page changed" "content differs from the snapshot" "$d" \
	--disk "$IMG,ro" --disk "$DATA,cow"

# --- 4. a clone on the same disks serves; its own snapshot carries the pages on
ip netns exec "$GUEST_NS" build/bin/ember-vmm restore --snapshot-dir "$SNAP" \
	--net "tap=$GUEST_TAP" --disk "$IMG,ro" --disk "$DATA,cow" \
	--control "$GUEST_WORK/ctl.sock" --console "$GUEST_WORK/console-clone.log" \
	--events "$GUEST_WORK/events-clone" 2>"$GUEST_WORK/vmm-clone.log" &
CLONE_PID=$!
for _ in $(seq 1 600); do
	grep -q '^refreshed ' "$GUEST_WORK/events-clone" 2>/dev/null && break
	kill -0 "$CLONE_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q '^refreshed ' "$GUEST_WORK/events-clone" 2>/dev/null ||
	{ cat "$GUEST_WORK/vmm-clone.log"; fail "the clone did not restore and refresh"; }
body=$(ip netns exec "$GUEST_NS" build/tests/http_get -t 30000 "$GUEST_IP" 80 /) ||
	{ tail -n 20 "$GUEST_WORK/vmm-clone.log"; fail "the clone: GET / failed"; }
case $body in
ember-demo*) echo "ok: the clone answered GET /: $body" ;;
*) fail "the clone answered something else: '$body'" ;;
esac
build/tests/ctl "$GUEST_WORK/ctl.sock" "snapshot $GUEST_WORK/snap2" >/dev/null ||
	fail "on-demand snapshot of the clone failed"
[ "$(u64 "$GUEST_WORK/snap2/disk2" 24)" = 2 ] || fail "the clone's snapshot lost the written pages"
page_cmp "$GUEST_WORK/snap2/disk2" "the clone's snapshot"
echo "ok: the clone's own snapshot carries the 2 written pages on"
ip netns exec "$GUEST_NS" build/tests/http_get -t 30000 "$GUEST_IP" 80 / >/dev/null ||
	fail "the clone: second GET / failed"
wait "$CLONE_PID"
rc=$?
CLONE_PID=""
[ "$rc" = 0 ] || { tail -n 20 "$GUEST_WORK/vmm-clone.log"; fail "the clone exited $rc"; }
[ "$(sha256sum <"$IMG")" = "$img_sum" ] || fail "the root image was modified"
[ "$(sha256sum <"$DATA")" = "$data_sum" ] || fail "the cow disk's image was modified"
echo "ok: the clone served 2 requests and powered off (exit 0); both image files unchanged"
echo "ok: whole test $(($(date +%s) - t0)) s"
echo "PASS"
