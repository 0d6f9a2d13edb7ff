// SPDX-License-Identifier: Apache-2.0
/* The snapshot state file container: CRC32C, record writer, checked reader. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_file.h"

#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_table[256];

/* Built on first use; two threads racing here write the same values. */
static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		crc_table[i] = c;
	}
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!crc_table[1])
		crc_table_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void sf_reserve(struct sf_writer *w, size_t more)
{
	size_t cap = w->cap ? w->cap : 4096;
	uint8_t *nb;

	if (w->err)
		return;
	if (more > SF_MAX_PAYLOAD || w->len + more > SF_MAX_PAYLOAD + SF_HEADER_LEN) {
		w->err = -E2BIG;
		return;
	}
	while (cap < w->len + more)
		cap *= 2;
	if (cap == w->cap)
		return;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->err = -ENOMEM;
		return;
	}
	memset(nb + w->cap, 0, cap - w->cap);
	w->buf = nb;
	w->cap = cap;
}

int sf_writer_init(struct sf_writer *w)
{
	memset(w, 0, sizeof(*w));
	sf_reserve(w, SF_HEADER_LEN);
	w->len = SF_HEADER_LEN;
	return w->err;
}

void sf_put(struct sf_writer *w, uint16_t type, const void *data, uint32_t len)
{
	struct sf_rec_hdr h = {.type = type, .len = len};
	size_t padded = ((size_t)len + 7) & ~(size_t)7;

	sf_reserve(w, SF_REC_HDR_LEN + padded);
	if (w->err)
		return;
	memcpy(w->buf + w->len, &h, sizeof(h));
	if (len)
		memcpy(w->buf + w->len + SF_REC_HDR_LEN, data, len);
	/* Padding stays zero: sf_reserve zeroes new space and nothing is rewritten. */
	w->len += SF_REC_HDR_LEN + padded;
}

int sf_finish(struct sf_writer *w)
{
	struct sf_header h = {.version = SF_VERSION};

	sf_put(w, SF_END, NULL, 0);
	if (w->err)
		return w->err;
	memcpy(h.magic, SF_MAGIC, sizeof(h.magic));
	h.payload_len = w->len - SF_HEADER_LEN;
	h.payload_crc = crc32c(0, w->buf + SF_HEADER_LEN, h.payload_len);
	h.header_crc = crc32c(0, &h, offsetof(struct sf_header, header_crc));
	memcpy(w->buf, &h, sizeof(h));
	return 0;
}

void sf_writer_free(struct sf_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/*
 * Checks in an order that gives the most useful message: what the file is
 * (magic), which format (version, before any checksum: a future format may
 * lay out the rest differently), whether it is whole, whether it is intact.
 */
int sf_open(struct sf_reader *r, const void *buf, size_t len, char *err, size_t errlen)
{
	struct sf_header h;

	memset(r, 0, sizeof(*r));
	if (len < 12) {
		snprintf(err, errlen, "truncated: %zu bytes, shorter than the header", len);
		return -ENODATA;
	}
	if (memcmp(buf, SF_MAGIC, 8)) {
		snprintf(err, errlen, "not an ember snapshot state file (bad magic)");
		return -EBADMSG;
	}
	memcpy(&h.version, (const uint8_t *)buf + 8, 4);
	if (h.version != SF_VERSION) {
		snprintf(err, errlen, "snapshot format version %u, this ember-vmm reads version %u",
			 h.version, SF_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (len < SF_HEADER_LEN) {
		snprintf(err, errlen, "truncated: %zu bytes, shorter than the header", len);
		return -ENODATA;
	}
	memcpy(&h, buf, sizeof(h));
	if (crc32c(0, &h, offsetof(struct sf_header, header_crc)) != h.header_crc) {
		snprintf(err, errlen, "header checksum mismatch (corrupted)");
		return -EBADMSG;
	}
	if (h.flags || h.payload_len > SF_MAX_PAYLOAD) {
		snprintf(err, errlen, "bad header (flags 0x%x, payload %llu bytes)", h.flags,
			 (unsigned long long)h.payload_len);
		return -EBADMSG;
	}
	if (len - SF_HEADER_LEN != h.payload_len) {
		snprintf(err, errlen, "%s: %zu bytes, the header says %llu",
			 len - SF_HEADER_LEN < h.payload_len ? "truncated" : "trailing bytes", len,
			 (unsigned long long)(h.payload_len + SF_HEADER_LEN));
		return len - SF_HEADER_LEN < h.payload_len ? -ENODATA : -EBADMSG;
	}
	if (crc32c(0, (const uint8_t *)buf + SF_HEADER_LEN, h.payload_len) != h.payload_crc) {
		snprintf(err, errlen, "payload checksum mismatch (corrupted)");
		return -EBADMSG;
	}
	r->p = (const uint8_t *)buf + SF_HEADER_LEN;
	r->len = h.payload_len;
	return 0;
}

int sf_next(struct sf_reader *r, uint16_t *type, const void **data, uint32_t *len)
{
	struct sf_rec_hdr h;
	size_t padded;

	if (r->len - r->off < SF_REC_HDR_LEN)
		return -EBADMSG; /* ran out before SF_END */
	memcpy(&h, r->p + r->off, sizeof(h));
	padded = ((size_t)h.len + 7) & ~(size_t)7;
	if (h.flags || padded > r->len - r->off - SF_REC_HDR_LEN)
		return -EBADMSG;
	*type = h.type;
	*data = r->p + r->off + SF_REC_HDR_LEN;
	*len = h.len;
	r->off += SF_REC_HDR_LEN + padded;
	if (h.type == SF_END)
		return r->off == r->len ? 0 : -EBADMSG;
	return 1;
}
