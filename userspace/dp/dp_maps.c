// SPDX-License-Identifier: Apache-2.0
/* Dataplane configuration: services, apps, guests and taps in the pinned maps. */
#include "dp_internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

static struct ember_service_key service_key(const struct dp_service *s)
{
	struct ember_service_key k;

	memset(&k, 0, sizeof(k)); /* padding is part of the hash key */
	memcpy(k.addr, s->vip, s->family == AF_INET ? 4 : 16);
	k.port = htons(s->port);
	k.proto = s->proto;
	k.family = s->family == AF_INET ? EMBER_FAMILY_V4 : EMBER_FAMILY_V6;
	return k;
}

static int map_update(struct dp *dp, const char *map, const void *key, const void *val,
		      uint64_t flags)
{
	int fd = dp_fd(dp, map);

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, key, val, flags))
		return dp_fail(dp, -errno, "update %s: %s", map, strerror(errno));
	return 0;
}

static int map_lookup(struct dp *dp, const char *map, const void *key, void *val)
{
	int fd = dp_fd(dp, map);

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, key, val))
		return -errno; /* ENOENT is an answer, not a failure: no message */
	return 0;
}

static int map_delete(struct dp *dp, const char *map, const void *key)
{
	int fd = dp_fd(dp, map);

	if (fd < 0)
		return fd;
	if (bpf_map_delete_elem(fd, key))
		return dp_fail(dp, -errno, "delete from %s: %s", map, strerror(errno));
	return 0;
}

/*
 * ember_apps and ember_guests are arrays: every in-range id has an entry, a
 * free one is zeroed. These read one and answer -ENOENT for a free entry,
 * as a hash lookup would for a missing key.
 */
static int app_lookup(struct dp *dp, uint32_t app_id, struct ember_app *a)
{
	int rc = map_lookup(dp, EMBER_MAP_APPS, &app_id, a);

	if (!rc && !(a->flags & EMBER_APP_F_IN_USE))
		rc = -ENOENT;
	return rc;
}

static int guest_lookup(struct dp *dp, uint32_t slot, struct ember_guest *g)
{
	int rc = map_lookup(dp, EMBER_MAP_GUESTS, &slot, g);

	if (!rc && !g->tap_ifindex)
		rc = -ENOENT;
	return rc;
}

/* Frees an entry of ember_apps: zeroed = free. (A free guest slot keeps
 * its gen: see dp_guest_del().) */
static int app_clear(struct dp *dp, uint32_t app_id)
{
	static const struct ember_app zero;

	return map_update(dp, EMBER_MAP_APPS, &app_id, &zero, BPF_EXIST);
}

/*
 * The router routes established flows without an ember_svc lookup, and from
 * its per-CPU flow cache without an ember_flows lookup, while their app's
 * svc_gen is unchanged (see docs/dataplane.md). Deleting a service, or moving
 * it to another app, bumps the old app's svc_gen so its flows go back through
 * ember_svc at once, as if there were no fast path; removing a guest bumps it
 * so that no CPU keeps a cached flow on a slot that another CPU has moved
 * elsewhere in ember_flows meanwhile.
 */
static int app_bump_svc_gen(struct dp *dp, uint32_t app_id)
{
	struct ember_app a;

	if (app_lookup(dp, app_id, &a))
		return 0; /* no app: its flows cannot take the fast path */
	a.svc_gen++;
	return map_update(dp, EMBER_MAP_APPS, &app_id, &a, BPF_EXIST);
}

int dp_service_add(struct dp *dp, const struct dp_service *svc, uint32_t app_id)
{
	struct ember_service_key k = service_key(svc);
	struct ember_service v = {.app_id = app_id}, old;
	struct ember_app a;
	int moved, rc;

	if (svc->proto != IPPROTO_TCP && svc->proto != IPPROTO_UDP)
		return dp_fail(dp, -EINVAL, "protocol %u is neither TCP nor UDP", svc->proto);
	if (app_lookup(dp, app_id, &a))
		return dp_fail(dp, -ENOENT, "app %u does not exist (ember dp app set %u)", app_id,
			       app_id);
	moved = !map_lookup(dp, EMBER_MAP_SERVICES, &k, &old) && old.app_id != app_id;
	rc = map_update(dp, EMBER_MAP_SERVICES, &k, &v, BPF_ANY);
	if (!rc && moved)
		rc = app_bump_svc_gen(dp, old.app_id);
	return rc;
}

