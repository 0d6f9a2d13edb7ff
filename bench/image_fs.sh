#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Root filesystem benchmark: the same image-sized tree made into erofs (plain
# and lz4hc) and into ext4 with the arguments rootfs_build() uses, timing each
# tool and printing the image sizes, to choose between them (docs/images.md).
#
# The tree stands for the redis image: redis-server, redis-tools, libjemalloc2
# and liblzf1 (apt-get download, dpkg-deb -x) over a slice of this machine's
# /etc, /usr/sbin, /usr/bin, /usr/lib/x86_64-linux-gnu and /usr/share of about
# a debian-slim base's size (EMBER_BENCH_TREE_MB, default 128, counts both).
# Without network the redis packages are left out and said so on stderr.
#
# Prints name=value lines (bench/run.sh protocol). Times are the tools' wall
# clock into the page cache (no fsync), one run each; sizes are apparent bytes
# (ext4 leaves its free blocks as holes: ext4_alloc_bytes is what it uses).
set -u
cd "$(dirname "$0")/.." || exit 1

TREE_MB=${EMBER_BENCH_TREE_MB:-128}
WORK=$(mktemp -d /var/tmp/ember-bench-fs.XXXXXX) || exit 1
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT" "$WORK/debs"

fail() {
	echo "image_fs: $*" >&2
	exit 1
}
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
for t in mkfs.erofs mke2fs; do
	command -v "$t" >/dev/null || fail "$t is missing (erofs-utils, e2fsprogs)"
done

# The redis packages, unpacked as an image layer would put them.
redis_layer() {
	if ! (cd "$WORK/debs" && apt-get download -q redis-server redis-tools libjemalloc2 \
		liblzf1 >/dev/null 2>&1); then
		echo "image_fs: apt-get download failed: the tree has no redis" >&2
		return
	fi
	for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$ROOT"; done
}

# Copies files of (dir) in find's order while they fit in (mb) MiB, keeping owners and modes.
base_slice() {
	find "$1" -xdev \( -type f -o -type l \) -printf '%s\t%p\n' 2>/dev/null |
		awk -F'\t' -v max=$(($2 << 20)) 'n + $1 <= max { n += $1; print $2 }' \
			>"$WORK/list"
	tar -cf - --no-recursion -T "$WORK/list" 2>/dev/null | tar -xpf - -C "$ROOT"
}

redis_layer
share=$((TREE_MB - $(du -sm "$ROOT" | cut -f1)))
base_slice /etc $((share * 4 / 100))
base_slice /usr/sbin $((share * 8 / 100))
base_slice /usr/bin $((share * 30 / 100))
base_slice /usr/lib/x86_64-linux-gnu $((share * 43 / 100))
base_slice /usr/share $((share * 15 / 100))
echo "kvm=none" # host tools only, no guest
echo "tree_bytes=$(du -sb --apparent-size "$ROOT" | cut -f1)"
echo "tree_files=$(find "$ROOT" | wc -l)"
[ -x "$ROOT/usr/bin/redis-server" ] && echo "tree_has_redis=1" || echo "tree_has_redis=0"
sync

# erofs as rootfs_build() runs it: uncompressed, then with -zlz4hc.
t0=$(date +%s%N)
mkfs.erofs --quiet "$WORK/plain.erofs" "$ROOT" || fail "mkfs.erofs failed"
echo "erofs_build_ms=$(ms "$t0")"
echo "erofs_bytes=$(stat -c %s "$WORK/plain.erofs")"
t0=$(date +%s%N)
mkfs.erofs --quiet -zlz4hc "$WORK/lz4hc.erofs" "$ROOT" || fail "mkfs.erofs -zlz4hc failed"
echo "erofs_lz4hc_build_ms=$(ms "$t0")"
echo "erofs_lz4hc_bytes=$(stat -c %s "$WORK/lz4hc.erofs")"

# ext4 sized as rootfs_mkfs.c sizes it: the tree's 4 KiB blocks plus an eighth
# plus 16 MiB plus an inode's sixteenth of a block; an eighth more inodes.
read -r blocks inodes < <(find "$ROOT" \( -type f -o -type d -o -type l \) -printf '%s\n' |
	awk '{ b += int(($1 + 4095) / 4096); n++ } END { print b, n }')
size=$((blocks + blocks / 8 + 4096 + inodes / 16))
t0=$(date +%s%N)
mke2fs -t ext4 -d "$ROOT" -F -q -b 4096 -I 256 -N $((inodes + inodes / 8 + 64)) -m 0 \
	-O ^has_journal -E root_owner=0:0 "$WORK/fs.ext4" "$size" >/dev/null || fail "mke2fs failed"
echo "ext4_build_ms=$(ms "$t0")"
echo "ext4_bytes=$(stat -c %s "$WORK/fs.ext4")"
echo "ext4_alloc_bytes=$(($(stat -c %b "$WORK/fs.ext4") * 512))"
