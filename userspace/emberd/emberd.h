/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's internal header: the daemon, its apps and guests, and the calls between its files. */
#ifndef EMBER_USERSPACE_EMBERD_H
#define EMBER_USERSPACE_EMBERD_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ember/control.h>
#include <ember/maps.h>

#include "api/api.h"
#include "api/app_registry.h"
#include "dp/dp.h"
#include "emberd_config.h"
#include "emberd_meter.h"

/*
 * emberd runs one thread: every fd it waits on (signalfd, timerfd, the API's
 * epoll fd, the dataplane ring buffer, one pidfd and one control socket per
 * VMM) is registered with a struct watch in one epoll set; the loop calls
 * watch->fn. docs/emberd.md describes the states and the wake path.
 */

/* The guests' side of the network: every clone of every app has the same
 * inside addresses (the dataplane NATs), the gateway is answered by the
 * guest XDP program. */
#define EMBERD_GUEST_IP	 "10.200.0.2"
#define EMBERD_GUEST_PFX 24
#define EMBERD_GW_IP	 "10.200.0.1"
/* The same inside, in IPv6 (unique local addresses): IPv6 VIPs NAT to it. */
#define EMBERD_GUEST_IP6  "fd00:ec::2"
#define EMBERD_GUEST_PFX6 64
#define EMBERD_GW_IP6	  "fd00:ec::1"
/* clang-format off */
#define EMBERD_GW_MAC	 {0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
#define EMBERD_GUEST_MAC {0x02, 0xeb, 0x00, 0x00, 0x00, 0x02}
/* clang-format on */
#define EMBERD_TICK_MS	    100	  /* idle checks, pool refills */
#define EMBERD_FAST_MS	    1	  /* tick while a wake waits for its first packet */
#define EMBERD_FIRST_MAX    2000  /* ms a wake report waits for that packet */
#define EMBERD_RETRY_MAX    5	  /* failed restores in a row before an app fails */
#define EMBERD_RESTORE_MAX  120	  /* s a restore may take before it is stopped */
#define EMBERD_STOP_MAX_MS  5000  /* a VMM still there this long after SIGTERM gets SIGKILL */
#define EMBERD_BOOT_MAX	    600	  /* s from the deploy's boot to its snapshot */
#define EMBERD_BOOT_RETRIES 1	  /* boots that end before the snapshot, tried again */
#define EMBERD_SCALE_IN_MS  2000  /* load low for this long before a guest is removed */
#define EMBERD_DRAIN_MAX_MS 60000 /* a draining guest's flows get this long to end */
#define EMBERD_BUSY_IDLE_MS 60000 /* silence before a guest with open flows counts as idle */
#define EMBERD_MEM_CHECK_MS 1000  /* MemAvailable read this often */
#define EMBERD_MEM_EVICT_MS 100	  /* under pressure: one paused guest stopped per period */

struct emberd;
struct image_jobs;

struct watch {
	int fd;
	void (*fn)(struct emberd *d, struct watch *w, uint32_t events);
	void *obj;
};

enum app_state { APP_DEPLOYING, APP_READY, APP_FAILED, APP_REMOVING };

enum guest_state {
	G_BOOTING,   /* the deploy's boot: runs to the ready point, snapshots, exits */
	G_RESTORING, /* restore --paused started, "status" not answered yet */
	G_PAUSED,    /* parked vCPUs, owns a tap: a standby guest */
	G_LIVE,	     /* resumed and in the app's live set */
	G_STOPPING,  /* SIGTERM sent, waiting for its pidfd */
	G_DRAINING,  /* an older version's guest: out of the live set, keeps its flows */
};

/* The states' names in records, logs and the API. */
static inline const char *guest_state_name(enum guest_state s)
{
	static const char *const n[] = {"booting", "restoring", "paused",
					"live",	   "stopping",	"draining"};

	return n[s];
}

