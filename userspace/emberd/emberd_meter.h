/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's metering: per-guest and per-app CPU, memory, traffic and wake counters, and their
 * routes. */
#ifndef EMBER_USERSPACE_EMBERD_METER_H
#define EMBER_USERSPACE_EMBERD_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "dp/dp.h"
#include "meter.h"
#include "meter_record.h"

/*
 * Sampled by meter_tick() at most once a second from the pool's tick:
 * /proc/PID/stat and smaps_rollup of every VMM, /proc/net/dev for the taps,
 * the dataplane's app counters. A guest's slot counters are read when it
 * enters and leaves the live set (slots are reused by later guests, so only
 * the difference over its own time on a slot is its own). Everything is kept
 * in these two structs, embedded in struct guest and struct eapp: nothing to
 * allocate or free. docs/emberd.md (Metering) says what each number means.
 */

struct guest_meter {
	struct meter_totals t;
	uint64_t sampled_ns;   /* last /proc sample (CLOCK_MONOTONIC), 0 = none */
	uint64_t flows_closed; /* new flows counted on slots it has left */
	uint64_t flows_base;   /* its slot's new_flows when it got the slot */
	int slot;	       /* the slot of the open interval, if slot_open */
	bool slot_open;
};

struct app_meter {
	struct meter_totals gone;   /* cpu, memory-time, traffic of exited guests */
	struct dp_counters dp0;	    /* the app id's counters when metering began */
	struct dp_counters dp;	    /* since then, as of the last sample */
	bool dp0_set;		    /* app ids are reused: dp0 is subtracted */
	struct dp_counters carry;   /* counted before the counters restarted (new maps) */
	uint64_t saved_ns;	    /* meter.json last written (mono ns), 0 = never */
	struct meter_hist to_first; /* wake event -> first packet from the guest */
	struct meter_hist to_ok;    /* wake event -> "ok resumed" read */
};

struct emberd;
struct guest;
struct eapp;
struct wake_times;

/* Samples every guest and app when a second has passed since the last
 * time; cheap otherwise (it is called on every tick, 1 ms while waking). */
void meter_tick(struct emberd *d);
/* (g) is about to get dataplane slot (slot): its slot counters start here. */
void meter_guest_route(struct emberd *d, struct guest *g, int slot);
/* (g) leaves its slot: the flows counted there are its own. */
void meter_guest_unroute(struct emberd *d, struct guest *g);
/* (g)'s VMM is gone: what it used moves into its app's totals. */
void meter_guest_exited(struct emberd *d, struct guest *g);
/* A reported wake of (a): into the latency histograms. */
void meter_wake(struct eapp *a, const struct wake_times *w);
/* Writes (a)'s DIR/apps/NAME/meter.json (meter_record.h): what a restart
 * of emberd must not lose. meter_tick() calls it every 10 s, pool_shutdown()
 * once more at the end. */
void meter_save(struct eapp *a);
/* At start, after (a)'s guests were adopted: takes its meter.json back.
 * Adopted guests keep their memory-time and flows; recorded guests that were
 * not adopted count as gone with their totals as of the last save. */
void meter_restore(struct eapp *a);
/* (a)'s totals: exited guests, current guests, the dataplane's app counters. */
void meter_app_totals(const struct eapp *a, struct meter_totals *t);
/* The instance id of (g): "APP-N", "APP-boot" for the deploy's boot. */
void meter_instance_id(const struct guest *g, char *buf, size_t len);

/* The API backend ops of GET /metrics (emberd_metrics.c) and
 * GET /v1/apps/{name}/logs (emberd_logs.c). */
int emberd_metrics(void *ctx, struct api_reply *rep);
int emberd_logs(void *ctx, const char *name, const struct api_logs_query *q, struct api_reply *rep);
/* Removes the console files (gN.console, boot.console) of the app directory (dir). */
void emberd_consoles_forget(const char *dir);

/* Reads and parses /proc/PID/stat; 0, or -errno if the process is gone. */
int meter_read_stat(pid_t pid, struct meter_stat *st);

#endif
