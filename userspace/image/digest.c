/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 digests: the strict "sha256:<hex>" check and a hasher over libcrypto's EVP API. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"

/* Enough of the digest to recognise it; a hostile manifest may send megabytes. */
#define PREVIEW_MAX 80

/* (s) made safe to put in a one-line message: printable, bounded. */
static void preview(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < len && i < PREVIEW_MAX; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	strcpy(buf + i, s[i] ? "..." : "");
}

/* Why (hex), the part after "sha256:", is not 64 lowercase hex digits, or NULL.
 * (pos) gets the 1-based position of the offending character, 0 for a length. */
static const char *hex_problem(const char *hex, size_t *pos)
{
	size_t n = strlen(hex), i;

	*pos = 0;
	for (i = 0; i < n && i < DIGEST_HEX_LEN; i++) {
		char c = hex[i];

		*pos = i + 1;
		if (c >= 'A' && c <= 'F')
			return "uppercase hex (digests are lowercase)";
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return "not a hex digit";
	}
	*pos = 0;
	if (n != DIGEST_HEX_LEN)
		return n < DIGEST_HEX_LEN ? "too short (want 64 hex digits)"
					  : "too long (want 64 hex digits)";
	return NULL;
}

/* The length of an algorithm-like word ending in ':' at (s), to name it; 0 if none. */
static size_t algorithm_len(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+._-");

	return (s[n] == ':' && n && n < 32) ? n : 0;
}

int digest_parse(const char *s, char out[DIGEST_BUF_LEN], struct img_err *e)
{
	size_t plen = strlen(DIGEST_PREFIX), pos, alen;
	const char *why;
	char p[PREVIEW_MAX + 4];

	if (!s || !*s)
		return img_fail(e, -EINVAL, "empty digest (want sha256:<64 hex digits>)");
	preview(s, p, sizeof(p));
	if (strncmp(s, DIGEST_PREFIX, plen) != 0) {
		alen = algorithm_len(s);
		if (alen)
			return img_fail(
				e, -EINVAL,
				"digest '%s': algorithm '%.*s' is not supported (only sha256)", p,
				(int)alen, s);
		return img_fail(e, -EINVAL, "digest '%s': no 'sha256:' prefix", p);
	}
	why = hex_problem(s + plen, &pos);
	if (why && pos)
		return img_fail(e, -EINVAL, "digest '%s': hex character %zu: %s", p, pos, why);
	if (why)
		return img_fail(e, -EINVAL, "digest '%s': %s", p, why);
	if (out)
		memcpy(out, s, DIGEST_BUF_LEN);
	return 0;
}

const char *digest_hex(const char *digest)
{
	return digest + strlen(DIGEST_PREFIX);
}

int digest_init(struct digest_ctx *h, struct img_err *e)
{
	h->md = EVP_MD_CTX_new();
	if (!h->md)
		return img_fail(e, -ENOMEM, "sha256: out of memory");
	if (EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		digest_free(h);
		return img_fail(e, -EIO, "sha256: libcrypto could not start a hash");
	}
	return 0;
}

int digest_update(struct digest_ctx *h, const void *buf, size_t n, struct img_err *e)
{
	if (EVP_DigestUpdate(h->md, buf, n) != 1)
		return img_fail(e, -EIO, "sha256: libcrypto failed to hash %zu bytes", n);
	return 0;
}

int digest_final(struct digest_ctx *h, char out[DIGEST_BUF_LEN], struct img_err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	int ok = EVP_DigestFinal_ex(h->md, md, &len) == 1 && len * 2 == DIGEST_HEX_LEN;

	digest_free(h);
	if (!ok)
		return img_fail(e, -EIO, "sha256: libcrypto failed to finish the hash");
	strcpy(out, DIGEST_PREFIX);
	for (i = 0; i < len; i++)
		sprintf(out + strlen(DIGEST_PREFIX) + 2 * i, "%02x", md[i]);
	return 0;
}

void digest_free(struct digest_ctx *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}

int digest_buf(const void *buf, size_t n, char out[DIGEST_BUF_LEN], struct img_err *e)
{
	struct digest_ctx h;
	int rc = digest_init(&h, e);

	if (!rc)
		rc = digest_update(&h, buf, n, e);
	if (rc) {
		digest_free(&h);
		return rc;
	}
	return digest_final(&h, out, e);
}
