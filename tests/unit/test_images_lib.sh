#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/lib/images.sh: the probe, redis and demo images built into a fresh
# cache (a few seconds: what is tested is the build, not a cached copy of
# it), their layouts and configs exact, their layers free of entries under a
# symlink; a second call answered from the cache, a changed script building
# anew (a killed build's and a stale hash's directories removed), archives
# written by skopeo. Each image is unpacked and run from its own config in a
# chroot inside fresh PID, mount, UTS and network namespaces (loopback only):
# redis answers PING/SET/GET, the probe's CGI reports the argv, ids, cwd,
# hostname and exact env it was started with, the demo serves its page.
set -u
cd "$(dirname "$0")/../.." || exit 1
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# run_image ROOT CONFIG: the image's process as a runtime would start it:
# Entrypoint + Cmd, exactly Env, User (numeric uid:gid, no supplementary
# group), WorkingDir. chroot(1) always starts in /, so another workdir is
# entered by the image's own busybox, which then clears the env again (its
# sh exports SHLVL and PWD).
run_image() {
	local root=$1 cfg=$2 user workdir argv envs spec=()
	mapfile -t argv < <(jq -r '(.config.Entrypoint // []) + (.config.Cmd // []) | .[]' "$cfg")
	mapfile -t envs < <(jq -r '.config.Env // [] | .[]' "$cfg")
	user=$(jq -r '.config.User // ""' "$cfg")
	workdir=$(jq -r '.config.WorkingDir // "/"' "$cfg")
	[ -n "$user" ] && spec=(--userspec="$user" --groups="${user#*:}")
	if [ "$workdir" = / ]; then
		exec env -i "${envs[@]}" "$(command -v chroot)" "${spec[@]}" "$root" "${argv[@]}"
	fi
	# shellcheck disable=SC2016 # expanded by the image's sh
	exec env -i "$(command -v chroot)" "${spec[@]}" "$root" /bin/busybox sh -c \
		'cd "$1" && shift && exec /bin/busybox env -i "$@"' sh "$workdir" "${envs[@]}" "${argv[@]}"
}

# until_ok SECONDS CMD...: CMD retried until it succeeds.
until_ok() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:2}" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# inside KIND BUNDLE CONFIG LOG: in the new namespaces (PID 1 of its PID
# namespace: whatever it starts dies with it), the image's process started
# and asked over loopback.
inside() {
	local kind=$1 root=$2/rootfs cfg=$3 log=$4 port pid body want
	ip link set lo up || fail "cannot bring lo up"
	hostname "$kind-test" || fail "cannot set the hostname"
	# What the guest has: its own /proc, a tmpfs /tmp.
	mount -t proc proc "$root/proc" || fail "cannot mount /proc in $root"
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" || fail "cannot mount /tmp in $root"
	port=$(jq -r '.config.ExposedPorts | keys[0] | split("/")[0]' "$cfg")
	run_image "$root" "$cfg" >"$log" 2>&1 &
	pid=$!
	case $kind in
	redis)
		until_ok 10 redis-cli -p "$port" ping || fail "redis never answered on $port: $(cat "$log")"
		[ "$(redis-cli -p "$port" ping)" = PONG ] || fail "PING"
		[ "$(redis-cli -p "$port" set greeting 'hello world')" = OK ] || fail "SET"
		[ "$(redis-cli -p "$port" get greeting)" = "hello world" ] || fail "GET"
		echo "ok: redis in the image: PONG, SET/GET, $(redis-cli -p "$port" info server | grep -o 'redis_version:[0-9.]*')"
		;;
	probe)
		until_ok 10 curl -sf "http://127.0.0.1:$port/" || fail "the probe never answered on $port: $(cat "$log")"
		body=$(curl -sf "http://127.0.0.1:$port/cgi-bin/probe") || fail "GET /cgi-bin/probe: $(cat "$log")"
		want='argv0=/bin/probe-start
argv1=one
argv2=two words
argc=2
uid=1000
gid=1000
groups=1000
cwd=/srv/work
hostname=probe-test
envsrc=proc
env:GREETING=hello world
env:PATH=/bin
env:PROBE_MODE=image'
		[ "$body" = "$want" ] || fail "the probe answered:
$body
expected:
$want"
		echo "ok: the probe's CGI: $(echo "$body" | grep -v ^env: | tr '\n' ' ')+ exactly 3 env lines"
		;;
	demo)
		until_ok 10 curl -sf "http://127.0.0.1:$port/" || fail "the demo never answered on $port: $(cat "$log")"
		[ "$(curl -sf "http://127.0.0.1:$port/")" = "hello from ember" ] || fail "the demo's page"
		echo "ok: the demo serves 'hello from ember' on $port"
		;;
	esac
	kill "$pid" && wait "$pid"
	return 0
}

