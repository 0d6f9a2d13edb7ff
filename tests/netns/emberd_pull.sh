#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd's pulls through the ember CLI, against Debian's docker-registry
# (the reference implementation, run from its binary with a config of the
# test's own) and a hostile one (build/tests/hostile_registry): a busybox OCI
# layout built offline (umoci) and pushed with skopeo is pulled with
# progress, has the pushed config and layer digests, is pulled again
# without a byte written, and has the same layer content (rootfs.diff_ids)
# as the same image imported from a docker-archive; a registry behind basic
# auth (htpasswd, bcrypt) refuses a pull without or with wrong credentials
# and serves one with them; a 404, a 500 and a layer that stalls halfway
# fail their job with one clear line, within the stall timeout, leaving no
# blob, no temporary file, the canary unchanged and emberd serving.
# Everything listens on 127.0.0.1 inside the test's own namespace. Root and
# BPF, no KVM.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/guest.sh
[ "$(id -u)" = 0 ] || skip "needs root (namespaces, XDP, the root filesystem build)"
for t in umoci skopeo docker-registry htpasswd mkfs.erofs jq curl; do
	command -v "$t" >/dev/null || skip "needs $t (make deps installs it)"
done
[ -x /bin/busybox ] || skip "needs busybox-static's /bin/busybox"
. tests/lib/emberd_env.sh
for f in build/bin/ember build/tests/hostile_registry; do
	[ -x "$f" ] || fail "$f is missing: make $f"
done
T0=$SECONDS

env_init emberd-pull
REG_PIDS=""
# The registries first: they live in the host namespace, which env_cleanup
# deletes (a process outlives the deletion of its namespace).
cleanup() {
	for p in $REG_PIDS; do kill "$p" 2>/dev/null; done
	for p in $REG_PIDS; do wait "$p" 2>/dev/null; done
	env_cleanup
}
trap cleanup EXIT
env_net
# A short stall timeout, so the hanging registry fails the job in seconds.
STALL_S=3
env_config
jq ".registry_stall_timeout_s = $STALL_S" "$WORK/emberd.json" >"$WORK/emberd.json.new" &&
	mv "$WORK/emberd.json.new" "$WORK/emberd.json" || fail "cannot write emberd's configuration"
env_emberd -v --vmm "$PWD/tests/lib/fake_vmm.sh"

ember() { build/bin/ember --socket "$SOCK" "$@"; }
inh() { ip netns exec "$H" "$@"; } # the registries, skopeo, curl: in the host namespace
STORE=$WORK/state/images
blobs() { find "$STORE/blobs/sha256" -type f | wc -l; }
tmps() { find "$STORE/tmp" -mindepth 1 | wc -l; }
serving() { [ "$(api http://localhost/v1/apps | jq '.apps | length')" = 0 ] || die "GET /v1/apps: $(api http://localhost/v1/apps)"; }
code() { api -o /dev/null -w '%{http_code}' "$@"; }
blob_of() { echo "$STORE/blobs/sha256/${1#sha256:}"; } # DIGEST: the stored blob's path

# docker-registry PORT NAME [AUTH_CONFIG]: one registry on 127.0.0.1:PORT
# (the namespace is the test's own, so every port is free), storage under
# the work dir; waits until it answers /v2/.
registry() {
	mkdir -p "$WORK/$2"
	cat >"$WORK/$2.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/$2
http:
  addr: 127.0.0.1:$1
  secret: ember-test-$$
$3
EOF
	# ip netns exec execs the command: $! is the registry itself, for cleanup.
	ip netns exec "$H" docker-registry serve "$WORK/$2.yml" >"$WORK/$2.log" 2>&1 &
	REG_PIDS="$REG_PIDS $!"
	wait_until 10 "[ \"\$(inh curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$1/v2/)\" != 000 ]" ||
		die "docker-registry on 127.0.0.1:$1 did not start: $(tail -5 "$WORK/$2.log")"
}
push() { # LAYOUT DEST [CREDS]
	inh skopeo --insecure-policy copy -q --dest-tls-verify=false ${3:+--dest-creds "$3"} \
		"oci:$1:latest" "docker://$2" >"$WORK/skopeo.log" 2>&1 ||
		die "skopeo could not push to $2: $(cat "$WORK/skopeo.log")"
}