/* One wake, time-stamped on CLOCK_MONOTONIC (ns). */
struct wake_times {
	uint64_t event;	    /* router saw the packet (bpf_ktime_get_ns) */
	uint64_t recv;	    /* emberd read the ring-buffer record */
	uint64_t sent;	    /* "resume" written to the control socket */
	uint64_t running;   /* the VMM's vCPUs left their park (mono_ns of the reply) */
	uint64_t ok;	    /* emberd read "ok resumed" */
	uint64_t first;	    /* first packet counted on the guest's slot, 0 = none yet */
	uint64_t pkts0;	    /* the slot's packet count when it went live */
	unsigned int guest; /* guest id */
	bool scale;	    /* not a wake: the autoscaler or min_instances made it live */
	uint64_t restore;   /* tier 3: the restore started (0: tier 2, a paused guest) */
	uint64_t restored;  /* tier 3: the restored clone answered "ok paused" */
};

/*
 * How a wake made a guest live: WAKE_PAUSED resumed a paused guest (tier 2),
 * WAKE_RESTORE restored a clone onto the spare tap first (tier 3, standby 0).
 */
enum wake_tier { WAKE_PAUSED, WAKE_RESTORE, WAKE_TIERS };
/* The tiers' names in logs, the API and the metrics: "paused", "restore". */
extern const char *const wake_tier_names[WAKE_TIERS];

static inline enum wake_tier wake_tier_of(const struct wake_times *w)
{
	return w->restore ? WAKE_RESTORE : WAKE_PAUSED;
}

struct guest {
	struct guest *next;
	struct eapp *app;
	unsigned int id;
	enum guest_state state;
	pid_t pid;
	uint64_t start_ticks; /* /proc/PID/stat starttime: names the process with the PID */
	struct watch pidw;    /* pidfd */
	struct watch ctlw;    /* control socket (restored clones only) */
	char tap[IFNAMSIZ];
	int ifindex;
	int slot;	    /* dataplane slot while live, -1 otherwise */
	uint64_t started;   /* boot or restore started (CLOCK_MONOTONIC ns) */
	uint64_t stop_sent; /* SIGTERM sent (mono ns), 0 = not yet; SIGKILL follows */
	uint64_t live_since;
	uint64_t t3_event, t3_recv; /* a tier-3 wake waits for this restore (recv 0 = none) */
	uint64_t version;	    /* the app version whose snapshot it runs */
	uint64_t drain_since;	    /* G_DRAINING since (mono ns) */
	enum ctl_cmd pending[8];    /* control commands whose reply is still due, oldest first */
	unsigned int npending;
	char rbuf[512];
	size_t rlen;
	struct wake_times *wake; /* the wake being reported, NULL = none */
	struct guest_meter meter;
};

struct eapp {
	struct eapp *next;
	/* Its spec, dataplane id and latest version: the registry's entry, the one
	 * copy (API reads and writes go there); set when the app is made. */
	struct app_entry *entry;
	enum app_state state;
	char error[256];
	char dir[PATH_MAX];
	struct guest *guests;
	int standby_ifindex; /* what the dataplane has as the app's standby tap */
	bool dp_app;	     /* dp_app_set done */
	bool dp_svc;	     /* services registered */
	unsigned int failures;
	unsigned int boot_failures; /* boots of this version that ended before the snapshot */
	uint64_t wakes, wakes_missed;
	uint64_t scale_outs, scale_ins; /* the autoscaler's decisions */
	uint64_t wakes_restore;		/* wakes served by a restore (tier 3) */
	int spare_fd, spare_ifindex;	/* the spare tap (standby 0), fd -1 = none */
	uint64_t version;		/* the version clones are restored from */
	struct app_spec *prev;		/* a redeploy runs: the spec to go back to */
	uint64_t prev_version;		/* and its version */
	bool prune;			/* an older version's snapshot may be unused now */
	bool deleted;			/* DELETE: its directory goes with it */
	bool evicted;			/* memory pressure took paused guests: spare tap kept */
	uint64_t last_used;		/* a guest went live (or the app got ready), mono ns */
	bool switching;			/* its first new clone is not paused yet */
	char spare_tap[IFNAMSIZ];
	uint64_t low_since;	     /* load low enough for one guest fewer since (mono ns) */
	struct wake_times last_wake; /* last reported wake (event 0 = none) */
	struct app_meter meter;
};

/* One of the host's own addresses (IPv4 in the first 4 bytes). */
struct host_addr {
	int family;
	uint8_t a[16];
};
#define EMBERD_HOST_ADDRS   64	 /* host addresses kept in the dataplane */
#define EMBERD_HOST_SYNC_MS 5000 /* how often they are re-read */

