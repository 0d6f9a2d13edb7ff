/* SPDX-License-Identifier: Apache-2.0 */
/* emberd's metering: samples VMM CPU and memory, tap traffic and dataplane counters once a second.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmm/fileio.h"
#include "emberd.h"

#define METER_PERIOD_NS 1000000000ull
#define METER_SAVE_NS	(10 * METER_PERIOD_NS)

int meter_read_stat(pid_t pid, struct meter_stat *st)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return meter_parse_stat(buf, st);
}

/* /proc/PID/stat of (g)'s VMM, if the process is still the one started. */
static int read_stat(const struct guest *g, struct meter_stat *st)
{
	if (meter_read_stat(g->pid, st))
		return -EINVAL;
	/* A PID reused by another process between its exit and our pidfd
	 * event must not be metered as the guest. */
	return g->start_ticks && st->start != g->start_ticks ? -ESRCH : 0;
}

static int read_mem(pid_t pid, uint64_t *rss, uint64_t *pss)
{
	char path[64];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	rc = meter_parse_smaps_rollup(f, rss, pss);
	fclose(f);
	return rc;
}

/* CPU and memory of (g)'s process; memory-time as the trapezoid between
 * two samples (a paused guest's PSS is flat, a live one's grows). */
static void sample_proc(struct guest *g, uint64_t now)
{
	static long hz;
	struct guest_meter *m = &g->meter;
	struct meter_stat st;
	uint64_t rss = 0, pss = 0;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	if (read_stat(g, &st) || read_mem(g->pid, &rss, &pss))
		return; /* gone: the last sample stands */
	m->t.cpu_ns = (st.utime + st.stime) * (1000000000ull / (uint64_t)hz);
	if (m->sampled_ns && now > m->sampled_ns)
		m->t.pss_kib_ms += (m->t.pss_kib + pss) * ((now - m->sampled_ns) / 1000000) / 2;
	m->t.rss_kib = rss;
	m->t.pss_kib = pss;
	m->sampled_ns = now;
}

/* The tap counts from the host's side: its tx went into the guest. */
static void sample_tap(struct guest *g, const struct meter_ifstat *ifs, size_t n)
{
	const struct meter_ifstat *s = g->tap[0] ? meter_ifstat_find(ifs, n, g->tap) : NULL;

	if (!s)
		return;
	g->meter.t.rx_bytes = s->tx_bytes;
	g->meter.t.rx_packets = s->tx_packets;
	g->meter.t.tx_bytes = s->rx_bytes;
	g->meter.t.tx_packets = s->rx_packets;
}

/* Flows counted on the slot since (g) got it; a slot (g) never got (its
 * dp_guest_add failed) is dropped. */
static void sample_slot(struct emberd *d, struct guest *g, bool close)
{
	struct guest_meter *m = &g->meter;
	struct dp_counters c;

	if (!m->slot_open)
		return;
	if (g->slot != m->slot || dp_guest_counters(d->dp, (uint32_t)m->slot, &c)) {
		m->slot_open = false;
		m->t.new_flows = m->flows_closed;
		return;
	}
	m->t.new_flows = m->flows_closed + (c.new_flows - m->flows_base);
	if (close) {
		m->flows_closed = m->t.new_flows;
		m->slot_open = false;
	}
}

static void sample_app(struct emberd *d, struct eapp *a)
{
	struct app_meter *m = &a->meter;
	struct dp_counters c;

	if (dp_app_counters(d->dp, app_id(a), &c))
		return;
	/* Counters below the baseline: the maps were made anew (a start that
	 * found no pins). What was counted so far is carried over. */
	if (m->dp0_set && (c.packets < m->dp0.packets || c.new_flows < m->dp0.new_flows)) {
		m->carry = m->dp;
		m->dp0_set = false;
	}
	if (!m->dp0_set) {
		m->dp0 = c;
		m->dp0_set = true;
	}
	m->dp.packets = m->carry.packets + (c.packets - m->dp0.packets);
	m->dp.bytes = m->carry.bytes + (c.bytes - m->dp0.bytes);
	m->dp.new_flows = m->carry.new_flows + (c.new_flows - m->dp0.new_flows);
	m->dp.drops = m->carry.drops + (c.drops - m->dp0.drops);
	m->dp.last_seen_ns = c.last_seen_ns;
}

/* Taps of every guest, from one read of /proc/net/dev; NULL when unreadable. */
static struct meter_ifstat *read_taps(size_t *n)
{
	struct meter_ifstat *v = NULL;
	FILE *f = fopen("/proc/net/dev", "re");

	*n = 0;
	if (!f)
		return NULL;
	if (meter_parse_netdev(f, "ember", &v, n))
		v = NULL;
	fclose(f);
	return v;
}

static void totals_add(struct meter_totals *t, const struct meter_totals *g)
{
	t->cpu_ns += g->cpu_ns;
	t->pss_kib_ms += g->pss_kib_ms;
	t->rx_bytes += g->rx_bytes;
	t->rx_packets += g->rx_packets;
	t->tx_bytes += g->tx_bytes;
	t->tx_packets += g->tx_packets;
	t->new_flows += g->new_flows;
}

void meter_tick(struct emberd *d)
{
	/* One daemon per process: the last sample time needs no home in struct emberd. */
	static uint64_t last;
	uint64_t now = mono_ns();
	struct meter_ifstat *ifs;
	size_t n;

	if (last && now - last < METER_PERIOD_NS)
		return;
	last = now;
	ifs = read_taps(&n);
	for (struct eapp *a = d->apps; a; a = a->next) {
		sample_app(d, a);
		for (struct guest *g = a->guests; g; g = g->next) {
			sample_proc(g, now);
			sample_tap(g, ifs, n);
			sample_slot(d, g, false);
		}
		if (now - a->meter.saved_ns >= METER_SAVE_NS)
			meter_save(a);
	}
	free(ifs);
}

