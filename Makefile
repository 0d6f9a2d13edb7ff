# SPDX-License-Identifier: Apache-2.0
# ember — the one top-level GNU Makefile. Each component keeps its rules in a
# Build.mk fragment included below (non-recursive make: one dependency graph).
#
#   make            build everything into build/        (V=1 shows commands)
#   make run        install what is missing, build, run the demo
#   make test       install what is missing, build, run the whole test suite
#   make bench      run every benchmark; make bench B=boot runs one
#   make guest      build (or fetch from the cache) the guest kernel + initramfs
#   make deps       idempotent apt install of exactly what ember needs
#   make clean      remove build/ (the guest-kernel cache outside the tree stays)

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

OUT      := build
OBJ      := $(OUT)/obj
BIN      := $(OUT)/bin
TESTBIN  := $(OUT)/tests
BENCHBIN := $(OUT)/bench

# Slow artefacts (the guest kernel) live outside the tree, keyed by input hash.
EMBER_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ember
export EMBER_CACHE

CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude
LDFLAGS  ?=

ifeq ($(V),1)
Q   :=
msg  =
else
Q   := @
msg  = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Filled in by the fragments.
ALL_BINS  :=
TESTS     :=
BENCHES   :=
CLEAN_EXTRA :=

include vmm/Build.mk
include vmm/guest/Build.mk
include bpf/Build.mk
# The image library first: emberd's link line in userspace/Build.mk names
# IMAGE_OBJS, and prerequisites are expanded as they are read.
include userspace/image/Build.mk
include $(filter-out userspace/image/Build.mk,$(wildcard userspace/image/*.mk))
include userspace/Build.mk
include tests/Build.mk
include bench/Build.mk

# Generic compile rule: every C file compiles to build/obj/<path>.o with its
# dependency file next to it.
$(OBJ)/%.o: %.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

.PHONY: all deps guest test check bench run run-vmm clean
all: $(ALL_BINS) $(TESTS) $(BENCHES)

# Exactly what ember needs from Debian 12 (docs/dependencies.md says why).
DEB_PKGS := make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev \
	libcmocka-dev linux-source-6.1 flex bison bc libssl-dev \
	busybox-static cpio iproute2 qemu-system-x86 xdp-tools e2fsprogs \
	libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev curl jq xz-utils \
	libarchive-dev erofs-utils umoci skopeo redis-tools docker-registry apache2-utils

deps:
	$(Q)missing=; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "ember: missing packages:$$missing (run make deps as root)" >&2; exit 1; fi; \
		echo "  DEPS     installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
		case " $$missing " in *" docker-registry "*) \
			if [ -d /run/systemd/system ]; then \
				systemctl disable --now docker-registry >/dev/null 2>&1; \
				echo "  DEPS     stopped and disabled the docker-registry service it installs (the tests run their own, on loopback)"; \
			fi;; \
		esac; \
	fi

test: deps
	$(Q)$(MAKE) --no-print-directory all guest
	$(Q)tests/run.sh $(TESTS)

check: all
	$(Q)tests/run.sh $(TESTS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all guest
	$(Q)bench/run.sh $(B)

run: deps
	$(Q)$(MAKE) --no-print-directory all guest
	$(Q)userspace/demo.sh

# The VMM alone: boot the demo guest on a tap and send it HTTP requests.
run-vmm: deps
	$(Q)$(MAKE) --no-print-directory all guest
	$(Q)vmm/demo.sh

clean:
	$(call msg,CLEAN,$(OUT))
	$(Q)rm -rf $(OUT) $(CLEAN_EXTRA)