if [ "${1:-}" = --inside ]; then
	shift
	inside "$@"
	exit
fi

[ "$(id -u)" = 0 ] || skip "needs root (root-owned image files, chroot, namespaces)"
for t in umoci skopeo jq redis-check-rdb redis-cli curl unshare chroot ip tar; do
	command -v "$t" >/dev/null || skip "needs $t (make deps installs it)"
done
. tests/lib/images.sh

work=$(mktemp -d /tmp/ember-images.XXXXXX)
trap 'rm -rf "$work"' EXIT
export EMBER_CACHE=$work/cache
start=$SECONDS

# blob LAYOUT DIGEST: the blob's path.
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }

# check_layout KIND LAYOUT CONFIG: one manifest tagged latest, one gzip
# layer, every blob's name its digest, the config exactly CONFIG, root-owned
# entries (but /home/app), none under a symlink. Leaves the config's path in $cfg.
check_layout() {
	local kind=$1 l=$2 want=$3 m f
	jq -e '.imageLayoutVersion == "1.0.0"' "$l/oci-layout" >/dev/null || fail "$kind: oci-layout"
	jq -e '(.manifests | length) == 1 and .manifests[0].mediaType == "application/vnd.oci.image.manifest.v1+json"
		and .manifests[0].annotations."org.opencontainers.image.ref.name" == "latest"' \
		"$l/index.json" >/dev/null || fail "$kind: index.json: $(cat "$l/index.json")"
	for f in "$l"/blobs/sha256/*; do
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "${f##*/}" ] || fail "$kind: blob $f does not hash to its name"
	done
	m=$(blob "$l" "$(jq -r '.manifests[0].digest' "$l/index.json")")
	jq -e '.config.mediaType == "application/vnd.oci.image.config.v1+json" and (.layers | length) == 1
		and .layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip"' "$m" >/dev/null ||
		fail "$kind: manifest: $(cat "$m")"
	cfg=$(blob "$l" "$(jq -r .config.digest "$m")")
	jq -e --argjson want "$want" '.config == $want and .os == "linux" and .architecture == "amd64"' \
		"$cfg" >/dev/null || fail "$kind: config $(jq -c '{os, architecture, config}' "$cfg"), expected $want"
	f=$(blob "$l" "$(jq -r '.layers[0].digest' "$m")")
	tar -tvzf "$f" >"$work/$kind.list" || fail "$kind: the layer is not a gzip tar"
	awk '$2 != "0/0" && $6 != "home/app/" { print; bad = 1 } END { exit bad }' "$work/$kind.list" ||
		fail "$kind: entries not owned by root (above)"
	awk '{ name[NR] = $6; if ($1 ~ /^l/) link[$6] = 1 }
		END { for (i in name) { p = name[i]; while (sub(/\/[^\/]*$/, "", p))
			if (p in link) { print name[i] " is under the symlink " p; bad = 1 } } exit bad }' \
		"$work/$kind.list" || fail "$kind: entries written through a symlink (above)"
	echo "ok: $kind: layout, config and layer as expected ($(wc -l <"$work/$kind.list") entries)"
}

# ---- build each kind, check it, run it
declare -A want=(
	[probe]='{"Env": ["PATH=/bin", "GREETING=hello world", "PROBE_MODE=image"], "User": "1000:1000",
		"WorkingDir": "/srv/work", "Entrypoint": ["/bin/probe-start"], "Cmd": ["one", "two words"],
		"ExposedPorts": {"8080/tcp": {}}}'
	[redis]='{"Entrypoint": ["redis-server", "--protected-mode", "no"], "ExposedPorts": {"6379/tcp": {}},
		"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}'
	[demo]='{"Entrypoint": ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/srv/www"],
		"ExposedPorts": {"80/tcp": {}}, "Env": ["PATH=/bin"]}'
)
for kind in probe redis demo; do
	t0=$SECONDS
	layout=$(image_layout "$kind" 2>"$work/$kind.err") || fail "image_layout $kind: $(cat "$work/$kind.err")"
	grep -qx "building image $kind (cached at ${layout%/layout})" "$work/$kind.err" ||
		fail "no progress line: $(cat "$work/$kind.err")"
	[[ $layout == "$EMBER_CACHE/images/$kind-"[0-9a-f]*/layout ]] || fail "$kind at $layout"
	echo "ok: $kind built in $((SECONDS - t0)) s at ${layout#"$work/"}"
	check_layout "$kind" "$layout" "${want[$kind]}"
	stamp=$(stat -c '%i %Y' "$layout/index.json")
	again=$(image_layout "$kind" 2>"$work/$kind.err2") || fail "image_layout $kind again"
	if [ "$again" != "$layout" ] || [ -s "$work/$kind.err2" ] ||
		[ "$(stat -c '%i %Y' "$layout/index.json")" != "$stamp" ]; then
		fail "second call: $again, $(cat "$work/$kind.err2")"
	fi
	echo "ok: $kind: a second call answers from the cache, silently"
	umoci unpack --image "$layout:latest" "$work/$kind" >/dev/null || fail "umoci unpack $kind"
	unshare -p -f --kill-child -m -u -n bash "$0" --inside "$kind" "$work/$kind" "$cfg" "$work/$kind.log" ||
		fail "$kind did not run as its config says"
