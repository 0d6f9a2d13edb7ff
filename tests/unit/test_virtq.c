// SPDX-License-Identifier: Apache-2.0
/* Unit tests of split-virtqueue parsing: hostile rings must be refused exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "virtqueue.h"

#define RAM   (40u << 20)
#define QSZ   8
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000

struct fx {
	uint8_t *ram;
	struct guest_mem m;
	struct virtq vq;
	struct virtq_chain c;
};

static struct vring_desc *desc(struct fx *f)
{
	return (struct vring_desc *)(f->ram + DESC);
}

static struct vring_avail *avail(struct fx *f)
{
	return (struct vring_avail *)(f->ram + AVAIL);
}

static struct vring_used *used(struct fx *f)
{
	return (struct vring_used *)(f->ram + USED);
}

static void set_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	desc(f)[i] = (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

static void offer(struct fx *f, uint16_t head)
{
	avail(f)->ring[avail(f)->idx % QSZ] = head;
	avail(f)->idx++;
}

static int setup_q(struct fx *f, bool event_idx)
{
	return virtq_init(&f->vq, &f->m, QSZ, DESC, AVAIL, USED, event_idx);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->ram = calloc(1, RAM);
	mem_layout(&f->m, f->ram, RAM);
	assert_int_equal(setup_q(f, false), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

/* Offer a one-descriptor chain at head 0 built by the caller, expect @err. */
static void expect_pop(struct fx *f, int want)
{
	assert_int_equal(virtq_pop(&f->vq, &f->c), want);
}

static void test_init_refusals(void **state)
{
	struct fx *f = *state;
	struct virtq vq;

	assert_int_equal(virtq_init(&vq, &f->m, 0, DESC, AVAIL, USED, false), -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 3, DESC, AVAIL, USED, false), -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 512, DESC, AVAIL, USED, false), -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 8, DESC + 8, AVAIL, USED, false), -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 8, DESC, AVAIL + 1, USED, false), -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 8, DESC, AVAIL, USED + 2, false), -VQ_ERR_RING);
	/* Rings that end one byte past RAM. */
	assert_int_equal(virtq_init(&vq, &f->m, 8, RAM - 16 * 8 + 16, AVAIL, USED, false),
			 -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 8, DESC, RAM - 6 - 16 + 2, USED, false),
			 -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 8, DESC, AVAIL, RAM - 6 - 64 + 4, false),
			 -VQ_ERR_RING);
	assert_int_equal(virtq_init(&vq, &f->m, 8, 0xd0000000ull, AVAIL, USED, false),
			 -VQ_ERR_RING);
	assert_int_equal(vq.size, 0);
	/* Exactly at the end is fine. */
	assert_int_equal(virtq_init(&vq, &f->m, 8, RAM - 128, AVAIL, RAM - 6 - 64 - 2, false), 0);
}

static void test_good_chain(void **state)
{
	struct fx *f = *state;

	expect_pop(f, 0); /* empty */
	set_desc(f, 0, 0x10000, 100, VRING_DESC_F_NEXT, 5);
	set_desc(f, 5, 0x11000, 20, VRING_DESC_F_NEXT, 2);
	set_desc(f, 2, 0x20000, 200, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	expect_pop(f, 1);
	assert_int_equal(f->c.head, 0);
	assert_int_equal(f->c.n_out, 2);
	assert_int_equal(f->c.n_in, 1);
	assert_int_equal(f->c.out_len, 120);
	assert_int_equal(f->c.in_len, 200);
	assert_ptr_equal(f->c.iov[0].iov_base, f->ram + 0x10000);
	assert_ptr_equal(f->c.iov[1].iov_base, f->ram + 0x11000);
	assert_ptr_equal(f->c.iov[2].iov_base, f->ram + 0x20000);
	assert_int_equal(f->c.iov[2].iov_len, 200);
	expect_pop(f, 0);

	virtq_push(&f->vq, 0, 77);
	assert_int_equal(used(f)->idx, 1);
	assert_int_equal(used(f)->ring[0].id, 0);
	assert_int_equal(used(f)->ring[0].len, 77);
}

static void test_unpop(void **state)
{
	struct fx *f = *state;

	set_desc(f, 3, 0x10000, 64, VRING_DESC_F_WRITE, 0);
	offer(f, 3);
	expect_pop(f, 1);
	virtq_unpop(&f->vq);
	expect_pop(f, 1);
	assert_int_equal(f->c.head, 3);
	expect_pop(f, 0);
}

static void test_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x10000, 8, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, 0x10000, 8, VRING_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_LOOP);
}

static void test_self_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, 4, 0x10000, 0, VRING_DESC_F_NEXT, 4);
	offer(f, 4);
	expect_pop(f, -VQ_ERR_LOOP);
}