int dp_service_del(struct dp *dp, const struct dp_service *svc)
{
	struct ember_service_key k = service_key(svc);
	struct ember_service old;
	int found, rc;

	found = !map_lookup(dp, EMBER_MAP_SERVICES, &k, &old);
	rc = map_delete(dp, EMBER_MAP_SERVICES, &k);
	if (!rc && found)
		rc = app_bump_svc_gen(dp, old.app_id);
	return rc;
}

/* A new app's first svc_gen: unpredictable, so flows left in the LRU by an
 * earlier app with the same id never match it. */
static uint32_t first_svc_gen(void)
{
	struct timespec ts;
	uint32_t g;

	if (getrandom(&g, sizeof(g), GRND_NONBLOCK) == sizeof(g))
		return g;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec;
}

int dp_app_set(struct dp *dp, uint32_t app_id, const struct dp_app *cfg)
{
	uint32_t standby = (uint32_t)cfg->standby_ifindex;
	struct ember_app a;
	int rc;

	if (app_id >= EMBER_MAX_APPS)
		return dp_fail(dp, -ERANGE, "app id %u is out of range (0..%u)", app_id,
			       EMBER_MAX_APPS - 1);
	rc = app_lookup(dp, app_id, &a);
	if (rc && rc != -ENOENT)
		return dp_fail(dp, rc, "reading app %u: %s", app_id, strerror(-rc));
	if (rc) { /* a new app: whatever a free entry holds is not its state */
		memset(&a, 0, sizeof(a));
		a.svc_gen = first_svc_gen();
	}
	/* The standby tap is a devmap entry too: the router redirects by index. */
	if (standby) {
		rc = map_update(dp, EMBER_MAP_TAPS, &standby, &standby, BPF_ANY);
		if (rc)
			return rc;
	}
	a.standby_ifindex = standby;
	a.flags |= EMBER_APP_F_IN_USE;
	memcpy(a.guest_mac, cfg->guest_mac, 6);
	memcpy(a.guest_ip4, cfg->guest_ip4, 4);
	memcpy(a.guest_ip6, cfg->guest_ip6, 16);
	return map_update(dp, EMBER_MAP_APPS, &app_id, &a, BPF_ANY);
}

int dp_app_del(struct dp *dp, uint32_t app_id)
{
	struct ember_app a;
	int rc = app_lookup(dp, app_id, &a);

	if (rc)
		return dp_fail(dp, rc, "app %u: %s", app_id, strerror(-rc));
	if (a.nlive)
		return dp_fail(dp, -EBUSY, "app %u still has %u live guest(s)", app_id, a.nlive);
	return app_clear(dp, app_id);
}

int dp_app_rearm(struct dp *dp, uint32_t app_id)
{
	struct ember_app a;
	int rc = app_lookup(dp, app_id, &a);

	if (rc)
		return dp_fail(dp, rc, "app %u: %s", app_id, strerror(-rc));
	a.waking_since_ns = 0;
	return map_update(dp, EMBER_MAP_APPS, &app_id, &a, BPF_EXIST);
}

/* Order matters: tap, slot and tap->slot first, the app's live set last, so
 * the router never picks a guest whose tap or addresses are not in place. */
