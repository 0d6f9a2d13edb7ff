#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile images through emberd and `ember image import`: each one, crafted
# here as an OCI layout (tar, gzip, sha256sum, jq), must fail its job with one
# line naming the problem, leave the store (blobs, refs.json, root
# filesystems, temporary files) exactly as it was, write nothing where its
# entries point outside the store (canaries there), and emberd must go on
# serving; a good image imports at the start and at the end. Root and BPF,
# no KVM.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, XDP, the root filesystem build)"
for t in mkfs.erofs jq tar gzip sha256sum truncate; do
	command -v "$t" >/dev/null || skip "needs $t"
done
. tests/lib/emberd_env.sh
[ -x build/bin/ember ] || fail "build/bin/ember is missing: make build/bin/ember"

env_init emberd-hostile
# Where the attacks aim: outside the store, under a name of this run only.
CAN=$(mktemp -d /tmp/ember-hostile-XXXXXX)
cleanup() {
	env_cleanup
	rm -rf "$CAN"
}
trap cleanup EXIT
env_net
LIMIT=$((4 << 20)) ENTRIES=2000
echo "{\"image_max_bytes\": $LIMIT, \"image_max_entries\": $ENTRIES}" >"$WORK/emberd.json"
env_emberd --config "$WORK/emberd.json" --vmm "$PWD/tests/lib/fake_vmm.sh"

ember() { build/bin/ember --socket "$SOCK" "$@"; }
STORE=$WORK/state/images
IMG=$WORK/img
mkdir -p "$IMG" "$WORK/stage"
serving() {
	kill -0 "$EMBERD_PID" || die "emberd is gone"
	api http://localhost/v1/apps | jq -e '.apps | length == 0' >/dev/null ||
		die "GET /v1/apps: $(api http://localhost/v1/apps)"
}

# ---- building layouts ----

# put FILE LAYOUT: FILE as a blob of LAYOUT; prints "DIGEST SIZE".
put() {
	local h
	h=$(sha256sum <"$1" | cut -d' ' -f1)
	cp "$1" "$2/blobs/sha256/$h"
	echo "sha256:$h $(stat -c %s "$1")"
}
# desc MEDIATYPE "DIGEST SIZE": a descriptor.
desc() {
	set -- "$1" $2
	jq -nc --arg t "$1" --arg d "$2" --argjson s "$3" '{mediaType: $t, digest: $d, size: $s}'
}
# mklayout NAME CONFIG LAYER...: $IMG/NAME, an OCI layout of one linux/amd64
# image whose config's "config" is the JSON file CONFIG and whose layers are
# the gzip files LAYER (diff_id: from LAYER.diff_id when there is one, else
# the digest of gzip -dc).
mklayout() {
	local dir=$IMG/$1 cfg=$2 l d diffs="" layers="" c m
	shift 2
	mkdir -p "$dir/blobs/sha256"
	echo '{"imageLayoutVersion": "1.0.0"}' >"$dir/oci-layout"
	for l in "$@"; do
		if [ -f "$l.diff_id" ]; then
			d=$(cat "$l.diff_id")
		else
			d=sha256:$(gzip -dc <"$l" | sha256sum | cut -d' ' -f1)
		fi
		diffs+="\"$d\","
		layers+="$(desc application/vnd.oci.image.layer.v1.tar+gzip "$(put "$l" "$dir")"),"
	done
	jq -nc --slurpfile c "$cfg" --argjson d "[${diffs%,}]" \
		'{architecture: "amd64", os: "linux", config: $c[0],
		  rootfs: {type: "layers", diff_ids: $d}}' >"$WORK/config.json"
	c=$(desc application/vnd.oci.image.config.v1+json "$(put "$WORK/config.json" "$dir")")
	jq -nc --argjson c "$c" --argjson l "[${layers%,}]" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		  config: $c, layers: $l}' >"$WORK/manifest.json"
	m=$(desc application/vnd.oci.image.manifest.v1+json "$(put "$WORK/manifest.json" "$dir")")
	jq -nc --argjson m "$m" '{schemaVersion: 2,
		manifests: [$m + {annotations: {"org.opencontainers.image.ref.name": "1"}}]}' \
		>"$dir/index.json"
}
# tgz OUT DIR TAR-ARGS...: a gzip layer of DIR's members, names as written
# (-P: GNU tar would strip a leading / and ../, which is the attack).
tgz() {
	local out=$1 dir=$2
	shift 2
	(cd "$dir" && tar -P --owner=0 --group=0 -cf - "$@") | gzip -n >"$out" || fail "tar $out"
}
# stage NAME: an empty staging directory $WORK/stage/NAME, printed.
stage() {
	rm -rf "$WORK/stage/$1"
	mkdir -p "$WORK/stage/$1"
	echo "$WORK/stage/$1"
}
# blob_of NAME N: the path of layer N (1-based) of layout NAME.
blob_of() {
	local dir=$IMG/$1 m
	m=$(jq -r '.manifests[0].digest' "$dir/index.json")
	m=$(jq -r ".layers[$(($2 - 1))].digest" "$dir/blobs/sha256/${m#sha256:}")
	echo "$dir/blobs/sha256/${m#sha256:}"
}