static void test_full_length_chain_ok(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < QSZ; i++)
		set_desc(f, i, 0x10000 + i * 16, 16, i < QSZ - 1 ? VRING_DESC_F_NEXT : 0, i + 1);
	offer(f, 0);
	expect_pop(f, 1);
	assert_int_equal(f->c.n_out, QSZ);
}

static void test_addr_out_of_range(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, RAM - 10, 11, 0, 0); /* one byte past the end */
	offer(f, 0);
	expect_pop(f, -VQ_ERR_ADDR);
}

static void test_addr_wraps(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, UINT64_MAX - 15, 32, 0, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_ADDR);
}

static void test_addr_second_desc(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, 0xd0000000ull, 16, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_ADDR);
}

static void test_len_single_huge(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x10000, UINT32_MAX, 0, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_LEN);
}

static void test_len_total(void **state)
{
	struct fx *f = *state;

	/* Each is inside RAM; together they exceed VIRTQ_MAX_CHAIN_BYTES. */
	set_desc(f, 0, 0x100000, 8u << 20, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, 0x100000, 8u << 20, VRING_DESC_F_NEXT, 2);
	set_desc(f, 2, 0x100000, 1, 0, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_LEN);
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x10000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, 0x11000, 16, 0, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_ORDER);
}

static void test_indirect_refused(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x10000, 16 * 4, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_INDIRECT);
}

static void test_indirect_later_in_chain(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, 0x10000, 16 * 4, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_INDIRECT);
}

static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;

	offer(f, QSZ);
	expect_pop(f, -VQ_ERR_HEAD);
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, 0x10000, 16, VRING_DESC_F_NEXT, 0xffff);
	offer(f, 0);
	expect_pop(f, -VQ_ERR_NEXT);
}

static void test_avail_idx_jump(void **state)
{
	struct fx *f = *state;

	avail(f)->idx = QSZ + 1;
	expect_pop(f, -VQ_ERR_AVAIL_IDX);
	avail(f)->idx = 0xffff; /* "backwards" is a jump of 65535 */
	expect_pop(f, -VQ_ERR_AVAIL_IDX);
	/* Exactly a full ring is legal. */
	for (unsigned i = 0; i < QSZ; i++)
		set_desc(f, i, 0x10000, 16, 0, 0);
	avail(f)->idx = QSZ;
	expect_pop(f, 1);
}

static void test_idx_wraparound(void **state)
{
	struct fx *f = *state;

	/* A driver that has been running a while: indexes near 65535. */
	assert_int_equal(setup_q(f, true), 0);
	used(f)->idx = 0xfffe;
	avail(f)->idx = 0xfffe;
	f->vq.used_idx = f->vq.last_avail = f->vq.signalled_used = 0xfffe;
	set_desc(f, 1, 0x10000, 16, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++)
		offer(f, 1);
	for (int i = 0; i < 3; i++) {
		expect_pop(f, 1);
		virtq_push(&f->vq, f->c.head, 16);
	}
	expect_pop(f, 0);
	assert_int_equal(used(f)->idx, 1);
	assert_int_equal(used(f)->ring[0].id, 1); /* 0xffff+1 lands in slot 0 */
}

static void test_event_idx_notify(void **state)
{
	struct fx *f = *state;
	uint16_t *used_event = &avail(f)->ring[QSZ];

	assert_int_equal(setup_q(f, true), 0);
	assert_false(virtq_should_notify(&f->vq)); /* nothing pushed */
	virtq_push(&f->vq, 0, 1);
	assert_true(virtq_should_notify(&f->vq)); /* first: driver state unknown */
	*used_event = 5;
	for (int i = 0; i < 3; i++)
		virtq_push(&f->vq, 0, 1);
	assert_false(virtq_should_notify(&f->vq)); /* used idx 4: short of event 5 */
	virtq_push(&f->vq, 0, 1);
	assert_false(virtq_should_notify(&f->vq)); /* 5: event 5 not yet passed */
	virtq_push(&f->vq, 0, 1);
	assert_true(virtq_should_notify(&f->vq));  /* 6 passes 5 */
	assert_false(virtq_should_notify(&f->vq)); /* nothing new */
	virtq_push(&f->vq, 0, 1);
	assert_false(virtq_should_notify(&f->vq)); /* driver did not move used_event */
	*used_event = 7;
	virtq_push(&f->vq, 0, 1);
	assert_true(virtq_should_notify(&f->vq)); /* 8 passes 7 */
}

static void test_flags_notify(void **state)
{
	struct fx *f = *state;

	virtq_push(&f->vq, 0, 1);
	avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(virtq_should_notify(&f->vq));
	virtq_push(&f->vq, 0, 1);
	avail(f)->flags = 0;
	assert_true(virtq_should_notify(&f->vq));
	assert_false(virtq_should_notify(&f->vq)); /* nothing pushed since */
}