/*
 * What the supervision layer reports: emberd_guest.c (VMM processes, pidfds,
 * control channels) and emberd_adopt.c (re-adoption at start) say what
 * happened through these; the policy layer (emberd_pool.c over the app,
 * wake, scale, version and mem files) decides what follows. The pool fills
 * them in (pool_events); no supervision file calls a policy function by name.
 */
struct guest_events {
	/* A boot VMM (G_BOOTING) exited with wait status @status. */
	void (*boot_done)(struct emberd *d, struct guest *g, int status);
	/* A restored or paused clone answered "ok paused". */
	void (*paused)(struct emberd *d, struct guest *g);
	/* "ok resumed": its vCPUs run again (@r->mono_ns: since when). */
	void (*resumed)(struct emberd *d, struct guest *g, const struct ctl_reply *r);
	/* Its VMM answered on the control channel what emberd must not go on
	 * from (another protocol version, an error, a reply it cannot read):
	 * @why, already logged. The VMM is to be stopped, never driven on. */
	void (*ctl_failed)(struct emberd *d, struct guest *g, const char *why);
	/* Any other VMM exited; @g is unlinked from its app and freed after. */
	void (*exited)(struct emberd *d, struct guest *g, int status);
	/* At start: an app and its guests were read back from the state directory. */
	void (*app_adopted)(struct emberd *d, struct eapp *a);
};

struct emberd {
	struct emberd_opts o;
	const struct guest_events *ev; /* the policy's handlers (pool_events) */
	int ep;
	struct watch sigw, tickw, apiw, dpw;
	struct dp *dp;
	int ingress_ifindex;
	enum dp_xdp_mode mode;
	struct api *api;
	struct app_registry *reg;
	struct eapp *apps;
	unsigned int next_guest;
	unsigned int fast_ticks; /* wakes waiting for their first packet */
	int tick_ms;
	bool stop;
	uint8_t slot_used[EMBER_MAX_GUESTS];
	struct host_addr host[EMBERD_HOST_ADDRS]; /* what ember_host_ip holds */
	unsigned int nhost;
	uint64_t host_sync_ns;
	uint64_t stop_check_ns; /* guest_stop_tick() last walked the guests */
	uint64_t mem_check_ns;
	bool mem_low;		/* MemAvailable below --min-avail-mib: no refills, evictions */
	struct image_jobs *img; /* the image store STATE/images and its jobs */
};

/*
 * The calls between emberd's files, from the bottom floor up. A file calls
 * only into its own floor's files or lower ones; the floors below the policy
 * (1-3) report upward through struct guest_events, never by name.
 */

/* --- 1. emberd_loop.c: logging, the clock, the epoll loop's watches and tick. */
/* Logging: one line on stderr, prefixed with the level. */
void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int emberd_verbose;
#define log_err(...)  logf_(0, __VA_ARGS__)
#define log_info(...) logf_(1, __VA_ARGS__)
#define log_dbg(...)                                                                               \
	do {                                                                                       \
		if (emberd_verbose)                                                                \
			logf_(2, __VA_ARGS__);                                                     \
	} while (0)

uint64_t mono_ns(void);
/* mkdir -p (mode 0755); 0 or -errno. */
int emberd_mkdir_p(const char *dir);
/* Registers (w) for (events) in the loop; 0 or -errno. */
int watch_add(struct emberd *d, struct watch *w, uint32_t events);
void watch_del(struct emberd *d, struct watch *w);
/* Sets the tick's period (EMBERD_TICK_MS, EMBERD_FAST_MS, --scale-ms). */
void tick_set(struct emberd *d, int ms);

/* --- 2. emberd_state.c: records in the state directory (emberd_adopt.c reads them back). */
int state_app_save(const struct eapp *a);
void state_app_forget(const struct eapp *a);
void state_guest_save(struct emberd *d, const struct guest *g);
void state_guest_forget(const struct guest *g);
/* One gN.vmm record, parsed. */
struct guest_rec {
	unsigned int id;
	pid_t pid;
	unsigned long long start, version;
	char state[16], tap[IFNAMSIZ], ctl[128];
	int slot, ifindex;
};
/* Reads DIR/NAME (a gN.vmm record) into (r) and removes it (adopted guests
 * get a fresh one); 0 or -errno (-EINVAL: not a record). */
