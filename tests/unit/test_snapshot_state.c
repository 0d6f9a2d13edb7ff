// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the snapshot state file container: CRC32C, records, every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "state_file.h"

/* A file like a real one: a few records of odd sizes (padding), one empty. */
static const struct {
	uint16_t type;
	uint32_t len;
} recs[] = {{SF_META, 96}, {SF_IRQCHIP, 520}, {SF_VCPU, 8},	{SF_REGS, 144},
	    {SF_MSRS, 13}, {SF_SERIAL, 16},   {SF_DOORBELL, 0}, {SF_VIRTIO, 233}};
#define NR_RECS (sizeof(recs) / sizeof(recs[0]))

struct fx {
	struct sf_writer w;
	size_t bounds[NR_RECS + 2]; /* file offsets where each record starts, and the end */
};

static void fill(uint8_t *p, uint32_t len, unsigned seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	uint8_t buf[1024];

	assert_non_null(f);
	assert_int_equal(sf_writer_init(&f->w), 0);
	for (unsigned i = 0; i < NR_RECS; i++) {
		f->bounds[i] = f->w.len;
		fill(buf, recs[i].len, i);
		sf_put(&f->w, recs[i].type, buf, recs[i].len);
	}
	f->bounds[NR_RECS] = f->w.len; /* SF_END */
	assert_int_equal(sf_finish(&f->w), 0);
	f->bounds[NR_RECS + 1] = f->w.len;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sf_writer_free(&f->w);
	free(f);
	return 0;
}

static void test_crc32c_vectors(void **state)
{
	uint8_t zeros[32] = {0}, ones[32];

	(void)state;
	memset(ones, 0xff, sizeof(ones));
	/* RFC 3720 B.4 and the common check value. */
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(0, zeros, 32), 0x8a9136aa);
	assert_int_equal(crc32c(0, ones, 32), 0x62a8ab43);
	/* Continuation equals one pass. */
	assert_int_equal(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct sf_reader r;
	char err[128] = "";
	uint8_t want[1024];
	const void *data;
	uint16_t type;
	uint32_t len;

	assert_int_equal(f->w.len % 8, 0);
	assert_int_equal(sf_open(&r, f->w.buf, f->w.len, err, sizeof(err)), 0);
	for (unsigned i = 0; i < NR_RECS; i++) {
		assert_int_equal(sf_next(&r, &type, &data, &len), 1);
		assert_int_equal(type, recs[i].type);
		assert_int_equal(len, recs[i].len);
		assert_int_equal((uintptr_t)data % 8, (uintptr_t)f->w.buf % 8); /* aligned */
		fill(want, len, i);
		assert_memory_equal(data, want, len);
	}
	assert_int_equal(sf_next(&r, &type, &data, &len), 0);
	assert_string_equal(err, "");
}

/* Cut the file at every record boundary, and at every byte: always refused, never read past. */
static void test_truncation(void **state)
{
	struct fx *f = *state;
	struct sf_reader r;
	char err[128];

	for (unsigned i = 0; i < NR_RECS + 1; i++) {
		uint8_t *copy = malloc(f->bounds[i] ? f->bounds[i] : 1);

		memcpy(copy, f->w.buf, f->bounds[i]);
		err[0] = '\0';
		assert_int_equal(sf_open(&r, copy, f->bounds[i], err, sizeof(err)), -ENODATA);
		assert_non_null(strstr(err, "truncated"));
		free(copy);
	}
	for (size_t n = 0; n < f->w.len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		int ret;

		memcpy(copy, f->w.buf, n);
		ret = sf_open(&r, copy, n, err, sizeof(err));
		assert_true(ret == -ENODATA);
		free(copy);
	}
}

/* Any single flipped bit is caught, with the reason in the message. */
static void test_corruption(void **state)
{
	struct fx *f = *state;
	struct sf_reader r;
	char err[128];

	for (size_t off = 0; off < f->w.len; off++) {
		for (int bit = 0; bit < 8; bit += 3) {
			int ret;

			f->w.buf[off] ^= (uint8_t)(1u << bit);
			err[0] = '\0';
			ret = sf_open(&r, f->w.buf, f->w.len, err, sizeof(err));
			f->w.buf[off] ^= (uint8_t)(1u << bit);
			assert_true(ret < 0);
			if (off >= 8 && off < 12)
				assert_int_equal(ret, -EPROTONOSUPPORT);
			else if (off >= SF_HEADER_LEN)
				assert_non_null(strstr(err, "checksum"));
		}
	}
}

static void test_version_and_magic(void **state)
{
	struct fx *f = *state;
	uint32_t v = SF_VERSION + 1;
	struct sf_reader r;
	char err[128];

	memcpy(f->w.buf + 8, &v, 4);
	assert_int_equal(sf_open(&r, f->w.buf, f->w.len, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_string_equal(err, "snapshot format version 2, this ember-vmm reads version 1");
	v = SF_VERSION;
	memcpy(f->w.buf + 8, &v, 4);
	f->w.buf[0] = 'X';
	assert_int_equal(sf_open(&r, f->w.buf, f->w.len, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "bad magic"));
}

static void test_trailing_bytes(void **state)
{
	struct fx *f = *state;
	uint8_t *big = calloc(1, f->w.len + 8);
	struct sf_reader r;
	char err[128];

	memcpy(big, f->w.buf, f->w.len);
	assert_int_equal(sf_open(&r, big, f->w.len + 8, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "trailing"));
	free(big);
}

/* A record header that claims more than the payload holds (checksums made valid). */
static void test_record_overrun(void **state)
{
	struct sf_writer w;
	struct sf_header h;
	struct sf_rec_hdr rh;
	struct sf_reader r;
	const void *data;
	uint16_t type;
	uint32_t len;
	char err[128];

	(void)state;
	assert_int_equal(sf_writer_init(&w), 0);
	sf_put(&w, SF_REGS, "abcdefgh", 8);
	assert_int_equal(sf_finish(&w), 0);
	memcpy(&rh, w.buf + SF_HEADER_LEN, sizeof(rh));
	rh.len = 4096;
	memcpy(w.buf + SF_HEADER_LEN, &rh, sizeof(rh));
	memcpy(&h, w.buf, sizeof(h));
	h.payload_crc = crc32c(0, w.buf + SF_HEADER_LEN, h.payload_len);
	h.header_crc = crc32c(0, &h, offsetof(struct sf_header, header_crc));
	memcpy(w.buf, &h, sizeof(h));
	assert_int_equal(sf_open(&r, w.buf, w.len, err, sizeof(err)), 0);
	assert_int_equal(sf_next(&r, &type, &data, &len), -EBADMSG);
	sf_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_and_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trailing_bytes, setup, teardown),
		cmocka_unit_test(test_record_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
