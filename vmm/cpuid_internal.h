/* SPDX-License-Identifier: Apache-2.0 */
/* CPU template internals shared with the unit tests: bit names, detection root. */
#ifndef EMBER_VMM_CPUID_INTERNAL_H
#define EMBER_VMM_CPUID_INTERNAL_H

#include "cpuid.h"

/* KVM paravirt features (CPUID 0x40000001 EAX) the baseline keeps. */
#define KVM_FEATURE_CLOCKSOURCE	       (1u << 0)
#define KVM_FEATURE_NOP_IO_DELAY       (1u << 1)
#define KVM_FEATURE_CLOCKSOURCE2       (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE (1u << 24)
#define CPUID_KVM_PV_KEEP                                                                          \
	(KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_NOP_IO_DELAY | KVM_FEATURE_CLOCKSOURCE2 |           \
	 KVM_FEATURE_CLOCKSOURCE_STABLE)

/* XSAVE components the baseline exposes: x87, SSE, AVX. */
#define CPUID_XCR0_BASELINE	0x7u
#define CPUID_XSAVE_LEGACY_SIZE 576u /* legacy area + XSAVE header */

/*
 * kvm_kind_detect_in() - kvm_kind_detect() with every path prefixed by
 * @root ("" for the real system), so tests can fake /sys and /proc. The
 * EMBER_KVM_KIND environment variable ("hw"/"pvm") overrides both.
 */
enum kvm_kind kvm_kind_detect_in(const char *root);

#endif