int dp_guest_add(struct dp *dp, uint32_t slot, const struct dp_guest *g)
{
	uint32_t tap = (uint32_t)g->tap_ifindex, gen;
	struct ember_guest v;
	struct ember_app a;
	int rc;

	if (slot >= EMBER_MAX_GUESTS)
		return dp_fail(dp, -ERANGE, "guest slot %u is out of range (0..%u)", slot,
			       EMBER_MAX_GUESTS - 1);
	if (!tap)
		return dp_fail(dp, -EINVAL,
			       "guest slot %u needs a tap (ifindex 0 marks a free slot)", slot);
	if (app_lookup(dp, g->app_id, &a))
		return dp_fail(dp, -ENOENT, "app %u does not exist", g->app_id);
	/* A new guest in the slot gets the next gen (free slots keep theirs):
	 * flows of the slot's earlier guests no longer match. The same guest
	 * added again (emberd adopting its live guests) keeps its flows. */
	if (map_lookup(dp, EMBER_MAP_GUESTS, &slot, &v))
		memset(&v, 0, sizeof(v));
	gen = v.gen;
	if (!(v.tap_ifindex == tap && v.app_id == g->app_id))
		gen++;
	memset(&v, 0, sizeof(v));
	v.gen = gen;
	v.app_id = g->app_id;
	v.tap_ifindex = tap;
	v.state = EMBER_GUEST_LIVE;
	memcpy(v.mac, g->mac, 6);
	memcpy(v.ip4, g->ip4, 4);
	memcpy(v.ip6, g->ip6, 16);
	rc = map_update(dp, EMBER_MAP_TAPS, &tap, &tap, BPF_ANY);
	if (!rc)
		rc = map_update(dp, EMBER_MAP_GUESTS, &slot, &v, BPF_ANY);
	if (!rc)
		rc = map_update(dp, EMBER_MAP_TAP_SLOTS, &tap, &slot, BPF_ANY);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < a.nlive && i < EMBER_MAX_GUESTS_PER_APP; i++)
		if (a.live[i] == slot)
			return 0;
	if (a.nlive >= EMBER_MAX_GUESTS_PER_APP)
		return dp_fail(dp, -ENOSPC, "app %u already has %u live guests", g->app_id,
			       a.nlive);
	a.live[a.nlive++] = slot;
	a.waking_since_ns = 0; /* a live guest ends any pending wake */
	return map_update(dp, EMBER_MAP_APPS, &g->app_id, &a, BPF_EXIST);
}

/* Removes (slot) from the live set of app (app_id), if it is there. */
static int live_remove(struct dp *dp, uint32_t app_id, uint32_t slot)
{
	struct ember_app a;
	uint32_t i;

	if (app_lookup(dp, app_id, &a))
		return 0;
	for (i = 0; i < a.nlive && a.live[i] != slot; i++)
		;
	if (i == a.nlive)
		return 0;
	a.live[i] = a.live[--a.nlive];
	return map_update(dp, EMBER_MAP_APPS, &app_id, &a, BPF_EXIST);
}

int dp_guest_drain(struct dp *dp, uint32_t slot)
{
	struct ember_guest v;
	int rc = guest_lookup(dp, slot, &v);

	if (rc)
		return dp_fail(dp, rc, "guest slot %u is not in use", slot);
	return live_remove(dp, v.app_id, slot);
}

/* Takes the guest out of its app's live set first (no new flows), then frees
 * the slot and its tap. */
int dp_guest_del(struct dp *dp, uint32_t slot)
{
	struct ember_guest v;
	struct ember_app a;
	int rc;

	rc = guest_lookup(dp, slot, &v);
	if (rc)
		return dp_fail(dp, rc, "guest slot %u is not in use", slot);
	rc = live_remove(dp, v.app_id, slot);
	if (rc)
		return rc;
	/* Free, but the gen stays: the slot's next guest gets the one after. */
	rc = map_update(dp, EMBER_MAP_GUESTS, &slot, &(struct ember_guest){.gen = v.gen},
			BPF_EXIST);
	if (rc)
		return rc;
	/* The next guest on this slot starts with no flows (the router's
	 * decrements never go below 0, so late FINs of these flows are harmless). */
	map_update(dp, EMBER_MAP_GUEST_LOAD, &slot, &(uint64_t){0}, BPF_ANY);
	/* After the slot is free: a packet between the two writes finds no
	 * guest there and re-reads ember_flows anyway. */
	rc = app_bump_svc_gen(dp, v.app_id);
	if (rc)
		return rc;
	map_delete(dp, EMBER_MAP_TAP_SLOTS, &v.tap_ifindex);
	/* The tap may still be the app's standby tap: keep it in the devmap then. */
	if (app_lookup(dp, v.app_id, &a) != 0 || a.standby_ifindex != v.tap_ifindex)
		map_delete(dp, EMBER_MAP_TAPS, &v.tap_ifindex);
	return 0;
}

