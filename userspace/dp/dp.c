// SPDX-License-Identifier: Apache-2.0
/* Dataplane life cycle: skeleton open/load/pin, re-opening pins after a restart, teardown. */
#include "dp_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "router.skel.h"
#include "guest.skel.h"

/* libbpf's own messages: kept (not printed) so a failed load can say why. */
static char libbpf_log[4096];
static int libbpf_verbose;

static int libbpf_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t used = strlen(libbpf_log);

	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	if (used > sizeof(libbpf_log) - 256)
		used = 0; /* keep the most recent lines */
	return vsnprintf(libbpf_log + used, sizeof(libbpf_log) - used, fmt, ap);
}

int dp_fail(struct dp *dp, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dp->err, sizeof(dp->err), fmt, ap);
	va_end(ap);
	return rc;
}

const char *dp_errmsg(const struct dp *dp)
{
	return dp->err[0] ? dp->err : "no error";
}

const char *dp_pin_root(const struct dp *dp)
{
	return dp->pin_root;
}

int dp_fd(struct dp *dp, const char *name)
{
	for (int i = 0; i < dp->npins; i++)
		if (!strcmp(dp->pins[i].name, name))
			return dp->pins[i].fd;
	return dp_fail(dp, -ENOENT, "%s/%s is not pinned (is the dataplane loaded?)", dp->pin_root,
		       name);
}

/* bpffs is not mounted at boot on every host: mount it where the pins go. */
static int ensure_bpffs(struct dp *dp)
{
	char parent[PATH_MAX], *slash;
	struct statfs st;

	snprintf(parent, sizeof(parent), "%s", dp->pin_root);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return dp_fail(dp, -EINVAL, "pin root %s must be a directory below a bpffs mount",
			       dp->pin_root);
	*slash = '\0';
	if (statfs(parent, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		goto mkroot;
	if (mount("bpf", parent, "bpf", 0, "mode=0700"))
		return dp_fail(dp, -errno, "%s is not bpffs and mounting it failed: %s", parent,
			       strerror(errno));
mkroot:
	if (mkdir(dp->pin_root, 0700) && errno != EEXIST)
		return dp_fail(dp, -errno, "mkdir %s: %s", dp->pin_root, strerror(errno));
	return 0;
}

/* The map ABI version recorded in the ember_abi map (fd); 0 if none was written. */
static int abi_read(int fd, uint32_t *version)
{
	uint32_t zero = 0;

	*version = 0;
	return bpf_map_lookup_elem(fd, &zero, version) ? -errno : 0;
}

/* A clear refusal of pins another build made: integrators read these maps too. */
static int abi_check(struct dp *dp, int fd)
{
	uint32_t v;
	int err = abi_read(fd, &v);

	if (err)
		return dp_fail(dp, err, "%s/%s: %s", dp->pin_root, EMBER_MAP_ABI, strerror(-err));
	if (v != EMBER_MAP_ABI_VERSION)
		return dp_fail(dp, -EPROTO,
			       "the maps pinned under %s have map ABI version %u, this build has "
			       "version %u: 'ember dp unload' removes the old pins (and the "
			       "routes in them)",
			       dp->pin_root, v, EMBER_MAP_ABI_VERSION);
	return 0;
}

static int abi_missing(struct dp *dp)
{
	return dp_fail(dp, -EPROTO,
		       "the maps pinned under %s have no map ABI version (%s/%s is missing: "
		       "an ember from before map ABI versions made them), this build has "
		       "version %u: 'ember dp unload' removes the old pins",
		       dp->pin_root, dp->pin_root, EMBER_MAP_ABI, EMBER_MAP_ABI_VERSION);
}

/* Reuses the map pinned at (path) for (map) if its layout matches. Flags are
 * not compared: the kernel adds some itself (a devmap gets
 * BPF_F_RDONLY_PROG), which makes libbpf's own pin reuse refuse it. */
static int reuse_pinned(struct dp *dp, struct bpf_map *map, const char *path)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return dp_fail(dp, -errno, "%s: %s", path, strerror(errno));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		err = dp_fail(dp, -errno, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.max_entries != bpf_map__max_entries(map)) {
		err = dp_fail(dp, -EEXIST,
			      "pinned map %s has another layout than this build expects "
			      "(older ABI?); 'ember dp unload' removes the old pins",
			      path);
		goto cleanup;
	}
	if (!strcmp(bpf_map__name(map), EMBER_MAP_ABI)) {
		err = abi_check(dp, fd);
		if (err)
			goto cleanup;
	}
	err = bpf_map__reuse_fd(map, fd);
	if (err)
		err = dp_fail(dp, err, "reusing %s: %s", path, strerror(-err));
	else
		dp->reused_maps++;
cleanup:
	close(fd); /* reuse_fd took its own duplicate */
	return err;
}

/*
 * Every map of (obj) lives at <root>/<map name>: an existing pin is reused
 * (so the router and the guest program share one copy of each map, and a
 * reload keeps the state), a missing one is created and pinned by the load.
 * rodata/bss are per object and are not pinned.
 */
static int prepare_maps(struct dp *dp, struct bpf_object *obj)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	for (map = bpf_object__next_map(obj, NULL); map; map = bpf_object__next_map(obj, map)) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_root, bpf_map__name(map));
		/* Maps declared LIBBPF_PIN_BY_NAME carry a pin path under libbpf's
		 * default root from open on: always replace it, and clear it for a
		 * reused map (it is pinned already, and libbpf's own reuse check
		 * would refuse a devmap). */
		if (access(path, F_OK) == 0) {
			err = reuse_pinned(dp, map, path);
			if (!err)
				err = bpf_map__set_pin_path(map, NULL);
		} else if ((err = bpf_map__set_pin_path(map, path)))
			err = dp_fail(dp, err, "pin path for map %s: %s", bpf_map__name(map),
				      strerror(-err));
		if (err)
			return err;
	}
	return 0;
}

