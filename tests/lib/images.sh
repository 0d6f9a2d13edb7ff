# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The test and demo OCI images (probe, redis, demo), built offline with umoci
# from this machine's Debian packages and cached outside the tree.
#
# Source it, then:
#   image_layout KIND          prints the OCI layout directory of KIND, tagged
#                              "latest" (built once per input hash)
#   image_archive KIND FORMAT  prints a tar of the same image, FORMAT
#                              oci-archive or docker-archive (skopeo)
# Progress goes to stderr; a missing tool or package is a message there and
# status 1 (the caller decides between skip and fail), a bad argument 2.
# The kinds and the cache: docs/images.md, "Test images".

IMG_KINDS="probe redis demo"
IMG_SELF=$(readlink -f "${BASH_SOURCE[0]}")
IMG_CONFIG=() # the kind's `umoci config` options, set by _img_config_KIND

_img_err() { echo "images: $*" >&2; }
_img_cache() { echo "${EMBER_CACHE:-$HOME/.cache/ember}/images"; }

# _img_need KIND: the tools and packages KIND is built from, or a message.
_img_need() {
	local t p pkgs=(busybox-static)
	[ "$1" = redis ] && pkgs=(redis-tools)
	for t in umoci dpkg-query dpkg ldd flock sha256sum; do
		command -v "$t" >/dev/null || { _img_err "the $1 image needs $t (make deps installs it)"; return 1; }
	done
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || {
			_img_err "the $1 image needs the Debian package $p (make deps, or apt-get install $p)"
			return 1
		}
	done
}

# _img_files KIND: "SOURCE DEST" lines, the host files that go into the image
# (SOURCE a real file, DEST its path in the image).
_img_files() {
	case $1 in
	probe | demo) echo "$(readlink -f /bin/busybox) /bin/busybox" ;;
	redis) _img_redis_files ;;
	esac
}

# redis-server and every library ldd names, at real paths in the image:
# Debian 12's /lib is a symlink to usr/lib, and a layer must not write
# through a symlink, so the libraries go to /usr/lib/... and the loader is a
# real file at the path the binary names (/lib64/ld-linux-x86-64.so.2).
# redis is one binary that picks its mode from argv[0]: redis-tools ships it
# as redis-check-rdb (the redis-server package only adds a symlink and a
# system service, which a test machine does not want running), and it goes
# in under the server's name.
_img_redis_files() {
	local bin out name arrow path _
	bin=$(readlink -f /usr/bin/redis-check-rdb)
	[ -f "$bin" ] || { _img_err "/usr/bin/redis-check-rdb is missing (redis-tools)"; return 1; }
	out=$(LC_ALL=C ldd "$bin") || { _img_err "ldd $bin failed"; return 1; }
	if grep -q 'not found' <<<"$out"; then
		_img_err "$bin: libraries not found: $(grep 'not found' <<<"$out" | tr -s '\t\n' '  ')"
		return 1
	fi
	echo "$bin /usr/bin/redis-server"
	while read -r name arrow path _; do
		if [ "$arrow" = "=>" ]; then
			case $path in
			/usr/*) echo "$(readlink -f "$path") $path" ;;
			/*) echo "$(readlink -f "$path") /usr$path" ;;
			esac
		elif [ "${name#/}" != "$name" ]; then
			echo "$(readlink -f "$name") $name" # the loader (linux-vdso has no path)
		fi
	done <<<"$out"
}

# _img_pkgs KIND FILES: the packages whose files go in. busybox comes from
# busybox-static (_img_need checked it, and it conflicts with busybox); the
# owners of redis' libraries are asked of dpkg, which knows a file by the
# path its package shipped (/lib/... or /usr/lib/... under merged /usr), so
# both forms are asked for.
_img_pkgs() {
	local f src dest paths=()
	[ "$1" = redis ] || { echo busybox-static; return 0; }
	while read -r src dest; do
		[ -n "$src" ] || continue
		for f in "$src" "$dest"; do
			paths+=("$f")
			case $f in /usr/*) paths+=("${f#/usr}") ;; *) paths+=("/usr$f") ;; esac
		done
	done <<<"$2"
	{ dpkg -S "${paths[@]}" 2>/dev/null || true; } | sed 's/: .*//; s/, /\n/g' | sed 's/:.*//' | sort -u
}