static struct ember_addr_key addr_key(int family, const void *addr)
{
	struct ember_addr_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.addr, addr, family == AF_INET ? 4 : 16);
	k.family = family == AF_INET ? EMBER_FAMILY_V4 : EMBER_FAMILY_V6;
	return k;
}

int dp_host_addr_add(struct dp *dp, int family, const void *addr)
{
	struct ember_addr_key k = addr_key(family, addr);
	uint32_t one = 1;

	return map_update(dp, EMBER_MAP_HOST_ADDRS, &k, &one, BPF_ANY);
}

int dp_host_addr_del(struct dp *dp, int family, const void *addr)
{
	struct ember_addr_key k = addr_key(family, addr);

	return map_delete(dp, EMBER_MAP_HOST_ADDRS, &k);
}

/* Walks a hash or array map; (fn) gets each key/value (free array entries
 * too: the callbacks skip them). */
static int walk(struct dp *dp, const char *map, size_t ksz, size_t vsz,
		int (*fn)(void *ctx, const void *k, const void *v), void *ctx)
{
	uint8_t key[64], next[64], val[256];
	int fd = dp_fd(dp, map), rc;
	void *prev = NULL;

	if (fd < 0)
		return fd;
	if (ksz > sizeof(key) || vsz > sizeof(val))
		return dp_fail(dp, -E2BIG, "%s: entries larger than expected", map);
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, ksz);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue; /* deleted meanwhile */
		rc = fn(ctx, key, val);
		if (rc)
			return rc;
	}
	return 0;
}

struct walk_ctx {
	void *fn;
	void *ctx;
};

static int service_cb(void *ctx, const void *k, const void *v)
{
	const struct ember_service_key *key = k;
	const struct ember_service *val = v;
	struct walk_ctx *w = ctx;
	struct dp_service s = {.proto = key->proto, .port = ntohs(key->port)};

	s.family = key->family == EMBER_FAMILY_V4 ? AF_INET : AF_INET6;
	memcpy(s.vip, key->addr, 16);
	return ((dp_service_fn)w->fn)(w->ctx, &s, val->app_id);
}

int dp_foreach_service(struct dp *dp, dp_service_fn fn, void *ctx)
{
	struct walk_ctx w = {(void *)fn, ctx};

	return walk(dp, EMBER_MAP_SERVICES, sizeof(struct ember_service_key),
		    sizeof(struct ember_service), service_cb, &w);
}

static int app_cb(void *ctx, const void *k, const void *v)
{
	const struct ember_app *a = v;
	struct walk_ctx *w = ctx;
	struct dp_app_info info;

	if (!(a->flags & EMBER_APP_F_IN_USE))
		return 0; /* a free entry of the array */
	info = (struct dp_app_info){
		.app_id = *(const uint32_t *)k,
		.standby_ifindex = (int)a->standby_ifindex,
		.nlive = a->nlive,
		.waking_since_ns = a->waking_since_ns,
	};

	return ((dp_app_fn)w->fn)(w->ctx, &info);
}

int dp_foreach_app(struct dp *dp, dp_app_fn fn, void *ctx)
{
	struct walk_ctx w = {(void *)fn, ctx};

	return walk(dp, EMBER_MAP_APPS, sizeof(uint32_t), sizeof(struct ember_app), app_cb, &w);
}

static int guest_cb(void *ctx, const void *k, const void *v)
{
	const struct ember_guest *g = v;
	struct walk_ctx *w = ctx;
	struct dp_guest out = {.app_id = g->app_id, .tap_ifindex = (int)g->tap_ifindex};

	if (!g->tap_ifindex)
		return 0; /* a free slot of the array */
	memcpy(out.mac, g->mac, 6);
	memcpy(out.ip4, g->ip4, 4);
	memcpy(out.ip6, g->ip6, 16);
	return ((dp_guest_fn)w->fn)(w->ctx, *(const uint32_t *)k, &out);
}

int dp_foreach_guest(struct dp *dp, dp_guest_fn fn, void *ctx)
{
	struct walk_ctx w = {(void *)fn, ctx};

	return walk(dp, EMBER_MAP_GUESTS, sizeof(uint32_t), sizeof(struct ember_guest), guest_cb,
		    &w);
}