/* Pins (prog) as <root>/<name>, replacing an older copy. */
static int pin_prog(struct dp *dp, struct bpf_program *prog, const char *name)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dp->pin_root, name);
	unlink(path);
	err = bpf_program__pin(prog, path);
	if (err)
		return dp_fail(dp, err, "pin %s: %s", path, strerror(-err));
	return 0;
}

/* Opens every object pinned under the root, remembering maps and programs by name. */
static int open_pins(struct dp *dp)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	d = opendir(dp->pin_root);
	if (!d)
		return dp_fail(dp, -errno, "%s: %s (is the dataplane loaded? try 'ember dp load')",
			       dp->pin_root, strerror(errno));
	while ((de = readdir(d)) && dp->npins < DP_MAX_PINS) {
		struct dp_pin *p = &dp->pins[dp->npins];

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(p->name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dp->pin_root, de->d_name) >=
		    (int)sizeof(path))
			continue;
		p->fd = bpf_obj_get(path);
		if (p->fd < 0)
			continue;
		snprintf(p->name, sizeof(p->name), "%s", de->d_name);
		p->is_prog = !strncmp(de->d_name, "prog_", 5);
		dp->npins++;
	}
	closedir(d);
	return 0;
}

static struct dp *dp_new(const char *pin_root)
{
	struct dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	snprintf(dp->pin_root, sizeof(dp->pin_root), "%s", pin_root ? pin_root : DP_PIN_ROOT);
	libbpf_set_print(libbpf_capture);
	return dp;
}

static int nonzero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return 1;
	return 0;
}

/* Knobs: each skeleton has its own rodata copy; zero keeps the built-in default. */
static void set_rodata(struct router_bpf *router, struct guest_bpf *guest, const struct dp_opts *o)
{
	if (o->wake_rearm_ns)
		router->rodata->wake_rearm_ns = o->wake_rearm_ns;
	if (nonzero(o->gw_mac, 6)) {
		memcpy((void *)router->rodata->gw_mac, o->gw_mac, 6);
		memcpy((void *)guest->rodata->gw_mac, o->gw_mac, 6);
	}
	if (nonzero(o->gw_ip4, 4))
		memcpy((void *)guest->rodata->gw_ip4, o->gw_ip4, 4);
	if (nonzero(o->gw_ip6, 16))
		memcpy((void *)guest->rodata->gw_ip6, o->gw_ip6, 16);
}

/* ember_fcache holds one region of EMBER_FLOW_CACHE_SLOTS entries per possible CPU. */
static int size_flow_cache(struct dp *dp, struct router_bpf *router)
{
	int ncpu = libbpf_num_possible_cpus(), rc;

	if (ncpu <= 0)
		return dp_fail(dp, ncpu ? ncpu : -EINVAL, "cannot count the possible CPUs");
	rc = bpf_map__set_max_entries(router->maps.ember_fcache,
				      (uint32_t)ncpu << EMBER_FLOW_CACHE_BITS);
	if (rc)
		return dp_fail(dp, rc, "sizing %s: %s", EMBER_MAP_FLOW_CACHE, strerror(-rc));
	return 0;
}