echo '{"Cmd": ["/bin/hello"], "Env": ["PATH=/bin"]}' >"$WORK/cmd.json"

# ---- what must not change ----

# The store: every entry, each file's size, mtime, mode and hash (directories'
# mtimes move when a blob comes and goes; their entries are what counts).
store_state() {
	(cd "$STORE" && find . \( -type d -printf 'd %p\n' \) -o -printf '%y %p %s %T@ %m\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}
# The canaries: everything, directories' times included.
outside_state() {
	(cd "$CAN" && find . -printf '%y %p %s %T@ %C@ %i %m %l\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}
echo canary >"$CAN/canary"
mkdir "$CAN/dir"
echo "canary in a directory" >"$CAN/dir/canary"
touch -d '2020-01-01' "$CAN/canary" "$CAN/dir/canary" "$CAN/dir" "$CAN"
UP=$(printf '../%.0s' $(seq 16)) # from any root this deep or less, to /
REL=$UP${CAN#/}                  # $CAN reached by '..' from inside the root

JOB=0
# hostile NAME WORD: importing layout $IMG/NAME fails with one line holding
# WORD; the store, the canaries and emberd are as they were.
hostile() {
	local name=$1 word=$2 s0 o0 job err
	s0=$(store_state)
	o0=$(outside_state)
	JOB=$((JOB + 1))
	if ember image import "$IMG/$name" --name "hostile/$name:1" >"$WORK/h.out" 2>"$WORK/h.err"; then
		die "$name: imported: $(cat "$WORK/h.out")"
	fi
	job=$(api "http://localhost/v1/images/jobs/$JOB")
	jq -e '.state == "failed" and (.error | type == "string" and (test("[\n\r]") | not))' \
		<<<"$job" >/dev/null || die "$name: job $JOB: $job"
	err=$(jq -r .error <<<"$job")
	[ "$(tail -n 1 "$WORK/h.err")" = "ember: image import failed: $err" ] ||
		die "$name: the CLI said: $(cat "$WORK/h.err")"
	grep -qF -- "$word" <<<"$err" || die "$name: the reason does not say '$word': $err"
	[ "$(store_state)" = "$s0" ] ||
		die "$name: the store changed: $(diff <(echo "$s0") <(store_state) | head -20)"
	[ -z "$(find "$STORE/tmp" -mindepth 1; find "$STORE/rootfs" -name 'tmp-*')" ] &&
		[ ! -e "$STORE/refs.json.tmp" ] || die "$name: temporary files left: $(find "$STORE")"
	[ "$(outside_state)" = "$o0" ] ||
		die "$name: written outside: $(diff <(echo "$o0") <(outside_state) | head -20)"
	serving
	echo "ok: $name: $(cut -c1-220 <<<"$err")"
	COUNT=$((COUNT + 1))
}
COUNT=0

# ---- a good image first: the store then has blobs, refs.json, a root filesystem ----

S=$(stage good)
mkdir -p "$S/bin" "$S/etc"
printf '#!/bin/sh\necho hello\n' >"$S/bin/hello"
chmod 755 "$S/bin/hello"
echo good >"$S/etc/motd"
ln -s motd "$S/etc/motd.link"
tgz "$WORK/good.tgz" "$S" bin etc
mklayout good "$WORK/cmd.json" "$WORK/good.tgz"
JOB=$((JOB + 1))
ember image import "$IMG/good" --name good:1 >"$WORK/good.out" 2>&1 ||
	die "the good image: $(cat "$WORK/good.out")"
[ -n "$(find "$STORE/rootfs" -name '*.erofs')" ] || die "no root filesystem after the good import"
echo "ok: $(tail -n 1 "$WORK/good.out")"
serving

# ---- 1. a layer whose bytes do not match its descriptor's digest ----

S=$(stage digest)
head -c 65536 /dev/urandom >"$S/data"
tgz "$WORK/digest.tgz" "$S" data
mklayout digest "$WORK/cmd.json" "$WORK/digest.tgz"
f=$(blob_of digest 1)
printf '\x42' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
hostile digest "digest mismatch"

# ---- 2. a truncated gzip layer; its digest is that of the truncated bytes ----

S=$(stage trunc)
head -c 262144 /dev/urandom >"$S/data"
tgz "$WORK/trunc.tgz" "$S" data
echo "sha256:$(gzip -dc <"$WORK/trunc.tgz" | sha256sum | cut -d' ' -f1)" >"$WORK/trunc.tgz.diff_id"
truncate -s 131072 "$WORK/trunc.tgz"
mklayout trunc "$WORK/cmd.json" "$WORK/trunc.tgz"
hostile trunc "truncated"

# ---- 3. '..' in entry names ----

S=$(stage dotdot)
echo pwned >"$S/f"
tgz "$WORK/dotdot.tgz" "$S" --transform "s|^f\$|${REL}/canary|" f
mklayout dotdot "$WORK/cmd.json" "$WORK/dotdot.tgz"
hostile dotdot "a '..' component leaves the root"

S=$(stage dotdot-mid)
mkdir "$S/a" && echo pwned >"$S/a/f"
tgz "$WORK/dotdot-mid.tgz" "$S" --transform "s|^a/f\$|a/${REL}/dir/new|" a/f
mklayout dotdot-mid "$WORK/cmd.json" "$WORK/dotdot-mid.tgz"
hostile dotdot-mid "'..'"

# A name with a newline: the reason is still one line.
S=$(stage dotdot-nl)
echo pwned >"$S/x"$'\n'"y"
tgz "$WORK/dotdot-nl.tgz" "$S" --transform "s|^|../|" "x"$'\n'"y"
mklayout dotdot-nl "$WORK/cmd.json" "$WORK/dotdot-nl.tgz"
hostile dotdot-nl "entry '../x\x0ay': a '..' component"

# ---- 4. absolute entry names, aimed at the canaries ----

S=$(stage abs)
echo pwned >"$S/f"
tgz "$WORK/abs.tgz" "$S" --transform "s|^f\$|$CAN/canary|" f
mklayout abs "$WORK/cmd.json" "$WORK/abs.tgz"
hostile abs "absolute path"

S=$(stage abs-dir)
echo pwned >"$S/f"
tgz "$WORK/abs-dir.tgz" "$S" --transform "s|^f\$|$CAN/dir/new|" f
mklayout abs-dir "$WORK/cmd.json" "$WORK/abs-dir.tgz"
hostile abs-dir "entry '$CAN/dir/new': absolute path"

# ---- 5. a symlink, then a write through it ----

# In one layer: evil -> $CAN/dir, then evil/new.
S=$(stage symlink)
ln -s "$CAN/dir" "$S/evil"
echo pwned >"$S/new"
tgz "$WORK/symlink.tgz" "$S" --transform 's|^new$|evil/new|' evil new
mklayout symlink "$WORK/cmd.json" "$WORK/symlink.tgz"
hostile symlink "entry 'evil/new': its parent path goes through a symlink"

# Over three layers, the first the good image's (in the store: it must stay):
# evil -> ../../..$CAN/dir, then evil/canary overwritten.
S=$(stage symlink-rel)
ln -s "$REL/dir" "$S/evil"
tgz "$WORK/symlink-rel1.tgz" "$S" evil
S=$(stage symlink-rel2)
mkdir "$S/evil" && echo pwned >"$S/evil/canary"
tgz "$WORK/symlink-rel2.tgz" "$S" evil/canary
mklayout symlink-rel "$WORK/cmd.json" "$WORK/good.tgz" "$WORK/symlink-rel1.tgz" \
	"$WORK/symlink-rel2.tgz"
hostile symlink-rel "entry 'evil/canary': its parent path goes through a symlink"

# A hard link to the canary, by its absolute name.
S=$(stage hardlink)
echo x >"$S/f" && ln "$S/f" "$S/g"
tgz "$WORK/hardlink.tgz" "$S" --transform "s|^f\$|$CAN/canary|RSh" f g
mklayout hardlink "$WORK/cmd.json" "$WORK/hardlink.tgz"
hostile hardlink "entry 'g': hard link target"

# ---- 6. whiteouts of paths outside the root ----

S=$(stage wh-dotdot)
touch "$S/.wh.canary"
tgz "$WORK/wh-dotdot.tgz" "$S" --transform "s|^|$REL/|" .wh.canary
mklayout wh-dotdot "$WORK/cmd.json" "$WORK/wh-dotdot.tgz"
hostile wh-dotdot "/.wh.canary': a '..' component leaves the root"

S=$(stage wh-abs)
touch "$S/.wh.canary"
tgz "$WORK/wh-abs.tgz" "$S" --transform "s|^|$CAN/|" .wh.canary
mklayout wh-abs "$WORK/cmd.json" "$WORK/wh-abs.tgz"
hostile wh-abs "absolute path"

# evil -> $CAN/dir in layer 1; evil/.wh.canary, and an opaque marker, in layer 2.
S=$(stage wh-link)
ln -s "$CAN/dir" "$S/evil"
tgz "$WORK/wh-link1.tgz" "$S" evil
for w in .wh.canary .wh..wh..opq; do
	S=$(stage wh-link2)
	mkdir "$S/evil" && touch "$S/evil/$w"
	tgz "$WORK/wh-link2.tgz" "$S" "evil/$w"
	rm -rf "$IMG/wh-link$w"
	mklayout "wh-link$w" "$WORK/cmd.json" "$WORK/wh-link1.tgz" "$WORK/wh-link2.tgz"
	hostile "wh-link$w" "entry 'evil/$w': its directory goes through a symlink"
done

# ---- 7. more than the configured limits ----

# A sparse file of twice the limit, in a layer of a few kilobytes.
S=$(stage sparse)
truncate -s $((2 * LIMIT)) "$S/huge"
tgz "$WORK/sparse.tgz" "$S" --sparse huge
[ "$(stat -c %s "$WORK/sparse.tgz")" -lt 65536 ] || fail "the sparse layer is not small"
mklayout sparse "$WORK/cmd.json" "$WORK/sparse.tgz"
hostile sparse "entry 'huge': the files exceed the limit of $LIMIT bytes"

# Two layers each under the limit, over it together: the limit is the image's.
S=$(stage half)
head -c $((LIMIT * 3 / 4)) /dev/zero >"$S/a"
tgz "$WORK/half1.tgz" "$S" a
mv "$S/a" "$S/b"
tgz "$WORK/half2.tgz" "$S" b
mklayout half "$WORK/cmd.json" "$WORK/half1.tgz" "$WORK/half2.tgz"
hostile half "entry 'b': the files exceed the limit of $LIMIT bytes (this one: $((LIMIT * 3 / 4)), $((LIMIT * 3 / 4)) before it)"

S=$(stage entries)
(cd "$S" && seq $((ENTRIES + 1)) | xargs touch)
tgz "$WORK/entries.tgz" "$S" .
mklayout entries "$WORK/cmd.json" "$WORK/entries.tgz"
hostile entries "more entries than the limit of $ENTRIES"

# ---- 8. a manifest naming a blob the layout lacks ----

S=$(stage missing)
echo data >"$S/f"
tgz "$WORK/missing.tgz" "$S" f
mklayout missing "$WORK/cmd.json" "$WORK/missing.tgz"
rm "$(blob_of missing 1)"
hostile missing "which is not in the layout"

# ---- 9. a config with a 1 MiB Env entry; one of 40 KiB ----

{ printf '{"Env": ["BIG='; head -c $((1 << 20)) /dev/zero | tr '\0' x; printf '"]}'; } >"$WORK/env1m.json"
mklayout env1m "$WORK/env1m.json" "$WORK/good.tgz"
hostile env1m "manifest.config.size"

{ printf '{"Env": ["BIG='; head -c 40960 /dev/zero | tr '\0' x; printf '"]}'; } >"$WORK/env40k.json"
mklayout env40k "$WORK/env40k.json" "$WORK/good.tgz"
hostile env40k "config.Env[0]: longer than 32768 bytes"

# ---- and: a layer that is no tar, an index.json that is no JSON, a blob that is a symlink ----

head -c 4096 /dev/urandom | base64 | gzip -n >"$WORK/notar.tgz"
mklayout notar "$WORK/cmd.json" "$WORK/notar.tgz"
hostile notar "layer is truncated or corrupt"

S=$(stage badindex)
echo data >"$S/f"
tgz "$WORK/badindex.tgz" "$S" f
mklayout badindex "$WORK/cmd.json" "$WORK/badindex.tgz"
echo '{"schemaVersion": 2, "manifests": [' >"$IMG/badindex/index.json"
hostile badindex "index"

# The layer's own bytes, but through a symlink to a file outside the layout.
S=$(stage linkblob)
echo data >"$S/f"
tgz "$WORK/linkblob.tgz" "$S" f
mklayout linkblob "$WORK/cmd.json" "$WORK/linkblob.tgz"
f=$(blob_of linkblob 1)
cp "$f" "$CAN/dir/blob"
rm "$f" && ln -s "$CAN/dir/blob" "$f"
hostile linkblob "a symlink, which a layout must not have"

# ---- a good image at the end ----

S=$(stage good2)
mkdir -p "$S/srv"
echo "still serving" >"$S/srv/index.html"
tgz "$WORK/good2.tgz" "$S" srv
mklayout good2 "$WORK/cmd.json" "$WORK/good.tgz" "$WORK/good2.tgz"
JOB=$((JOB + 1))
ember image import "$IMG/good2" --name good:2 >"$WORK/good2.out" 2>&1 ||
	die "the good image after the hostile ones: $(cat "$WORK/good2.out")"
[ "$(api http://localhost/v1/images/jobs/$JOB | jq -r .state)" = done ] || die "job $JOB not done"
[ "$(api http://localhost/v1/images | jq '.images | length')" = 2 ] ||
	die "images: $(api http://localhost/v1/images)"
echo "ok: $(tail -n 1 "$WORK/good2.out")"
serving
echo "PASS: $COUNT hostile images refused, nothing left behind or written outside"