int state_guest_read(const char *dir, const char *name, struct guest_rec *r);
/* RUN/gN.ctl, the restore's --control socket; "" when too long for sun_path. */
void state_ctl_path(struct emberd *d, unsigned int id, char *buf, size_t len);
/* Snapshot directories: a version's made empty, one removed, all removed. */
int state_snap_prepare(const struct eapp *a, uint64_t version);
void state_snap_remove(const struct eapp *a, uint64_t version);
void state_snaps_clear(const struct eapp *a);
/* A deleted app's whole directory, once its VMMs are gone. */
void state_app_dir_remove(const struct eapp *a);
/* /proc/PID/stat's starttime, 0 if the process is gone. */
uint64_t state_proc_start(pid_t pid);
/* DIR/apps/NAME/snap-vVERSION: one snapshot per deployed version. */
void app_snap_dir(const struct eapp *a, uint64_t version, char *buf, size_t len);

/* --- 2. emberd_tap.c: taps. */
/* Opens tap "ember(id)" (gone with its last fd), IPv6 off, up: the fd or
 * -errno; (name) and (ifindex) are filled. */
int tap_open(unsigned int id, char name[IFNAMSIZ], int *ifindex);
/* The app's spare tap (standby 0: packets of a wake queue there); 0 or -errno. */
int spare_tap_open(struct emberd *d, struct eapp *a);
void spare_tap_close(struct eapp *a);

/* --- 2. emberd_host.c: the host's addresses into the dataplane (anti-spoofing). */
void host_addrs_sync(struct emberd *d);

/* --- 3. emberd_guest.c: supervision of VMM processes and their control channels. */
/* Starts the deploy's boot VMM of (a); 0 or -errno (then a->error says why). */
int guest_boot(struct emberd *d, struct eapp *a);
/* Starts a paused clone from a->dir/snap, on a new tap or (on_spare) on
 * the app's spare tap; the new guest is a->guests. 0 or -errno. */
int guest_restore(struct emberd *d, struct eapp *a, bool on_spare);
/* A guest of (a) for a running VMM a previous emberd started: (pidfd) and
 * the connected control socket (ctl) are taken over; NULL when out of memory. */
struct guest *guest_adopt(struct emberd *d, struct eapp *a, unsigned int id, pid_t pid, int pidfd,
			  int ctl);
/* Writes a control command; 0 or -errno. */
int guest_ctl(struct guest *g, enum ctl_cmd cmd);
/* Sends "version" then "status" to a VMM it starts or adopts; 0 or -errno. */
int guest_ctl_hello(struct guest *g);
/* SIGTERM to its VMM; its pidfd finishes the removal. */
void guest_stop(struct emberd *d, struct guest *g);
/* SIGKILL to VMMs that outlived their SIGTERM by EMBERD_STOP_MAX_MS. */
void guest_stop_tick(struct emberd *d, uint64_t now);
/* Waits (bounded) for every VMM of (a) and frees them: shutdown only. */
void guest_reap_all(struct emberd *d, struct eapp *a);

/* --- 3. emberd_image.c, emberd_image_info.c: the image store and its jobs (docs/images.md).
 * Imports and root filesystem builds run in one forked child at a time that
 * reports on a pipe; the loop reads it and the child's pidfd, so no image
 * work ever runs on the loop's thread (the wake path never waits for it).
 * Apart from guests: nothing here calls the policy floors. */
/* Opens STATE/images (a refs.json that does not parse is an error), removes
 * what a crashed root filesystem build left in STATE/images/rootfs;
 * 0 or -errno, logged. */
int images_open(struct emberd *d);
/* Kills a running job's child, waits for it, closes the store; shutdown only. */
void images_close(struct emberd *d);
/* The API backend's image calls (struct api_backend_ops, docs/api.md). */
int images_import(void *ctx, const char *path, const char *name, struct api_reply *rep);
int images_job(void *ctx, unsigned int id, struct api_reply *rep);
int images_list(void *ctx, struct api_reply *rep);
int images_get(void *ctx, const char *ref, struct api_reply *rep);
int images_remove(void *ctx, const char *ref, struct api_reply *rep);
/* emberd_image.c for emberd_image_info.c: whether a job is queued or running
 * (the store must not change under it); the store; its rootfs directory. */
