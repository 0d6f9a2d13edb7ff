#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# emberd's layering, read off the built objects (nm): no file of the
# supervision layer (VMM processes, taps, records, re-adoption, the loop)
# references a function or table that a policy file defines; they report
# through struct guest_events (userspace/emberd/emberd.h). A new policy or
# supervision file is added to the lists below.
set -u
cd "$(dirname "$0")/../.." || exit 1
obj=build/obj/userspace/emberd
supervision="emberd_loop emberd_state emberd_tap emberd_host emberd_guest emberd_adopt"
supervision+=" emberd_image emberd_image_info emberd_image_app emberd_image_pull" # image jobs: forked children, like VMMs
policy="emberd_app emberd_wake emberd_scale emberd_mem emberd_version emberd_pool"

# Every file of the folder is in one list, or in neither on purpose: the
# surfaces and main above both, and the pure helpers below both.
others="main emberd_api emberd_metrics emberd_logs emberd_meter emberd_config meter prom console meter_record"
for c in userspace/emberd/*.c; do
	f=$(basename "$c" .c)
	case " $supervision $policy $others " in
	*" $f "*) ;;
	*) echo "FAIL: $c is in no layer list of $0: add it"; exit 1 ;;
	esac
done

defs=""
for f in $policy; do
	[ -e "$obj/$f.o" ] || { echo "FAIL: $obj/$f.o is missing: run 'make'"; exit 1; }
	defs+=$(nm --defined-only -g "$obj/$f.o" | awk '{print $3}')$'\n'
done
bad=0
for f in $supervision; do
	[ -e "$obj/$f.o" ] || { echo "FAIL: $obj/$f.o is missing: run 'make'"; exit 1; }
	for s in $(nm -u "$obj/$f.o" | awk '{print $2}'); do
		if grep -qxF "$s" <<<"$defs"; then
			echo "FAIL: userspace/emberd/$f.c (supervision) calls $s, a policy name"
			bad=1
		fi
	done
done
[ "$bad" = 0 ] || exit 1
n=$(grep -c . <<<"$defs")
echo "ok: the $(wc -w <<<"$supervision") supervision files reference none of the $n names the $(wc -w <<<"$policy") policy files define"
echo PASS