# The image: the probe test image (tests/lib/images.sh, one layer), copied
# out of the cache, which the second image's umoci calls must not touch.
. tests/lib/images.sh
L=$WORK/layout
probe=$(image_layout probe) && cp -a "$probe" "$L" || fail "cannot build the probe image"
# A second image: the same plus a layer of 256 KiB of random bytes (it does
# not compress: the hostile registry cuts it halfway).
L2=$WORK/layout2
cp -a "$L" "$L2"
umoci unpack --image "$L2:latest" "$WORK/bundle2" >/dev/null &&
	head -c 262144 /dev/urandom >"$WORK/bundle2/rootfs/noise" &&
	umoci repack --image "$L2:latest" "$WORK/bundle2" && umoci gc --layout "$L2" ||
	fail "umoci could not add a layer"
m1=$(jq -r '.manifests[0].digest' "$L/index.json")
m2=$(jq -r '.manifests[0].digest' "$L2/index.json")
echo canary >"$WORK/canary"
canary_sum=$(sha256sum "$WORK/canary")

registry 5000 plain ""
push "$L" 127.0.0.1:5000/probe:1
echo "ok: docker-registry on 127.0.0.1:5000, busybox layout pushed with skopeo"

# The API's checks: plain HTTP only to this machine, credentials both or neither.
[ "$(code -X POST -d '{"pull": "example.com/x:1", "insecure": true}' http://localhost/v1/images)" = 400 ] ||
	die "insecure pull from example.com taken"
api -X POST -d '{"pull": "busybox", "insecure": true}' http://localhost/v1/images | grep -q 'only for localhost' ||
	die "insecure pull from Docker Hub: not refused with its reason"
[ "$(code -X POST -d '{"pull": "127.0.0.1:5000/probe:1", "username": "u"}' http://localhost/v1/images)" = 400 ] ||
	die "a user without a password taken"
[ "$(code -X POST -d '{"pull": "127.0.0.1:5000/probe:1", "insecure": "yes"}' http://localhost/v1/images)" = 400 ] ||
	die "insecure: \"yes\" taken"
[ "$(code -X POST -d '{"pull": "127.0.0.1:5000/probe:1", "import": "/x"}' http://localhost/v1/images)" = 400 ] ||
	die "import and pull together taken"
ember image pull --insecure example.com/x:1 >/dev/null 2>"$WORK/insec.err" && die "ember pulled over HTTP from example.com"
grep -q 'ember: .*plain HTTP (insecure) is allowed only for localhost, 127.0.0.0/8 and \[::1\]' "$WORK/insec.err" ||
	die "insecure refusal: $(cat "$WORK/insec.err")"
env -u EMBER_REGISTRY_PASSWORD build/bin/ember --socket "$SOCK" image pull --username u \
	127.0.0.1:5000/probe:1 2>/dev/null
[ $? = 2 ] || die "--username without a password source is not a usage error"
[ "$(api http://localhost/v1/images/jobs/1 | jq -r .error)" = "no image job 1 (the last 16 are kept)" ] ||
	die "a refused request made a job"
echo "ok: insecure to a remote host, half credentials, import+pull refused (400), a user without password a usage error: $(cut -c1-90 "$WORK/insec.err")..."

# Pull: done, with progress, the pushed digests.
ember image pull --insecure 127.0.0.1:5000/probe:1 >"$WORK/pull.out" 2>"$WORK/pull.err" ||
	die "pull failed: $(cat "$WORK/pull.err")"
grep -q '^layer 1/1: [1-9][0-9]* bytes' "$WORK/pull.err" || die "no progress line: $(cat "$WORK/pull.err")"
grep -q "^pulled 127.0.0.1:5000/probe:1 (sha256:[0-9a-f]\{64\}): [1-9][0-9]* bytes written, 0 skipped" \
	"$WORK/pull.out" || die "pull said: $(cat "$WORK/pull.out")"
