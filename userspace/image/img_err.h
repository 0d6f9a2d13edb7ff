/* SPDX-License-Identifier: Apache-2.0 */
/* Errors of the image library: a negative errno plus one line saying why. */
#ifndef EMBER_USERSPACE_IMAGE_IMG_ERR_H
#define EMBER_USERSPACE_IMAGE_IMG_ERR_H

/*
 * The image library never prints (redis's anet style): a function that fails
 * returns -errno and, when given a struct img_err, fills it with one line a
 * user can act on ("layer sha256:ab..: entry '../x' leaves the root").
 */
struct img_err {
	char msg[512];
};

/* Formats (fmt) into (e) (may be NULL) and returns (rc), a negative errno. */
int img_fail(struct img_err *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