# _img_hash KIND: 16 hex digits of everything the image is made from: this
# file, umoci's version, the packages' versions, the files' sizes and mtimes.
_img_hash() {
	local - files pkgs src _
	set -o pipefail
	files=$(_img_files "$1") || return 1
	pkgs=$(_img_pkgs "$1" "$files") || return 1
	{
		echo "kind $1"
		cat "$IMG_SELF"
		umoci --version
		# word splitting wanted: one package name per word
		# shellcheck disable=SC2086
		dpkg-query -W -f '${Package} ${Version}\n' $pkgs
		echo "$files"
		while read -r src _; do stat -c '%n %s %Y' "$src"; done <<<"$files"
	} | sha256sum | cut -c1-16
}

# _img_copy ROOTFS: the "SOURCE DEST" lines on stdin copied in, root-owned,
# modes kept.
_img_copy() {
	local src dest
	while read -r src dest; do
		mkdir -p "$1${dest%/*}" && cp -L --preserve=mode "$src" "$1$dest" &&
			chown 0:0 "$1$dest" || return 1
	done
}

# _img_skeleton ROOTFS: the directories every image has (the guest mounts on
# them; /tmp is a tmpfs there, 1777 here for a chroot).
_img_skeleton() {
	mkdir -p "$1"/{etc,dev,proc,sys,run,tmp} && chmod 1777 "$1/tmp"
}

# _img_users ROOTFS [PASSWD_LINE...]: /etc/passwd with root and the lines,
# /etc/group with root and each line's primary group named as its user.
_img_users() {
	local r=$1 line
	shift
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd" &&
		echo 'root:x:0:' >"$r/etc/group" || return 1
	for line; do
		echo "$line" >>"$r/etc/passwd"
		echo "${line%%:*}:x:$(cut -d: -f4 <<<"$line"):" >>"$r/etc/group"
	done
	chmod 0644 "$r/etc/passwd" "$r/etc/group"
}

# --- probe: what a process started from an image sees, over HTTP ---
_img_fill_probe() {
	local r=$1 a
	mkdir -p "$r"/{bin,root,home/app,srv/work,srv/www/cgi-bin} && chmod 0700 "$r/root" &&
		chown 1000:1000 "$r/home/app" || return 1
	for a in cat echo env hostname httpd id ls mkdir printf pwd sed sh sleep sort tr wget; do
		ln -s busybox "$r/bin/$a" || return 1
	done
	_img_users "$r" 'app:x:1000:1000:app:/home/app:/bin/sh' || return 1
	echo 'probe image: GET /cgi-bin/probe for what the process saw' >"$r/srv/www/index.html"
	cat >"$r/bin/probe-start" <<-'EOF'
		#!/bin/sh
		# The probe image's entrypoint: records how this process was started
		# in /tmp/probe (argv, ids, cwd, hostname, env), then serves /srv/www
		# on port 8080, where /cgi-bin/probe answers with the record.
		d=/tmp/probe
		mkdir -p "$d" || exit 1
		# The env as exec'd: the shell's own `env` would add SHLVL and PWD.
		if [ -r /proc/$$/environ ]; then
			tr '\0' '\n' </proc/$$/environ | sort >"$d/env"
			echo proc >"$d/envsrc"
		else
			env | sort >"$d/env"
			echo shell >"$d/envsrc"
		fi
		printf '%s\n' "$0" "$@" >"$d/argv"
		echo "$#" >"$d/argc"
		id -u >"$d/uid"
		id -g >"$d/gid"
		id -G >"$d/groups"
		pwd >"$d/cwd"
		hostname >"$d/hostname"
		echo "probe: started as uid $(cat "$d/uid") in $(cat "$d/cwd"), serving :8080"
		exec busybox httpd -f -p 8080 -h /srv/www
	EOF
	cat >"$r/srv/www/cgi-bin/probe" <<-'EOF'
		#!/bin/sh
		# What /bin/probe-start recorded, one key=value per line: argv0..argvN
		# (one per argument, argv0 the program), argc (arguments after
		# argv0), uid, gid, groups (id -G), cwd, hostname, envsrc (proc:
		# exactly the exec'd env; shell: as busybox sh saw it), then one
		# env:NAME=VALUE line per variable, sorted.
		d=/tmp/probe
		printf 'Content-Type: text/plain\r\n\r\n'
		[ -f "$d/argc" ] || { echo "error=nothing recorded in $d"; exit 0; }
		i=0
		while IFS= read -r a; do
			printf 'argv%d=%s\n' "$i" "$a"
			i=$((i + 1))
		done <"$d/argv"
		for k in argc uid gid groups cwd hostname envsrc; do
			printf '%s=%s\n' "$k" "$(cat "$d/$k")"
		done
		sed 's/^/env:/' "$d/env"
	EOF
	cat >"$r/srv/www/cgi-bin/slow" <<-'EOF'
		#!/bin/sh
		# GET /cgi-bin/slow?N: answers "slept N" after N seconds (0-60) of
		# silence on the connection: a request the guest is still working on.
		n=${QUERY_STRING:-1}
		case $n in '' | *[!0-9]*) n=1 ;; esac
		[ "$n" -le 60 ] || n=60
		sleep "$n"
		printf 'Content-Type: text/plain\r\n\r\nslept %s\n' "$n"
	EOF
	chmod 0755 "$r/bin/probe-start" "$r/srv/www/cgi-bin/probe" "$r/srv/www/cgi-bin/slow"
}

