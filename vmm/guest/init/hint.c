/* SPDX-License-Identifier: Apache-2.0 */
/* Parser of the restore hint line the VMM queues on the console after a restore. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2 * @len lowercase hex digits. */
static int parse_hex(const char *v, size_t vlen, uint8_t *out, size_t len)
{
	if (vlen != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_mac(const char *v, size_t vlen, uint8_t mac[6])
{
	char hex[12];

	if (vlen != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (i < 5 && v[3 * i + 2] != ':')
			return -EINVAL;
		hex[2 * i] = v[3 * i];
		hex[2 * i + 1] = v[3 * i + 1];
	}
	/* Multicast (bit 0 of the first byte) or all-zero cannot be a station's address. */
	if (parse_hex(hex, sizeof(hex), mac, 6) || (mac[0] & 1) ||
	    !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

static int parse_i64(const char *v, size_t vlen, int64_t *out)
{
	char buf[24], *end;

	if (!vlen || vlen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return (*end || errno) ? -EINVAL : 0;
}

enum { K_GEN = 1, K_CLOCK = 2, K_SEED = 4, K_MAC = 8 };

static int parse_pair(const char *k, size_t klen, const char *v, size_t vlen, struct init_hint *h,
		      unsigned *seen)
{
	uint8_t gen[8];
	unsigned key;
	int ret;

#define KEY_IS(s) (klen == sizeof(s) - 1 && !memcmp(k, s, klen))
	if (KEY_IS("gen")) {
		key = K_GEN;
		ret = parse_hex(v, vlen, gen, sizeof(gen));
		h->gen = 0;
		for (int i = 0; !ret && i < 8; i++)
			h->gen = h->gen << 8 | gen[i];
	} else if (KEY_IS("clock_step_ns")) {
		key = K_CLOCK;
		ret = parse_i64(v, vlen, &h->clock_step_ns);
	} else if (KEY_IS("seed")) {
		key = K_SEED;
		ret = parse_hex(v, vlen, h->seed, sizeof(h->seed));
	} else if (KEY_IS("mac")) {
		key = K_MAC;
		ret = parse_mac(v, vlen, h->mac);
		h->has_mac = !ret;
	} else {
		return -ENOENT;
	}
#undef KEY_IS
	if (*seen & key)
		return -EEXIST;
	*seen |= key;
	return ret;
}

int hint_parse(const char *line, struct init_hint *h, char *err, size_t errlen)
{
	const size_t plen = sizeof(EMBER_HINT_PREFIX) - 1;
	const char *p = line;
	unsigned seen = 0;

	if (strncmp(line, EMBER_HINT_PREFIX, plen))
		return 0;
	memset(h, 0, sizeof(*h));
	for (p += plen; *(p += strspn(p, " "));) {
		const char *k = p, *eq, *v;
		size_t klen, vlen;
		int ret;

		p += strcspn(p, " ");
		eq = memchr(k, '=', (size_t)(p - k));
		if (!eq) {
			snprintf(err, errlen, "restore hint: '%.*s' is not key=value", (int)(p - k),
				 k);
			return -EINVAL;
		}
		klen = (size_t)(eq - k);
		v = eq + 1;
		vlen = (size_t)(p - v);
		ret = parse_pair(k, klen, v, vlen, h, &seen);
		if (ret) {
			snprintf(err, errlen, "restore hint: %s '%.*s'",
				 ret == -ENOENT	  ? "unknown key"
				 : ret == -EEXIST ? "duplicate key"
						  : "bad value of",
				 (int)klen, k);
			return -EINVAL;
		}
	}
	if ((seen & (K_GEN | K_CLOCK | K_SEED)) != (K_GEN | K_CLOCK | K_SEED)) {
		snprintf(err, errlen, "restore hint: gen, clock_step_ns and seed are required");
		return -EINVAL;
	}
	return 1;
}
