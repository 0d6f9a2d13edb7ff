/* SPDX-License-Identifier: Apache-2.0 */
/* What the image library's test files share: fixture builders, the error check, their groups. */
#ifndef EMBER_TESTS_UNIT_TEST_IMAGE_OCI_H
#define EMBER_TESTS_UNIT_TEST_IMAGE_OCI_H

#include <stddef.h>

#include "image/img_err.h"

/* Digests: "sha256:" and 64 copies of one hex digit. */
#define X4(s)	s s s s
#define X64(s)	X4(X4(X4(s)))
#define DIG(c)	"sha256:" X64(c)
#define QDIG(c) "'" DIG(c) "'"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Fixtures are written with ' for ": J() returns them as JSON (free() it). */
char *J(const char *q);

/* A document built with printf (for large, generated fixtures); free() it. */
char *docf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* (n) copies of (item) joined by ',' (the inside of a JSON list); free() it. */
char *repeat(const char *item, size_t n);

/* (n) copies of the character (c); free() it. */
char *fill(char c, size_t n);

/* Asserts (rc) is (want) and, on failure, that the error line (e) contains
 * (frag); (what) names the case in the failure. */
void expect(int rc, int want, const struct img_err *e, const char *frag, const char *what);

/* Runs (parse) (a parser of (buf, len, out, e)) on the fixture (q). */
#define PARSE_Q(parse, q, out, e)                                                                  \
	({                                                                                         \
		char *s_ = J(q);                                                                   \
		int rc_ = parse(s_, strlen(s_), out, e);                                           \
		free(s_);                                                                          \
		rc_;                                                                               \
	})

/* A fixture that must be refused with (rc) and an error line holding (frag). */
struct bad_case {
	const char *q;
	int rc;
	const char *frag;
};

/* Runs (parse) on each of (cases) into (out), whose (heap) member must stay NULL. */
#define EXPECT_BAD(cases, parse, out, heap)                                                        \
	do {                                                                                       \
		struct img_err e_;                                                                 \
		for (size_t i_ = 0; i_ < N_OF(cases); i_++) {                                      \
			expect(PARSE_Q(parse, (cases)[i_].q, &(out), &e_), (cases)[i_].rc, &e_,    \
			       (cases)[i_].frag, (cases)[i_].q);                                   \
			assert_null((out).heap);                                                   \
		}                                                                                  \
	} while (0)

/* The groups of the other files; each returns how many tests failed. */
int test_image_oci_config(void);
int test_image_ref_user(void);

#endif