void meter_save(struct eapp *a)
{
	struct meter_record r = {
		.gone = a->meter.gone,
		.dp0 = a->meter.dp0,
		.dp = a->meter.dp,
		.wakes = a->wakes,
		.wakes_missed = a->wakes_missed,
		.wakes_restore = a->wakes_restore,
		.scale_outs = a->scale_outs,
		.scale_ins = a->scale_ins,
		.to_first = a->meter.to_first,
		.to_ok = a->meter.to_ok,
	};
	char path[PATH_MAX + 16], *text;
	size_t n = 0;
	int rc;

	a->meter.saved_ns = mono_ns();
	if (a->state == APP_REMOVING) /* its directory goes */
		return;
	for (struct guest *g = a->guests; g; g = g->next)
		n++;
	r.guests = calloc(n ? n : 1, sizeof(*r.guests));
	if (!r.guests)
		return;
	for (struct guest *g = a->guests; g; g = g->next) {
		r.guests[r.nguests].id = g->id;
		r.guests[r.nguests++].t = g->meter.t;
	}
	text = meter_record_dump(&r);
	free(r.guests);
	snprintf(path, sizeof(path), "%s/meter.json", a->dir);
	rc = text ? file_replace_buf(path, 0644, false, text, strlen(text)) : -ENOMEM;
	free(text);
	if (rc)
		log_err("app %s: writing %s: %s (metering since the last save would not survive "
			"a restart)",
			app_name(a), path, strerror(-rc));
}

static struct guest *guest_by_id(struct eapp *a, unsigned int id)
{
	for (struct guest *g = a->guests; g; g = g->next)
		if (g->id == id)
			return g;
	return NULL;
}

void meter_restore(struct eapp *a)
{
	char path[PATH_MAX + 16], err[256];
	struct app_meter *m = &a->meter;
	struct meter_record r;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/meter.json", a->dir);
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			log_err("app %s: %s: %s: metering starts from zero", app_name(a), path,
				strerror(errno));
		return;
	}
	rc = meter_record_read(f, &r, err, sizeof(err));
	fclose(f);
	if (rc) {
		log_err("app %s: %s is not usable (%s): metering starts from zero", app_name(a),
			path, err);
		return;
	}
	m->gone = r.gone;
	m->dp0 = r.dp0;
	m->dp = r.dp;
	m->dp0_set = true;
	m->to_first = r.to_first;
	m->to_ok = r.to_ok;
	a->wakes = r.wakes;
	a->wakes_missed = r.wakes_missed;
	a->wakes_restore = r.wakes_restore;
	a->scale_outs = r.scale_outs;
	a->scale_ins = r.scale_ins;
	for (size_t i = 0; i < r.nguests; i++) {
		struct meter_totals *t = &r.guests[i].t;
		struct guest *g = guest_by_id(a, r.guests[i].id);

		if (g) {
			/* CPU and tap counts come back from the kernel; the
			 * integral and the flows of left slots from the record. */
			g->meter.t.pss_kib_ms = t->pss_kib_ms;
			g->meter.flows_closed = t->new_flows;
			continue;
		}
		t->rss_kib = t->pss_kib = 0;
		totals_add(&m->gone, t);
	}
	meter_record_free(&r);
	log_dbg("app %s: metering restored from %s", app_name(a), path);
}

void meter_guest_route(struct emberd *d, struct guest *g, int slot)
{
	struct dp_counters c;

	/* Read before the slot is routed: nothing counts on a free slot. */
	g->meter.slot_open = !dp_guest_counters(d->dp, (uint32_t)slot, &c);
	g->meter.slot = slot;
	g->meter.flows_base = g->meter.slot_open ? c.new_flows : 0;
}

void meter_guest_unroute(struct emberd *d, struct guest *g)
{
	sample_slot(d, g, true);
}

void meter_guest_exited(struct emberd *d, struct guest *g)
{
	sample_slot(d, g, true);
	g->meter.t.rss_kib = g->meter.t.pss_kib = 0;
	totals_add(&g->app->meter.gone, &g->meter.t);
}

void meter_wake(struct eapp *a, const struct wake_times *w)
{
	/* A guest the autoscaler or min_instances resumed is not a wake:
	 * no packet waited for it. */
	if (w->scale || w->event == w->recv)
		return;
	if (w->first > w->event)
		meter_hist_add(&a->meter.to_first, (w->first - w->event) / 1000);
	if (w->ok > w->event)
		meter_hist_add(&a->meter.to_ok, (w->ok - w->event) / 1000);
}

void meter_app_totals(const struct eapp *a, struct meter_totals *t)
{
	*t = a->meter.gone;
	for (const struct guest *g = a->guests; g; g = g->next) {
		totals_add(t, &g->meter.t);
		t->rss_kib += g->meter.t.rss_kib;
		t->pss_kib += g->meter.t.pss_kib;
	}
	/* The router's own count for the app: the same flows as its guests'
	 * slots, and it also holds those of guests that left no meter (a
	 * guest that was live when emberd restarted). */
	t->new_flows = a->meter.dp.new_flows;
}

void meter_instance_id(const struct guest *g, char *buf, size_t len)
{
	if (g->state == G_BOOTING)
		snprintf(buf, len, "%s-boot", app_name(g->app));
	else
		snprintf(buf, len, "%s-%u", app_name(g->app), g->id);
}
