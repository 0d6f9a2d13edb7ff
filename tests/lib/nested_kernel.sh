# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The L1 kernel of tests/lib/nested.sh: one of Debian's own kernel packages,
# fetched with apt-get download (never installed) and cut down in the cache to
# what the L1 needs: vmlinuz and the modules below, uncompressed, in load order.
#
# Source it, then: l1_kernel SERIES -> sets L1_VMLINUZ and L1_MODS (a folder
# holding NAME.ko files and "order", one NAME per line, dependencies first).
#   SERIES 6.12: bookworm-backports' linux-image-amd64 (the default: 6.1's
#                nested SVM wedged or panicked the L1 under VM churn, see
#                docs/testing.md);
#   SERIES 6.1:  Debian 12's own linux-image-amd64, from the system's lists.
# Needs: nested_die (prints and exits), EMBER_CACHE.

# Load order, dependencies first. A trailing '?' marks a module that newer
# kernels no longer have (fscache went into netfs in 6.8); a module missing
# from the package is fine when modules.builtin lists it (6.12 builds virtio in).
L1_MOD_PATHS="virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp
 arch/x86/kvm/kvm-amd drivers/net/tun drivers/net/veth drivers/virtio/virtio_ring
 drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
 drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci fs/netfs/netfs
 fs/fscache/fscache? net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p"

# l1_apt_opts SERIES: apt-get options that read the series' package lists.
# bookworm-backports gets lists of its own in the cache, so the system's
# sources and lists are never touched.
l1_apt_opts() {
	local dir=$EMBER_CACHE/nested/apt-bookworm-backports
	[ "$1" = 6.1 ] && return 0
	echo "-o Dir::Etc::sourcelist=$dir/sources.list -o Dir::Etc::sourceparts=/dev/null" \
		"-o Dir::State::Lists=$dir/lists -o APT::Sandbox::User=root"
}

# l1_apt_update SERIES: fetch bookworm-backports' lists, at most once a day.
l1_apt_update() {
	local dir=$EMBER_CACHE/nested/apt-bookworm-backports
	[ "$1" = 6.1 ] && return 0
	[ -n "$(find "$dir/updated" -mtime -1 2>/dev/null)" ] && return 0
	mkdir -p "$dir/lists/partial" || nested_die "cannot create $dir"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
		"http://deb.debian.org/debian bookworm-backports main" >"$dir/sources.list"
	# shellcheck disable=SC2046
	if apt-get $(l1_apt_opts "$1") update -q >"$dir/update.log" 2>&1; then
		touch "$dir/updated"
	else
		echo "nested: apt-get update of bookworm-backports failed (see $dir/update.log)" >&2
	fi
}

# l1_kernel_version SERIES: the package version linux-image-amd64 points at,
# or (offline) the newest one of the series already in the cache.
l1_kernel_version() {
	local opts ver
	case $1 in 6.1 | 6.12) ;; *) nested_die "EMBER_NESTED_KERNEL=$1: use 6.12 or 6.1" ;; esac
	l1_apt_update "$1"
	opts=$(l1_apt_opts "$1")
	# shellcheck disable=SC2086
	ver=$(apt-cache $opts depends linux-image-amd64 2>/dev/null |
		sed -n "s/.*Depends: linux-image-\($1\.[0-9].*\)/\1/p" | head -n1)
	[ -n "$ver" ] && { echo "$ver"; return; }
	ver=$(ls -d "$EMBER_CACHE/nested/l1-$1".[0-9]*/.done 2>/dev/null | sort -V | tail -n1)
	[ -n "$ver" ] || nested_die "cannot resolve linux-image-amd64 of series $1 (apt-get update?)"
	ver=${ver%/.done}
	echo "${ver#"$EMBER_CACHE/nested/l1-"}"
}

# l1_unpack SERIES VERSION DIR: download the package, keep vmlinuz and modules.
l1_unpack() {
	local opts x m f name ko
	opts=$(l1_apt_opts "$1")
	echo "nested: fetching Debian's linux-image-$2 for the L1 VM" >&2
	rm -rf "$3" && mkdir -p "$3/mods" || nested_die "cannot create $3"
	# shellcheck disable=SC2086
	(cd "$3" && apt-get $opts download -q "linux-image-$2" >/dev/null 2>&1) ||
		nested_die "apt-get download linux-image-$2 failed"
	x=$3/x
	dpkg-deb -x "$3"/linux-image-*.deb "$x" || nested_die "cannot unpack linux-image-$2"
	cp "$x"/boot/vmlinuz-* "$3/vmlinuz" || nested_die "no vmlinuz in linux-image-$2"
	m=$(ls -d "$x"/lib/modules/*)
	for f in $L1_MOD_PATHS; do
		ko=$m/kernel/${f%\?}.ko
		name=$(basename "$ko" .ko)
		if [ -f "$ko" ]; then
			cp "$ko" "$3/mods/$name.ko"
		elif [ -f "$ko.xz" ]; then
			xz -dc "$ko.xz" >"$3/mods/$name.ko" # busybox insmod takes plain .ko
		elif grep -q "/$name.ko\$" "$m/modules.builtin" || [ "${f%\?}" != "$f" ]; then
			continue
		else
			nested_die "module $name is neither in linux-image-$2 nor built in"
		fi || nested_die "cannot copy $name.ko"
		echo "$name" >>"$3/mods/order"
	done
	rm -rf "$x" "$3"/*.deb
	touch "$3/.done"
}

l1_kernel() {
	local ver dir
	# One fetch at a time per cache: another nested.sh waits, then finds it.
	mkdir -p "$EMBER_CACHE/nested" && exec 8>"$EMBER_CACHE/nested/.lock" && flock 8 ||
		nested_die "cannot lock $EMBER_CACHE/nested"
	ver=$(l1_kernel_version "$1") || exit 1
	dir=$EMBER_CACHE/nested/l1-$ver
	[ -f "$dir/.done" ] || l1_unpack "$1" "$ver" "$dir"
	L1_VMLINUZ=$dir/vmlinuz
	L1_MODS=$dir/mods
	[ -f "$L1_VMLINUZ" ] && [ -s "$L1_MODS/order" ] || nested_die "L1 kernel incomplete in $dir"
	exec 8>&-
}
