#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd's image jobs through the ember CLI: an OCI layout built offline
# (umoci, busybox-static) is imported with progress, listed with its size,
# inspected, imported again without writing a byte, refused when one layer
# blob is tampered with (digest named, store unchanged), removed with its
# blobs; a file outside the store is never touched and emberd serves
# GET /v1/apps throughout. Root and BPF, no KVM.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, XDP, the root filesystem build)"
for t in umoci mkfs.erofs jq; do
	command -v "$t" >/dev/null || skip "needs $t"
done
[ -x /bin/busybox ] || skip "needs busybox-static's /bin/busybox"
. tests/lib/emberd_env.sh
[ -x build/bin/ember ] || fail "build/bin/ember is missing: make build/bin/ember"

env_init emberd-img
trap env_cleanup EXIT
env_net
env_emberd -v --vmm "$PWD/tests/lib/fake_vmm.sh"

ember() { build/bin/ember --socket "$SOCK" "$@"; }
STORE=$WORK/state/images
blobs() { find "$STORE/blobs/sha256" -type f | wc -l; }
serving() { [ "$(api http://localhost/v1/apps | jq '.apps | length')" = 0 ] || die "GET /v1/apps: $(api http://localhost/v1/apps)"; }

# The image: one layer holding /bin/busybox, a config saying how to run it.
# (unpack + repack, not `umoci insert`: this umoci's insert writes a tar
# without its padding and end blocks, which the layer reader refuses.)
L=$WORK/layout
umoci init --layout "$L" && umoci new --image "$L:latest" &&
	umoci unpack --image "$L:latest" "$WORK/bundle" >/dev/null &&
	mkdir -p "$WORK/bundle/rootfs/bin" && cp /bin/busybox "$WORK/bundle/rootfs/bin/" &&
	umoci repack --image "$L:latest" "$WORK/bundle" &&
	umoci config --image "$L:latest" --os linux --architecture amd64 \
		--config.entrypoint /bin/busybox --config.cmd httpd --config.cmd -f \
		--config.env GREETING=hello --config.workingdir /srv --config.exposedports 8080/tcp &&
	umoci gc --layout "$L" || fail "umoci could not build the layout"
echo canary >"$WORK/canary"
canary_sum=$(sha256sum "$WORK/canary")
serving
[ "$(blobs)" = 0 ] || die "a new store has blobs"