static void test_kick_suppression_event_idx(void **state)
{
	struct fx *f = *state;
	uint16_t *avail_event = (uint16_t *)&used(f)->ring[QSZ];

	assert_int_equal(setup_q(f, true), 0);
	set_desc(f, 0, 0x10000, 16, 0, 0);
	offer(f, 0);
	offer(f, 0);
	expect_pop(f, 1);
	virtq_disable_notify(&f->vq);
	assert_int_equal(*avail_event, 0);	  /* stale: the driver will not kick again */
	assert_true(virtq_enable_notify(&f->vq)); /* one chain still waits */
	assert_int_equal(*avail_event, 1);
	expect_pop(f, 1);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(*avail_event, 2); /* kick me when idx passes 2 */
	assert_int_equal(used(f)->flags, 0);
}

static void test_kick_suppression_flags(void **state)
{
	struct fx *f = *state;

	virtq_disable_notify(&f->vq);
	assert_int_equal(used(f)->flags, VRING_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(used(f)->flags, 0);
}

static void test_iov_copy(void **state)
{
	uint8_t a[3], b[5], out[8];
	struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};

	(void)state;
	assert_int_equal(buf_to_iov(iov, 2, 1, "ABCDEFGHIJ", 10), 7);
	assert_memory_equal(a + 1, "AB", 2);
	assert_memory_equal(b, "CDEFG", 5);
	assert_int_equal(iov_to_buf(iov, 2, 2, out, 4), 4);
	assert_memory_equal(out, "BCDE", 4);
	assert_int_equal(iov_to_buf(iov, 2, 8, out, 4), 0);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(virtq_strerror(-VQ_ERR_LOOP),
			    "descriptor chain longer than the queue (loop)");
	assert_string_equal(virtq_strerror(-999), "unknown virtqueue error");
}

/* Cheap deterministic PRNG so a failure reproduces. */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Random descriptor tables and avail rings: every outcome must be a chain
 * wholly inside RAM, "empty", or one of the refusals; never a crash or hang.
 */
static void test_fuzz(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned chains = 0, refusals = 0;

	for (int iter = 0; iter < 20000; iter++) {
		uint8_t *d = (uint8_t *)desc(f);

		for (unsigned i = 0; i < 16 * QSZ; i++)
			d[i] = rnd(&x);
		/* Bias towards plausible fields so parsing goes deep. */
		for (unsigned i = 0; i < QSZ; i++) {
			if (rnd(&x) & 1)
				desc(f)[i].addr = rnd(&x) % (RAM + 0x1000);
			if (rnd(&x) & 1)
				desc(f)[i].len = rnd(&x) % 0x2000;
			if (rnd(&x) & 1)
				desc(f)[i].next %= QSZ + 1;
		}
		for (unsigned i = 0; i < QSZ; i++)
			avail(f)->ring[i] = rnd(&x) % (QSZ + 2);
		assert_int_equal(setup_q(f, rnd(&x) & 1), 0);
		avail(f)->idx = f->vq.last_avail + rnd(&x) % (QSZ + 3);
		for (int k = 0; k < QSZ + 2; k++) {
			int r = virtq_pop(&f->vq, &f->c);

			if (r <= 0) {
				assert_true(r == 0 ||
					    (r <= -VQ_ERR_AVAIL_IDX && r >= -VQ_ERR_RING));
				refusals += r < 0;
				break;
			}
			chains++;
			assert_true(f->c.n_out + f->c.n_in <= QSZ);
			for (unsigned i = 0; i < f->c.n_out + f->c.n_in; i++) {
				uint8_t *b = f->c.iov[i].iov_base;

				assert_true(b >= f->ram && b + f->c.iov[i].iov_len <= f->ram + RAM);
			}
			virtq_push(&f->vq, f->c.head, 0);
		}
	}
	assert_true(chains > 100);   /* the fuzzer reached valid chains */
	assert_true(refusals > 100); /* and refusals */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_refusals),
		T(test_good_chain),
		T(test_unpop),
		T(test_loop),
		T(test_self_loop),
		T(test_full_length_chain_ok),
		T(test_addr_out_of_range),
		T(test_addr_wraps),
		T(test_addr_second_desc),
		T(test_len_single_huge),
		T(test_len_total),
		T(test_readable_after_writable),
		T(test_indirect_refused),
		T(test_indirect_later_in_chain),
		T(test_head_out_of_range),
		T(test_next_out_of_range),
		T(test_avail_idx_jump),
		T(test_idx_wraparound),
		T(test_event_idx_notify),
		T(test_flags_notify),
		T(test_kick_suppression_event_idx),
		T(test_kick_suppression_flags),
		T(test_iov_copy),
		T(test_strerror),
		T(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
