# SPDX-License-Identifier: Apache-2.0
# Build rules for bpf/ (included by the top-level Makefile): vmlinux.h from the
# running kernel's BTF, BPF objects, libbpf skeletons.
#
# Reusable by other fragments (bench/*.bpf.c): any $(OUT)/bpf/<dir>/<name>.bpf.o
# is built from <dir>/<name>.bpf.c, and $(OUT)/skel/<name>.skel.h from
# $(OUT)/bpf/bpf/<name>.bpf.o or $(OUT)/bpf/bench/<name>.bpf.o.

VMLINUX_H  := $(OUT)/vmlinux/vmlinux.h
BPF_ARCH   := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -target bpf -O2 -g -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) \
	-Wall -Werror -Iinclude -Ibpf -I$(OUT)/vmlinux

$(VMLINUX_H):
	$(call msg,BTF,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

BPF_HDRS := $(wildcard bpf/*.h) include/ember/maps.h

$(OUT)/bpf/%.bpf.o: %.bpf.c $(VMLINUX_H) $(BPF_HDRS)
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/skel/%.skel.h: $(OUT)/bpf/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUT)/skel/%.skel.h: $(OUT)/bpf/bench/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

BPF_OBJS  := $(OUT)/bpf/bpf/router.bpf.o $(OUT)/bpf/bpf/guest.bpf.o
BPF_SKELS := $(OUT)/skel/router.skel.h $(OUT)/skel/guest.skel.h
# Keep every BPF object (make would delete them as intermediates of the skeletons).
.PRECIOUS: $(OUT)/bpf/%.bpf.o
.PHONY: bpf
bpf: $(BPF_OBJS) $(BPF_SKELS)