bool images_busy(const struct emberd *d);
struct store *images_store(const struct emberd *d);
const char *images_rootfs_dir(const struct emberd *d);
/* What root filesystems are built as: an enum rootfs_fs, ROOTFS_EXT4 by "image_fs". */
int images_fs(const struct emberd *d);
/* emberd_image.c for emberd_image_pull.c: queues a job of (source), an
 * import path when (pull) is NULL, else a pull's reference; (pull) becomes
 * the job's (freed with it, even on failure). 202 in (rep), or -1. */
struct image_pull;
int images_queue(struct emberd *d, const char *source, const char *name, struct image_pull *pull,
		 struct api_reply *rep);
/* The manifest (ref) names, as an app names an image, into (digest), and its
 * config parsed into (c) (oci_config_free() it). 0, -ENOENT (no such image:
 * (e) says how to add it) or -errno with (e). */
struct oci_config;
struct img_err;
int images_resolve(struct emberd *d, const char *ref, char digest[APP_DIGEST_MAX],
		   struct oci_config *c, struct img_err *e);

/* emberd_image_app.c: an app's image made bootable (docs/images.md, docs/guest-run.md). */
/*
 * Fills (spec)->boot from its image (ember's kernel, the image's root
 * filesystem, its manifest digest) or its host image (emberd's config), and
 * expands services without a port into the image's ExposedPorts. For an
 * OCI image, (*run, *runlen) is ember-init's run config (malloc'd; free it),
 * else NULL. 0, or -EINVAL / -ENOENT with (err) naming the field.
 */
int image_app_resolve(struct emberd *d, struct app_spec *spec, char **run, size_t *runlen,
		      struct app_err *err);
/* Writes (dir)/initrd.cpio, ember's initramfs with (run) appended as
 * ember/run, and points (spec)->boot.initrd at it. 0 or -errno, with a
 * sentence in (why). */
int image_app_initrd(struct emberd *d, struct app_spec *spec, const char *dir, const char *run,
		     size_t runlen, char *why, size_t whylen);

/* --- 3. emberd_image_pull.c: a pull's part of an image job (the registry, its credentials). */
struct store;
struct import_opts;
struct import_result;
/* The API backend's pull (docs/api.md, Images): 400 for a reference or
 * options the registry client refuses, else a queued job. */
int images_pull(void *ctx, const struct api_image_pull *p, struct api_reply *rep);
/* In the job's child: image_pull() of (p) into (st) (image/pull.h). */
int image_pull_run(struct store *st, const struct image_pull *p, const char *name,
		   const struct import_opts *io, struct import_result *ir, struct img_err *e);
/* Wipes (p)'s credentials (once the child has its copy); frees (p) (may be NULL). */
void image_pull_forget(struct image_pull *p);
void image_pull_free(struct image_pull *p);
/* Adds (p)'s members ("pull", "insecure"; never a credential) to a job's JSON. */
void image_pull_json(const struct image_pull *p, json_t *job);

/* --- 3. emberd_meter.c (emberd_meter.h): usage accounting. */

/* --- 4. emberd_app.c: an app's guests as the dataplane sees them. */
/* An app's spec, name and dataplane id: its registry entry's, never copies. */
static inline const struct app_spec *app_spec_of(const struct eapp *a)
{
	return &a->entry->spec;
}
static inline const char *app_name(const struct eapp *a)
{
	return a->entry->spec.name;
}
static inline uint32_t app_id(const struct eapp *a)
{
	return a->entry->id;
}
/* The spec a guest of (version) was booted from: the previous one while a
 * new version deploys (its clones are still restored), else the entry's. */
