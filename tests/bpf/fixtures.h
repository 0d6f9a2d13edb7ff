// SPDX-License-Identifier: Apache-2.0
/* The test world shared by the fixtures and the randomized test: apps, guests, VIPs, clients. */
#ifndef EMBER_TESTS_BPF_FIXTURES_H
#define EMBER_TESTS_BPF_FIXTURES_H

#include "frames.h"
#include "harness.h"

/*
 * App 1: VIP4 203.0.113.10 / VIP6 2001:db8:10::10, TCP 80 + UDP 53; guest
 *        slot 10 on tap[0] (slot 11 on tap[1] joins later); standby tap[2].
 * App 2: VIP4 203.0.113.20 TCP 80, VIP6 2001:db8:20::20 UDP 53; no guest,
 *        standby tap[3].
 * App 3: VIP4 203.0.113.30 TCP 80; guest slot 20 on tap[4]; no standby.
 * tap[5] has no guest; tap[7] is the uplink (198.51.100.1, 2001:db8:1::1).
 */
#define APP1   1u
#define APP2   2u
#define APP3   3u
#define SLOT10 10u
#define SLOT11 11u
#define SLOT20 20u

extern const uint8_t VIP4_A1[16], VIP6_A1[16], VIP4_A2[16], VIP6_A2[16], VIP4_A3[16];
extern const uint8_t CLIENT4[16], CLIENT6[16], CLIENT4_NONEIGH[16], HOST4[16];
extern const uint8_t INSIDE4[16], INSIDE6[16];
extern const uint8_t MAC_CLIENT[6], MAC_NIC[6], MAC_G10[6], MAC_G11[6], MAC_G20[6];
extern const uint8_t MAC_UPLINK_PEER[6];

/* Configures the world above (guest 11 not yet live). Returns 0 or -errno. */
int world_setup(struct harness *h);
/* Makes guest slot 11 live on tap[1]. */
int world_add_guest11(struct harness *h);

/* A client -> VIP frame spec: a TCP SYN, or an ACK (a later packet of the
 * flow) while spec_later is set. */
extern int spec_later;
struct fspec spec_in(int family, const uint8_t *vip, uint8_t proto, uint16_t sport, uint16_t dport);
/* The same frame as the router must emit it towards a guest with (mac). */
struct fspec spec_to_guest(const struct fspec *in, const uint8_t mac[6]);
/* A guest's reply to (in), as the guest sends it (from (mac), inside address). */
struct fspec spec_reply(const struct fspec *in, const uint8_t mac[6]);

/* Failure reporting shared by the fixture files: prints "FAIL: ..." and counts. */
extern int failures;
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Map helpers of the stateful fixtures (stateful.c). */
uint64_t load_of(struct harness *h, uint32_t slot);		  /* ember_load[slot] */
int zero_entry(struct harness *h, const char *map, uint32_t key); /* array entry -> 0 */
int svc_gen_bump(struct harness *h, uint32_t app_id);		  /* as dp_service_del() */
/* One packet from client port (port) to IPv4 (vip):(dport)/(proto), with TCP (flags), through
 * the router; (d) says what it decided. Returns the action, -1 without a decision. */
int run_in(struct harness *h, const uint8_t *vip, uint8_t proto, uint16_t port, uint16_t dport,
	   uint8_t flags, struct ember_debug *d);
/* A TCP SYN, or (later) ACK, from client port (port) to VIP4_A1:80: the tap index it went to. */
int route_port(struct harness *h, uint16_t port, int later);
/* Puts (slot) in or out of app (app_id)'s live set (out: draining). 0 or -1. */
int live_set(struct harness *h, uint32_t app_id, uint32_t slot, int live);

/* Stateful fixtures (stateful*.c), run after the table in main()'s order: they share the maps. */
void test_fin(struct harness *h);
void test_wake(struct harness *h, int burst);
void test_stickiness(struct harness *h);
void test_drain(struct harness *h);
void test_standby_rewrite(struct harness *h);
void test_zeroed_entries(struct harness *h);
void test_service_change(struct harness *h);
void test_cached_fin(struct harness *h);
void test_cache_cross_cpu(struct harness *h);
void test_cache_collisions(struct harness *h);
void test_slot_reuse(struct harness *h);
void test_syn_reopen(struct harness *h);
void test_unknown_close(struct harness *h);

#endif