done
loader=$work/redis/rootfs/lib64/ld-linux-x86-64.so.2
if [ ! -f "$loader" ] || [ -L "$loader" ]; then
	fail "the loader is not a real file at /lib64"
fi
echo "ok: redis' loader is a real file at /lib64/ld-linux-x86-64.so.2"

# ---- a changed script builds anew; a killed build's and a stale hash's directories go
demo=$(image_layout demo 2>/dev/null)
mkdir "$EMBER_CACHE/images/.tmp-demo-killed" "$EMBER_CACHE/images/demo-0123456789abcdef"
touch -d '2 days ago' "$EMBER_CACHE/images/demo-0123456789abcdef"
cp tests/lib/images.sh "$work/images.sh" && echo '# changed' >>"$work/images.sh"
# shellcheck source=/dev/null
demo2=$(. "$work/images.sh" && image_layout demo 2>"$work/demo.err3") || fail "changed script: $(cat "$work/demo.err3")"
[ "$demo2" != "$demo" ] || fail "a changed script gave the same path $demo"
grep -q '^building image demo' "$work/demo.err3" || fail "a changed script did not build anew"
[ -f "$demo/index.json" ] || fail "the recent demo build was removed"
[ ! -e "$EMBER_CACHE/images/.tmp-demo-killed" ] || fail "a killed build's directory was left"
[ ! -e "$EMBER_CACHE/images/demo-0123456789abcdef" ] || fail "a stale hash's directory was left"
echo "ok: a changed script builds anew; the killed build's and the stale hash's directories are gone"

# ---- refusals
image_layout nosuch 2>"$work/bad.err" && fail "an unknown kind was built"
grep -q "unknown image kind 'nosuch'" "$work/bad.err" || fail "unknown kind: $(cat "$work/bad.err")"
image_archive demo zip 2>"$work/bad.err" && fail "an unknown format was written"
grep -q "not 'zip'" "$work/bad.err" || fail "unknown format: $(cat "$work/bad.err")"
echo "ok: an unknown kind and format refused"

# ---- archives
dir=$(dirname "$(image_layout redis)")
for format in docker-archive oci-archive; do
	tarball=$(image_archive redis "$format" 2>"$work/arch.err") || fail "image_archive redis $format: $(cat "$work/arch.err")"
	[ "$tarball" = "$dir/redis.$format.tar" ] || fail "$format at $tarball"
	grep -q "^writing image redis as $format" "$work/arch.err" || fail "no progress line: $(cat "$work/arch.err")"
	tar -tf "$tarball" >"$work/arch.list" || fail "tar -tf $tarball"
	case $format in
	docker-archive)
		grep -qx manifest.json "$work/arch.list" || fail "no manifest.json in $tarball"
		# skopeo writes the reference normalized, as docker does.
		[ "$(tar -xOf "$tarball" manifest.json | jq -r '.[0].RepoTags[0]')" = docker.io/library/redis:latest ] ||
			fail "$tarball: $(tar -xOf "$tarball" manifest.json)"
		;;
	oci-archive)
		grep -qx index.json "$work/arch.list" || fail "no index.json in $tarball"
		grep -qx oci-layout "$work/arch.list" || fail "no oci-layout in $tarball"
		;;
	esac
	again=$(image_archive redis "$format" 2>"$work/arch.err")
	[ "$again" = "$tarball" ] || fail "second image_archive $format: $again"
	[ ! -s "$work/arch.err" ] || fail "second image_archive $format: $(cat "$work/arch.err")"
	echo "ok: $format: $(wc -l <"$work/arch.list") entries, cached"
done
echo "PASS ($((SECONDS - start)) s)"
