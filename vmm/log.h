/* SPDX-License-Identifier: Apache-2.0 */
/* Log level macros for ember-vmm: one line per event on stderr. */
#ifndef EMBER_VMM_LOG_H
#define EMBER_VMM_LOG_H

#include <stdio.h>

/* Set from the command line (--verbose); 0 = warnings and errors only. */
extern int vmm_verbose;

#define pr_err(fmt, ...)  fprintf(stderr, "ember-vmm: error: " fmt "\n", ##__VA_ARGS__)
#define pr_warn(fmt, ...) fprintf(stderr, "ember-vmm: warning: " fmt "\n", ##__VA_ARGS__)
#define pr_info(fmt, ...)                                                      \
	do {                                                                   \
		if (vmm_verbose)                                               \
			fprintf(stderr, "ember-vmm: " fmt "\n", ##__VA_ARGS__); \
	} while (0)

#endif