_img_config_probe() {
	IMG_CONFIG=(--config.env PATH=/bin --config.env "GREETING=hello world"
		--config.env PROBE_MODE=image --config.workingdir /srv/work
		--config.user 1000:1000 --config.entrypoint /bin/probe-start
		--config.cmd one --config.cmd "two words" --config.exposedports 8080/tcp)
}

# --- redis: Debian's redis-server with its libraries ---
_img_fill_redis() {
	_img_users "$1" || return 1
	# Missing libraries show here, not in a guest: a broken image is never cached.
	chroot "$1" /usr/bin/redis-server --version >/dev/null ||
		{ _img_err "redis-server does not run in the image's root"; return 1; }
}

_img_config_redis() {
	IMG_CONFIG=(--config.entrypoint redis-server --config.entrypoint --protected-mode
		--config.entrypoint no --config.exposedports 6379/tcp
		--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
}

# --- demo: the tenant `make run` shows, busybox httpd serving one page ---
_img_fill_demo() {
	mkdir -p "$1/srv/www" && echo 'hello from ember' >"$1/srv/www/index.html" &&
		_img_users "$1"
}

_img_config_demo() {
	IMG_CONFIG=(--config.env PATH=/bin --config.exposedports 80/tcp
		--config.entrypoint /bin/busybox --config.entrypoint httpd --config.entrypoint -f
		--config.entrypoint -p --config.entrypoint 80 --config.entrypoint -h
		--config.entrypoint /srv/www)
}

# _img_umoci KIND TMP: the image as TMP/layout: an empty image unpacked into
# a bundle, the files put in, repacked as one layer (not `umoci insert`:
# umoci 0.4.7's insert writes a tar without padding and end blocks, which
# ember's layer reader refuses), configured, unreferenced blobs dropped.
_img_umoci() {
	local l=$2/layout b=$2/bundle
	umoci init --layout "$l" && umoci new --image "$l:latest" &&
		umoci unpack --image "$l:latest" "$b" >/dev/null &&
		_img_skeleton "$b/rootfs" && _img_files "$1" | _img_copy "$b/rootfs" &&
		"_img_fill_$1" "$b/rootfs" &&
		umoci repack --image "$l:latest" "$b" && "_img_config_$1" &&
		umoci config --image "$l:latest" --os linux --architecture amd64 "${IMG_CONFIG[@]}" &&
		umoci gc --layout "$l" && rm -rf "$b" &&
		find "$l" -type f -exec sync -- {} + && sync -- "$l/blobs/sha256" "$l"
}

# _img_build KIND CACHE DIR: builds KIND into a temporary directory next to
# DIR and renames it into place. The caller holds KIND's lock, so any other
# temporary directory of KIND is a killed build's: removed. Directories of
# KIND's other hashes go once nothing has used them for a day (another
# checkout may build from another version of this file).
_img_build() {
	local kind=$1 cache=$2 dir=$3 tmp old start=$SECONDS
	rm -rf "$cache/.tmp-$kind-"*
	echo "building image $kind (cached at $dir)" >&2
	tmp=$(mktemp -d "$cache/.tmp-$kind-XXXXXX") || return 1
	if ! (umask 022 && set -o pipefail && _img_umoci "$kind" "$tmp") >&2; then
		rm -rf "$tmp"
		_img_err "building the $kind image failed"
		return 1
	fi
	if ! { chmod 0755 "$tmp" && mv -T "$tmp" "$dir"; }; then
		rm -rf "$tmp"
		return 1
	fi
	echo "built image $kind in $((SECONDS - start)) s" >&2
	find "$cache" -mindepth 1 -maxdepth 1 -type d -name "$kind-*" -mmin +1440 |
		while read -r old; do
			[ "$old" = "$dir" ] && continue
			mv -T "$old" "$cache/.tmp-$kind-old-${old##*-}" && rm -rf "$cache/.tmp-$kind-old-${old##*-}"
		done
	return 0
}

_img_kind() {
	[[ " $IMG_KINDS " == *" ${1:-} "* ]] && [ -n "${1:-}" ] && return 0
	_img_err "unknown image kind '${1:-}' (kinds: $IMG_KINDS)"
	return 2
}

# image_layout KIND: prints the OCI layout directory of KIND (tag "latest"),
# CACHE/images/KIND-HASH/layout, building it first if no build of these
# inputs is cached. 1 with a message when it cannot be built.
image_layout() {
	local kind=${1:-} cache hash dir
	_img_kind "$kind" || return
	_img_need "$kind" || return 1
	cache=$(_img_cache)
	hash=$(_img_hash "$kind") || { _img_err "cannot hash the $kind image's inputs"; return 1; }
	dir=$cache/$kind-$hash
	if [ ! -f "$dir/layout/index.json" ]; then
		[ "$(id -u)" = 0 ] || { _img_err "building the $kind image needs root (root-owned files)"; return 1; }
		mkdir -p "$cache" || return 1
		# One build per kind at a time; a waiter finds the winner's result.
		(
			flock 9 || exit 1
			[ -f "$dir/layout/index.json" ] || _img_build "$kind" "$cache" "$dir"
		) 9>>"$cache/.$kind.lock" || return 1
	fi
	touch "$dir" 2>/dev/null # last use, for the pruning of old hashes
	echo "$dir/layout"
}

# image_archive KIND FORMAT: prints CACHE/images/KIND-HASH/KIND.FORMAT.tar,
# the image as an oci-archive or docker-archive tar tagged KIND:latest,
# written with skopeo next to the layout the first time.
image_archive() {
	local kind=${1:-} format=${2:-} layout dir file tmp
	case $format in
	oci-archive | docker-archive) ;;
	*) _img_err "image_archive: FORMAT is oci-archive or docker-archive, not '$format'"; return 2 ;;
	esac
	layout=$(image_layout "$kind") || return
	dir=${layout%/layout}
	file=$dir/$kind.$format.tar
	if [ ! -f "$file" ]; then
		command -v skopeo >/dev/null || { _img_err "image_archive needs skopeo (make deps installs it)"; return 1; }
		(
			flock 9 || exit 1
			[ -f "$file" ] && exit 0
			rm -rf "$dir/.tmp-"*
			echo "writing image $kind as $format (cached at $file)" >&2
			tmp=$(mktemp -d "$dir/.tmp-XXXXXX") || exit 1
			# A local copy of a layout made here: no signature policy to apply.
			if skopeo --insecure-policy copy -q "oci:$layout:latest" \
				"$format:$tmp/image.tar:$kind:latest" >&2 &&
				sync -- "$tmp/image.tar" && mv -T "$tmp/image.tar" "$file"; then
				rm -rf "$tmp"
			else
				rm -rf "$tmp"
				_img_err "skopeo could not write $kind as $format"
				exit 1
			fi
		) 9>>"$(_img_cache)/.$kind.lock" || return 1
	fi
	echo "$file"
}
