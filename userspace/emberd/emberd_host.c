/* SPDX-License-Identifier: Apache-2.0 */
/* The host's own addresses, kept in the dataplane so guests cannot send to them (anti-spoofing). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "emberd.h"

/*
 * The guest program drops a guest's frame to any address in ember_host_ip
 * (EMBER_DROP_TO_HOST): without the entries, bpf_fib_lookup finds a local
 * route for such a frame and the host's own services would be reachable
 * from every tenant. emberd fills the map from getifaddrs() of its network
 * namespace at start and re-reads it every EMBERD_HOST_SYNC_MS, adding new
 * addresses and removing the ones that went away.
 */

static bool addr_in(const struct host_addr *v, unsigned int n, const struct host_addr *x)
{
	for (unsigned int i = 0; i < n; i++)
		if (v[i].family == x->family && !memcmp(v[i].a, x->a, sizeof(x->a)))
			return true;
	return false;
}

static const char *addr_str(const struct host_addr *x)
{
	static char buf[INET6_ADDRSTRLEN];

	return inet_ntop(x->family, x->a, buf, sizeof(buf)) ? buf : "?";
}

void host_addrs_sync(struct emberd *d)
{
	struct host_addr now[EMBERD_HOST_ADDRS];
	struct ifaddrs *list, *i;
	unsigned int n = 0;

	d->host_sync_ns = mono_ns();
	if (getifaddrs(&list)) {
		log_err("reading the host's addresses: %m (anti-spoofing entries not updated)");
		return;
	}
	for (i = list; i && n < EMBERD_HOST_ADDRS; i = i->ifa_next) {
		struct host_addr x = {0};

		if (!i->ifa_addr)
			continue;
		x.family = i->ifa_addr->sa_family;
		if (x.family == AF_INET)
			memcpy(x.a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		else if (x.family == AF_INET6)
			memcpy(x.a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		else
			continue;
		if (!addr_in(now, n, &x))
			now[n++] = x;
	}
	freeifaddrs(list);
	for (unsigned int k = 0; k < n; k++) {
		if (addr_in(d->host, d->nhost, &now[k]))
			continue;
		if (dp_host_addr_add(d->dp, now[k].family, now[k].a))
			log_err("host address %s: %s", addr_str(&now[k]), dp_errmsg(d->dp));
		else
			log_dbg("host address %s: guests may not send to it", addr_str(&now[k]));
	}
	for (unsigned int k = 0; k < d->nhost; k++) {
		if (addr_in(now, n, &d->host[k]))
			continue;
		dp_host_addr_del(d->dp, d->host[k].family, d->host[k].a);
		log_dbg("host address %s is gone", addr_str(&d->host[k]));
	}
	memcpy(d->host, now, n * sizeof(now[0]));
	d->nhost = n;
}
