# SPDX-License-Identifier: Apache-2.0
# Build rules for vmm/guest/ (included by the top-level Makefile).

# ---- guest kernel (owner: kernel helper) ------------------------------------
# vmm/guest/kernel/build.sh does the caching itself (keyed by a hash of its
# inputs), so it runs on every `make guest` and returns in seconds when cached.
GUEST_KERNEL_DEPS := vmm/guest/kernel/build.sh vmm/guest/kernel/ember.config \
	$(wildcard vmm/guest/kernel/patches/*.patch)

.PHONY: guest-kernel
guest-kernel: $(GUEST_KERNEL_DEPS)
	$(Q)vmm/guest/kernel/build.sh $(OUT)/guest

$(OUT)/guest/vmlinux $(OUT)/guest/bzImage: guest-kernel

guest: guest-kernel
# ---- end guest kernel --------------------------------------------------------
