# SPDX-License-Identifier: Apache-2.0
# Build rules for vmm/guest/ (included by the top-level Makefile).

# ---- guest kernel
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

# ---- ember-init, ember-demo, initramfs
# Static binaries for the guest go to build/guest/, not build/bin/. They are
# stripped: every byte of the initramfs is unpacked by the (emulated, slow)
# guest kernel.
GUEST_OUT := $(OUT)/guest
INIT_OBJS := $(addprefix $(OBJ)/vmm/guest/init/,main.o cmdline.o mounts.o net.o nlmsg.o \
	listen.o supervise.o doorbell.o log.o hint.o refresh.o runcfg.o image.o image_exec.o)
DEMO_OBJS := $(addprefix $(OBJ)/vmm/guest/demo/,main.o conn.o http.o routes.o)

$(OBJ)/vmm/guest/init/%.o $(OBJ)/vmm/guest/demo/%.o: CFLAGS += -O2

$(GUEST_OUT)/ember-init: $(INIT_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -static -s $^ -o $@

$(GUEST_OUT)/ember-demo: $(DEMO_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -static -s $^ -o $@

ALL_BINS += $(GUEST_OUT)/ember-init $(GUEST_OUT)/ember-demo

# The initramfs: /init, /bin/ember-demo, the mount points ember-init uses,
# /ember (where the archive emberd appends for an image guest puts its run
# config: docs/guest-run.md) and /dev/console (so the kernel opens the
# console for /init; mknod needs root, without it ember-init opens the
# console itself once devtmpfs is mounted).
# Reproducible: fixed mtimes, sorted names, renumbered inodes. Uncompressed on
# purpose: on kvm-pvm the guest kernel inflates in emulated code, ~10 us per
# byte (21.7 s of a 41 s boot for a gzip initrd; docs/guest-kernel.md).
INITRAMFS_STAGE := $(GUEST_OUT)/initramfs.d
INITRAMFS_DIRS  := bin dev proc sys tmp run mnt/lower mnt/rw mnt/root ember

$(GUEST_OUT)/initramfs.cpio: $(GUEST_OUT)/ember-init $(GUEST_OUT)/ember-demo \
		vmm/guest/Build.mk
	$(call msg,CPIO,$@)
	$(Q)rm -rf $(INITRAMFS_STAGE) && mkdir -p $(addprefix $(INITRAMFS_STAGE)/,$(INITRAMFS_DIRS))
	$(Q)install -m 0755 $(GUEST_OUT)/ember-init $(INITRAMFS_STAGE)/init
	$(Q)install -m 0755 $(GUEST_OUT)/ember-demo $(INITRAMFS_STAGE)/bin/ember-demo
	$(Q)chmod 1777 $(INITRAMFS_STAGE)/tmp
	$(Q)mknod -m 0600 $(INITRAMFS_STAGE)/dev/console c 5 1 2>/dev/null || \
		echo "  (not root: initramfs without /dev/console)"
	$(Q)find $(INITRAMFS_STAGE) -exec touch -h -d @0 {} +
	$(Q)cd $(INITRAMFS_STAGE) && find . -mindepth 1 | LC_ALL=C sort | \
		cpio -o -H newc -R 0:0 --reproducible --quiet >$(abspath $@).tmp
	$(Q)mv $@.tmp $@ && rm -rf $(INITRAMFS_STAGE)

guest: $(GUEST_OUT)/initramfs.cpio
# ---- end ember-init ----------------------------------------------------------
