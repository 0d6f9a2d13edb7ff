/* SPDX-License-Identifier: Apache-2.0 */
/* img_fail(): the image library's one way to say why something failed. */
#include <stdarg.h>
#include <stdio.h>

#include "img_err.h"

int img_fail(struct img_err *e, int rc, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}