# The API's checks: unknown members and query parameters, no path, a job never made.
code() { api -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code -X POST -d '{"import": "/x", "pull": 1}' http://localhost/v1/images)" = 400 ] || die "unknown member taken"
[ "$(code -X POST -d '{"name": "a:b"}' http://localhost/v1/images)" = 400 ] || die "no import path taken"
[ "$(code -X POST -d '{"import": "rel/path"}' http://localhost/v1/images)" = 400 ] || die "relative path taken"
[ "$(code 'http://localhost/v1/images?all=1')" = 400 ] || die "unknown query parameter taken"
[ "$(code http://localhost/v1/images/jobs/99)" = 404 ] || die "job 99 found"
echo "ok: bad image requests refused (400), unknown job 404"

# Import: done, progress printed (a line per layer: stderr is not a tty).
ember image import "$L" --name busybox:test >"$WORK/imp.out" 2>"$WORK/imp.err" ||
	die "import failed: $(cat "$WORK/imp.err")"
grep -q '^layer 1/1: [0-9]* bytes' "$WORK/imp.err" || die "no progress line: $(cat "$WORK/imp.err")"
grep -q '^imported busybox:test (sha256:[0-9a-f]\{64\}): [1-9][0-9]* bytes written, 0 skipped' \
	"$WORK/imp.out" || die "import said: $(cat "$WORK/imp.out")"
echo "ok: $(cat "$WORK/imp.out") / $(head -1 "$WORK/imp.err")"
job=$(api http://localhost/v1/images/jobs/1)
[ "$(jq -r .state <<<"$job")" = done ] || die "job 1: $job"
rootfs=$(jq -r .result.rootfs <<<"$job")
[ -f "$rootfs" ] || die "no root filesystem at $rootfs"
echo "ok: job 1 done, root filesystem $(stat -c %s "$rootfs") bytes at ${rootfs#$WORK/}"
serving

# ls: the image with its size (config + layers).
manifest=$(jq -r .result.manifest <<<"$job")
mblob=$STORE/blobs/sha256/${manifest#sha256:}
want=$(jq '[.config.size] + [.layers[].size] | add' "$mblob")
ember image ls >"$WORK/ls.out" || die "ls failed"
grep -q "^busybox:test  *$want  *1 amd64  *yes  *$manifest" "$WORK/ls.out" ||
	die "ls (want size $want): $(cat "$WORK/ls.out")"
echo "ok: ls: $(tail -1 "$WORK/ls.out" | tr -s ' ')"

# inspect: the config and the layer.
ember image inspect busybox:test >"$WORK/insp.out" || die "inspect failed"
for want in 'Entrypoint   \["/bin/busybox"\]' 'Cmd          \["httpd", "-f"\]' \
	'Env          \[.*"GREETING=hello"\]' 'WorkingDir   /srv' 'ExposedPorts {"8080/tcp": {}}' \
	'^  sha256:[0-9a-f]\{64\} [0-9]* bytes application/vnd.oci.image.layer.v1.tar+gzip'; do
	grep -q "$want" "$WORK/insp.out" || die "inspect lacks '$want': $(cat "$WORK/insp.out")"
done
[ "$(ember --json image inspect busybox:test | jq '.layers | length')" = 1 ] || die "inspect --json"
echo "ok: inspect shows the config and the layer"

# Again: nothing written.
ember image import "$L" --name busybox:test >"$WORK/imp2.out" 2>&1 || die "second import: $(cat "$WORK/imp2.out")"
grep -q ': 0 bytes written, [1-9][0-9]* skipped' "$WORK/imp2.out" || die "second import: $(cat "$WORK/imp2.out")"
echo "ok: second import: $(tail -1 "$WORK/imp2.out")"

# A copy with a second layer whose bytes are then changed: refused, naming
# its digest. (A changed copy of the first layer would not even be read:
# the store has a verified blob of that digest.)
T=$WORK/tampered
cp -a "$L" "$T"
umoci unpack --image "$T:latest" "$WORK/bundle2" >/dev/null &&
	echo extra >"$WORK/bundle2/rootfs/extra" &&
	umoci repack --image "$T:latest" "$WORK/bundle2" && umoci gc --layout "$T" ||
	fail "umoci could not add a layer"
tm=$(jq -r '.manifests[0].digest' "$T/index.json")
layer=$(jq -r '.layers[1].digest' "$T/blobs/sha256/${tm#sha256:}")
lf=$T/blobs/sha256/${layer#sha256:}
chmod u+w "$lf"
printf '\x42' | dd of="$lf" bs=1 seek=20 conv=notrunc status=none
n0=$(blobs)
ls0=$(ember image ls)
if ember image import "$T" --name tampered:1 >"$WORK/bad.out" 2>"$WORK/bad.err"; then
	die "a tampered layer was imported: $(cat "$WORK/bad.out")"
fi
grep -q "ember: image import failed: .*$layer" "$WORK/bad.err" ||
	die "the failure does not name $layer: $(cat "$WORK/bad.err")"
[ "$(ember image ls)" = "$ls0" ] || die "ls changed after a failed import: $(ember image ls)"
[ "$(blobs)" = "$n0" ] || die "$(blobs) blobs after a failed import, $n0 before"
echo "ok: tampered layer refused: $(tail -1 "$WORK/bad.err" | cut -c1-160)"
serving

# rm: the reference, its blobs and its root filesystem go; the canary stays.
ember image rm busybox:test >"$WORK/rm.out" || die "rm failed"
[ "$(blobs)" = 0 ] || die "$(blobs) blobs left after rm: $(ls "$STORE/blobs/sha256")"
[ ! -e "$rootfs" ] || die "root filesystem $rootfs left after rm"
[ "$(api http://localhost/v1/images | jq '.images | length')" = 0 ] || die "images left"
[ "$(sha256sum "$WORK/canary")" = "$canary_sum" ] || die "the canary changed"
ember image inspect busybox:test 2>/dev/null && die "inspect of a removed image succeeded"
echo "ok: $(cat "$WORK/rm.out"); store empty, canary untouched"
serving
kill -0 "$EMBERD_PID" || die "emberd is gone"
echo "PASS"