job=$(api http://localhost/v1/images/jobs/1)
[ "$(jq -r '.state, .pull, .phase, .result.format' <<<"$job" | paste -sd' ')" = "done 127.0.0.1:5000/probe:1 rootfs registry" ] ||
	die "job 1: $job"
[ -f "$(jq -r .result.rootfs <<<"$job")" ] || die "no root filesystem: $job"
echo "ok: $(cat "$WORK/pull.out") / $(head -1 "$WORK/pull.err")"
want=$(jq -r '.config.digest, .layers[].digest' "$(printf '%s/blobs/sha256/%s' "$L" "${m1#sha256:}")")
got=$(ember --json image inspect 127.0.0.1:5000/probe:1 | jq -r '.config.digest, .layers[].digest')
[ "$got" = "$want" ] || die "pulled digests differ from the layout's: $got / $want"
[ "$(jq -r .result.manifest <<<"$job")" = "$m1" ] || die "manifest $(jq -r .result.manifest <<<"$job"), pushed $m1"
echo "ok: inspect shows the pushed manifest, config and layer digests"
serving

# Again: nothing downloaded or written.
n0=$(blobs)
ember image pull --insecure 127.0.0.1:5000/probe:1 >"$WORK/pull2.out" 2>&1 || die "second pull: $(cat "$WORK/pull2.out")"
grep -q ': 0 bytes written, [1-9][0-9]* skipped' "$WORK/pull2.out" || die "second pull: $(cat "$WORK/pull2.out")"
[ "$(blobs)" = "$n0" ] || die "$(blobs) blobs after the second pull, $n0 before"
echo "ok: second pull: $(tail -1 "$WORK/pull2.out")"

# The same image as a docker-archive: its layers are the uncompressed tars,
# so the layer digests differ from the pulled (gzip) ones; what is equal is
# the layer content, rootfs.diff_ids of the config, and the config itself
# (skopeo writes it unchanged, so its digest is the same).
skopeo --insecure-policy copy -q "oci:$L:latest" "docker-archive:$WORK/probe.tar:probe:1" ||
	fail "skopeo could not write a docker-archive"
ember image import "$WORK/probe.tar" --name archive:1 >"$WORK/arch.out" 2>&1 || die "import: $(cat "$WORK/arch.out")"
pulled=$(ember --json image inspect 127.0.0.1:5000/probe:1)
archived=$(ember --json image inspect archive:1)
pcfg=$(jq -r .config.digest <<<"$pulled")
acfg=$(jq -r .config.digest <<<"$archived")
pdiff=$(jq -c .rootfs.diff_ids "$(blob_of "$pcfg")")
adiff=$(jq -c .rootfs.diff_ids "$(blob_of "$acfg")")
[ "$pdiff" = "$adiff" ] || die "rootfs.diff_ids differ: pulled $pdiff, docker-archive $adiff"
[ "$pcfg" = "$acfg" ] || die "config digests differ: pulled $pcfg, docker-archive $acfg"
[ "$(jq -c '[.layers[].digest]' <<<"$archived")" = "$adiff" ] ||
	die "the docker-archive's layers are not its diff_ids: $(jq -c '[.layers[].digest]' <<<"$archived")"
[ "$(jq -r '.layers[0].digest' <<<"$pulled")" != "$(jq -r '.layers[0].digest' <<<"$archived")" ] ||
	die "the pulled layer is not the compressed one"
echo "ok: docker-archive import has the same config ($pcfg) and rootfs.diff_ids; its layers are those diff_ids, the pulled ones gzip"

# Registry errors: one clear line each, nothing left, emberd serving.
pull_fails() { # REF PATTERN: the pull fails and its error line matches PATTERN
	local n0 t0
	n0=$(blobs)
	t0=$SECONDS
	ember image pull --insecure "$1" >/dev/null 2>"$WORK/fail.err" && die "pull of $1 succeeded"
	[ "$(wc -l <"$WORK/fail.err")" = 1 ] || die "pull of $1: more than one line: $(cat "$WORK/fail.err")"
	grep -q "^ember: image pull failed: $2" "$WORK/fail.err" || die "pull of $1 said: $(cat "$WORK/fail.err")"
	[ "$(blobs)" = "$n0" ] || die "$(blobs) blobs after a failed pull of $1, $n0 before"
	[ "$(tmps)" = 0 ] || die "temporary files left in $STORE/tmp: $(ls "$STORE/tmp")"
	serving
	FAIL_S=$((SECONDS - t0))
}
pull_fails 127.0.0.1:5000/probe:nope 'registry 127.0.0.1:5000 answered 404 MANIFEST_UNKNOWN for probe:nope'
echo "ok: unknown tag: $(cut -c1-140 "$WORK/fail.err")"

ip netns exec "$H" build/tests/hostile_registry "$L2" "$m2" >"$WORK/hostile.out" 2>&1 &
REG_PIDS="$REG_PIDS $!"
wait_until 5 "grep -q '^port ' '$WORK/hostile.out'" || die "hostile_registry: $(cat "$WORK/hostile.out")"
HP=$(awk '/^port / {print $2}' "$WORK/hostile.out")
pull_fails "127.0.0.1:$HP/broken:1" "registry 127.0.0.1:$HP answered 500 UNKNOWN for broken:1: the hostile registry fails on purpose"
echo "ok: 500: $(cut -c1-140 "$WORK/fail.err")"

# The stall: emberd answers while the job waits on the silent registry.
layer2=$(jq -r '.layers[1].digest' "$(printf '%s/blobs/sha256/%s' "$L2" "${m2#sha256:}")")
(sleep 1; serving; echo served >"$WORK/served") &
probe=$!
pull_fails "127.0.0.1:$HP/stall:1" \
	"layer 2 of 2: no data from 127.0.0.1:$HP for $STALL_S s while fetching $layer2: timed out"
wait "$probe"
[ -e "$WORK/served" ] || die "emberd did not answer during the stalled pull"
[ "$FAIL_S" -le $((STALL_S + 10)) ] || die "the stalled pull took $FAIL_S s (stall timeout $STALL_S s)"
[ ! -e "$(blob_of "$layer2")" ] || die "the cut layer is in the store"
echo "ok: stalled layer failed in $FAIL_S s (timeout $STALL_S s), emberd served meanwhile: $(cut -c1-150 "$WORK/fail.err")"

# Basic auth (bcrypt htpasswd): refused without and with wrong credentials,
# pulled with them; the password is nowhere emberd writes or answers.
PASS="pw-$$-$RANDOM"
htpasswd -Bbn ember "$PASS" >"$WORK/htpasswd" 2>/dev/null || fail "htpasswd failed"
registry 5001 auth "auth:
  htpasswd:
    realm: ember-test
    path: $WORK/htpasswd"
push "$L2" 127.0.0.1:5001/private:1 "ember:$PASS"
pull_fails 127.0.0.1:5001/private:1 'registry 127.0.0.1:5001 answered 401: it requires authentication: give a user and password'
echo "ok: no credentials: $(cut -c1-140 "$WORK/fail.err")"
EMBER_REGISTRY_PASSWORD=wrong-$PASS ember image pull --insecure --username ember 127.0.0.1:5001/private:1 \
	>/dev/null 2>"$WORK/fail.err" && die "a wrong password was taken"
grep -q '^ember: image pull failed: registry 127.0.0.1:5001 answered 401 UNAUTHORIZED for private:1' "$WORK/fail.err" ||
	die "wrong password said: $(cat "$WORK/fail.err")"
echo "ok: wrong password: $(cut -c1-140 "$WORK/fail.err")"
echo "$PASS" | ember image pull --insecure --username ember --password-stdin 127.0.0.1:5001/private:1 \
	>"$WORK/auth.out" 2>"$WORK/auth.err" || die "pull with credentials failed: $(cat "$WORK/auth.err")"
grep -q '^pulled 127.0.0.1:5001/private:1 (sha256:[0-9a-f]\{64\}): [1-9][0-9]* bytes written, [1-9][0-9]* skipped' \
	"$WORK/auth.out" || die "pull with credentials said: $(cat "$WORK/auth.out")"
[ -e "$(blob_of "$layer2")" ] || die "the second layer is not in the store"
grep -rqF -- "$PASS" "$WORK/state" "$WORK/emberd.log" && die "the password is in emberd's state or log"
for j in $(seq 1 16); do
	api "http://localhost/v1/images/jobs/$j" | grep -qF -- "$PASS" && die "the password is in job $j's JSON"
done
echo "ok: with --username/--password-stdin: $(cat "$WORK/auth.out"); password in no file or job"

[ "$(sha256sum "$WORK/canary")" = "$canary_sum" ] || die "the canary changed"
serving
kill -0 "$EMBERD_PID" || die "emberd is gone"
echo "ok: canary untouched, emberd serving after $((SECONDS - T0)) s"
echo "PASS"