int dp_load(struct dp **out, const struct dp_opts *opts, char *err, size_t errlen)
{
	static const struct dp_opts defaults;
	const struct dp_opts *o = opts ? opts : &defaults;
	struct router_bpf *router = NULL;
	struct guest_bpf *guest = NULL;
	char abi_path[PATH_MAX];
	struct dp *dp;
	int rc;

	dp = dp_new(o->pin_root);
	if (!dp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(abi_path, sizeof(abi_path), "%s/%s", dp->pin_root, EMBER_MAP_ABI);
	libbpf_verbose = o->verbose;
	libbpf_log[0] = '\0';
	rc = ensure_bpffs(dp);
	if (rc)
		goto cleanup;

	/* 1. Open: parse the embedded ELF objects, nothing in the kernel yet. */
	router = router_bpf__open();
	guest = guest_bpf__open();
	if (!router || !guest) {
		rc = dp_fail(dp, -errno ? -errno : -EINVAL, "opening the BPF objects failed");
		goto cleanup;
	}

	/* 2. Configure before load: rodata knobs (they become constants the
	 * verifier can prune on), the flow cache's size (one region per CPU)
	 * and where every map lives. */
	set_rodata(router, guest, o);
	rc = size_flow_cache(dp, router);
	if (!rc)
		rc = prepare_maps(dp, router->obj);
	/* Pins reused without an ember_abi among them: made before versions. */
	if (!rc && dp->reused_maps && access(abi_path, F_OK))
		rc = abi_missing(dp);
	if (rc)
		goto cleanup;

	/* 3. Load: create (and pin) or reuse the maps, verify and JIT the
	 * programs. The router goes first so it creates the shared maps; the
	 * guest object's maps are prepared only then, so they find them pinned. */
	rc = router_bpf__load(router);
	if (rc) {
		rc = dp_fail(dp, rc, "loading the router failed: %s\n%s", strerror(-rc),
			     libbpf_log);
		goto cleanup;
	}
	/* A new set of maps gets this build's version (a reused one was checked). */
	if (!dp->reused_maps) {
		uint32_t zero = 0, v = EMBER_MAP_ABI_VERSION;

		rc = bpf_map__update_elem(router->maps.ember_abi, &zero, sizeof(zero), &v,
					  sizeof(v), BPF_ANY);
		if (rc) {
			rc = dp_fail(dp, rc, "writing %s: %s", EMBER_MAP_ABI, strerror(-rc));
			goto cleanup;
		}
	}
	rc = prepare_maps(dp, guest->obj);
	if (rc)
		goto cleanup;
	rc = guest_bpf__load(guest);
	if (rc) {
		rc = dp_fail(dp, rc, "loading the guest program failed: %s\n%s", strerror(-rc),
			     libbpf_log);
		goto cleanup;
	}

	/* 4. Pin the programs, so any later process can attach them to new taps
	 * without loading another copy. Maps were pinned by the load. */
	rc = pin_prog(dp, router->progs.xdp_router, DP_PIN_PROG_ROUTER);
	if (!rc)
		rc = pin_prog(dp, guest->progs.xdp_guest, DP_PIN_PROG_GUEST);
	if (rc)
		goto cleanup;

	/* 5. Work from the pins from here on, exactly like dp_open(): the
	 * skeletons can go, the kernel objects are held by the pins. */
	rc = open_pins(dp);

cleanup:
	guest_bpf__destroy(guest);
	router_bpf__destroy(router);
	if (rc) {
		snprintf(err, errlen, "%s", dp->err);
		dp_close(dp);
		return rc;
	}
	*out = dp;
	return 0;
}

/* dp_open()'s check: the pins must carry this build's map ABI version. */
static int open_abi_check(struct dp *dp)
{
	for (int i = 0; i < dp->npins; i++)
		if (!strcmp(dp->pins[i].name, EMBER_MAP_ABI))
			return abi_check(dp, dp->pins[i].fd);
	return abi_missing(dp);
}

int dp_open(struct dp **out, const char *pin_root, char *err, size_t errlen)
{
	struct dp *dp = dp_new(pin_root);
	int rc;

	if (!dp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = open_pins(dp);
	if (!rc && dp->npins == 0)
		rc = dp_fail(dp, -ENOENT, "nothing is pinned under %s (is the dataplane loaded?)",
			     dp->pin_root);
	if (!rc)
		rc = open_abi_check(dp);
	if (rc) {
		snprintf(err, errlen, "%s", dp->err);
		dp_close(dp);
		return rc;
	}
	*out = dp;
	return 0;
}

void dp_close(struct dp *dp)
{
	if (!dp)
		return;
	dp_events_close(dp);
	for (int i = 0; i < dp->npins; i++)
		close(dp->pins[i].fd);
	free(dp);
}

int dp_unpin(const char *pin_root)
{
	const char *root = pin_root ? pin_root : DP_PIN_ROOT;
	char path[PATH_MAX];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		if (unlink(path) && !rc)
			rc = -errno;
	}
	closedir(d);
	if (rmdir(root) && !rc)
		rc = -errno;
	return rc;
}