static inline const struct app_spec *app_spec_of_version(const struct eapp *a, uint64_t version)
{
	return a->prev && version == a->prev_version ? a->prev : &a->entry->spec;
}
struct eapp *app_by_name(struct emberd *d, const char *name);
struct eapp *app_by_id(struct emberd *d, uint32_t id);
/* How many of (a)'s guests are in state (s). */
unsigned int app_count(const struct eapp *a, enum guest_state s);
/* A free dataplane slot, now taken; -1 if none. */
int app_slot_alloc(struct emberd *d);
/* (g) into its app's live set in the dataplane, on (slot); 0 or -EIO. */
int app_route_guest(struct emberd *d, struct guest *g, int slot);
/* (g) out of the live set, its slot freed. */
void app_unroute_guest(struct emberd *d, struct guest *g);
/* The app's dataplane entry with (standby) as its standby tap; 0 or -EIO. */
int app_dp_set(struct emberd *d, struct eapp *a, int standby);
/* Points the standby tap at the right guest (see emberd_app.c). */
void app_standby_sync(struct emberd *d, struct eapp *a);
struct dp_service app_dp_service(const struct app_service *x);
int app_services_add(struct emberd *d, struct eapp *a);
void app_services_del(struct emberd *d, struct eapp *a);
/* The router's count of open TCP flows on (g)'s slot in (*n): 0, or -1 and
 * *n = 0 when (g) has no slot (not in the dataplane) or the map read failed. */
int app_guest_flows(struct emberd *d, const struct guest *g, uint64_t *n);
/* (g), live, leaves the live set: paused (pool not full) or stopped. */
void app_guest_sleep(struct emberd *d, struct eapp *a, struct guest *g);

/* --- 5. emberd_wake.c: making paused guests live (wakes, scale-outs). */
/* The dataplane's ring-buffer callback: resume a paused guest, or restore one (tier 3). */
int wake_event(void *ctx, const struct dp_wake_event *ev);
/* Resumes paused (g) and makes it live; (event) 0: not a wake. 0 or -errno. */
int wake_activate(struct emberd *d, struct guest *g, uint64_t event, uint64_t recv);
/* (g), paused, goes live without a wake (a scale-out); 0 or -errno. */
int wake_scale_out(struct emberd *d, struct guest *g);
/* guest_events.resumed: "ok resumed" for a wake or scale-out. */
void wake_resumed(struct emberd *d, struct guest *g, const struct ctl_reply *r);
/* The log line and last_wake of a wake (or scale-out) once it is complete. */
void wake_report(struct emberd *d, struct guest *g);
/* The tick's period from what is going on (1 ms, --scale-ms, 100 ms). */
void wake_tick_update(struct emberd *d);

/* --- 5. emberd_scale.c: the autoscaler, each tick while the app has live guests. */
void autoscale(struct emberd *d, struct eapp *a, uint64_t now);

/* --- 5. emberd_mem.c: memory pressure stops paused guests, LRU app first. */
void mem_tick(struct emberd *d, uint64_t now);

/* --- 5. emberd_version.c: deploying a new version of a ready app (PUT). */
/* Starts the new version's boot, its initrd made with (run) (an OCI image's
 * run config from image_app_resolve(), NULL for a host image); 0, or fills
 * (err) and returns -errno. */
int version_deploy(struct emberd *d, struct eapp *a, const struct app_spec *spec, const char *run,
		   size_t runlen, struct app_err *err);
void version_boot_done(struct emberd *d, struct eapp *a, uint64_t version);
void version_fail(struct emberd *d, struct eapp *a, const char *why);
/* The new version's first clone is paused: it takes over, old guests drain. */
void version_switch(struct emberd *d, struct eapp *a, struct guest *g);
/* Draining guests whose flows ended stop; unused snapshots go. */
void version_tick(struct emberd *d, struct eapp *a, uint64_t now);

/* --- 6. emberd_pool.c: the policy's top: what each supervision report leads to, the tick. */
extern const struct guest_events pool_events;
void pool_tick(struct emberd *d);
void pool_remove_app(struct emberd *d, struct eapp *a);
void pool_shutdown(struct emberd *d);

/* --- 7. emberd_adopt.c: at start, after the dataplane: apps and VMMs back from the records. */
int adopt_all(struct emberd *d);

/* --- 7. emberd_api.c: the REST backend (emberd_metrics.c, emberd_logs.c beside it). */
extern const struct api_backend_ops emberd_api_ops;

#endif
