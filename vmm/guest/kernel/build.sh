#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds (or takes from the cache) ember's guest kernel: vmlinux + bzImage.
#
# usage: build.sh OUTDIR
# Cache: $EMBER_CACHE/kernel/<hash>/{vmlinux,bzImage,config}; <hash> covers
# the config fragment, the patches, this script and the linux-source version.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
cache=${EMBER_CACHE:-$HOME/.cache/ember}/kernel
tarball=/usr/src/linux-source-6.1.tar.xz
frag=$here/ember.config
jobs=${EMBER_KERNEL_JOBS:-$(nproc)}

die() { echo "guest-kernel: error: $*" >&2; exit 1; }
say() { echo "  KERNEL   $*"; }

[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1)"
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1) || die "linux-source-6.1 not installed"

# The key covers what shapes the kernel: the fragment, the patches, the
# package version and the build recipe (the part of this script between the
# recipe markers), not the bookkeeping around it.
recipe=$(sed -n '/^# >>> recipe/,/^# <<< recipe/p' "$0")
hash=$( { cat "$frag"; for p in "$here"/patches/*.patch; do cat "$p"; done; echo "$ver";
	echo "$recipe"; } | sha256sum | cut -c1-16)
entry=$cache/$hash

# One build at a time per cache: two at once would share (and delete) the
# same work tree. A second caller waits, then finds the finished entry.
mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	say "waiting for another guest-kernel build to finish ($cache/.lock)"
	flock 9
fi

# >>> recipe
if [ ! -f "$entry/bzImage" ]; then
	t0=$(date +%s)
	work=$cache/work-$hash
	mkdir -p "$cache"
	src=$work/linux-source-6.1
	if [ ! -f "$work/.patched" ]; then
		rm -rf "$work"; mkdir -p "$work"
		say "extracting linux-source-6.1 $ver"
		tar -C "$work" -xf "$tarball"
		for p in "$here"/patches/*.patch; do
			say "patching $(basename "$p")"
			patch -s -p1 -d "$src" < "$p" || die "patch $p failed"
		done
		touch "$work/.patched"
	fi
	say "configuring (tinyconfig + $(basename "$frag"))"
	make -s -C "$src" tinyconfig >/dev/null
	(cd "$src" && ./scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null)
	make -s -C "$src" olddefconfig >/dev/null
	# Kconfig silently drops options whose dependencies are missing.
	bad=0
	grep -E '^(CONFIG_[A-Z0-9_]+=|# CONFIG_[A-Z0-9_]+ is not set)' "$frag" |
	while IFS= read -r line; do
		case $line in
		"# "*) opt=${line#\# }; opt=${opt%% *}
		       if grep -q "^$opt=" "$src/.config"; then echo "$opt: wanted off, is $(grep "^$opt=" "$src/.config")"; fi ;;
		*)     grep -qxF "$line" "$src/.config" || echo "$line: got '$(grep "^${line%%=*}=" "$src/.config" || echo unset)'" ;;
		esac
	done > "$work/config.mismatch"
	if [ -s "$work/config.mismatch" ]; then
		cat "$work/config.mismatch" >&2
		die "config fragment not honoured (see above)"
	fi
	say "building vmlinux + bzImage with -j$jobs (takes minutes)"
	make -C "$src" -j"$jobs" -s vmlinux bzImage || die "kernel build failed"
	tmp=$cache/tmp-$hash.$$
	rm -rf "$tmp"; mkdir -p "$tmp"
	cp "$src/vmlinux" "$src/arch/x86/boot/bzImage" "$tmp/"
	cp "$src/.config" "$tmp/config"
	rm -rf "$entry"; mv "$tmp" "$entry"
	rm -rf "$work"
	say "done in $(( $(date +%s) - t0 )) s -> $entry"
else
	say "cached $entry"
fi
# <<< recipe
mkdir -p "$out"
for f in vmlinux bzImage config; do
	[ "$out/$f" -ef "$entry/$f" ] && continue # already this entry's file
	ln -f "$entry/$f" "$out/$f.tmp" 2>/dev/null || cp "$entry/$f" "$out/$f.tmp"
	mv -f "$out/$f.tmp" "$out/$f"
done
