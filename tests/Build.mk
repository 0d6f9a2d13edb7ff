# SPDX-License-Identifier: Apache-2.0
# Build rules for tests/ (included by the top-level Makefile).

# --- netns integration test of the XDP dataplane (tests/netns/) ---
# Root + BPF: client netns -> veth -> router -> taps -> guest netns, and the
# wake path (exits 77 when it cannot run).
DP_NETNS_OBJS := $(addprefix $(OBJ)/tests/netns/,dp_netns.o dp_netns_setup.o \
	dp_netns_cases.o fwd.o echo.o nslib.o)

$(OBJ)/tests/netns/%.o: CFLAGS += -Iuserspace -pthread

$(TESTBIN)/dp_netns: $(DP_NETNS_OBJS) $(DP_LIB_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(DP_LIBS) -o $@

ifeq ($(DP_READY),yes)
TESTS += $(TESTBIN)/dp_netns
endif

# --- virtio / guest-memory unit tests (tests/unit/; owned by the virtio helper) ---
$(OBJ)/tests/unit/%.o: CFLAGS += -Ivmm -Ivmm/virtio -pthread

$(TESTBIN)/test_mem: $(OBJ)/tests/unit/test_mem.o $(OBJ)/vmm/mem.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

$(TESTBIN)/test_virtq: $(OBJ)/tests/unit/test_virtq.o $(OBJ)/vmm/virtio/virtqueue.o \
		$(OBJ)/vmm/mem.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

# The transport and device tests link the real devices against a fake vm.h.
VIRTIO_TEST_DEPS := $(OBJ)/tests/unit/fake_vm.o $(OBJ)/tests/unit/virtio_drv.o \
	$(VIRTIO_OBJS) $(OBJ)/vmm/mem.o $(OBJ)/vmm/fileio.o

$(TESTBIN)/test_virtio_mmio: $(OBJ)/tests/unit/test_virtio_mmio.o $(VIRTIO_TEST_DEPS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ -lcmocka -o $@

$(TESTBIN)/test_virtio_blk: $(OBJ)/tests/unit/test_virtio_blk.o $(VIRTIO_TEST_DEPS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ -lcmocka -o $@

$(TESTBIN)/test_virtio_net: $(OBJ)/tests/unit/test_virtio_net.o $(VIRTIO_TEST_DEPS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ -lcmocka -o $@

$(TESTBIN)/test_fileio: $(OBJ)/tests/unit/test_fileio.o $(OBJ)/vmm/fileio.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

TESTS += $(TESTBIN)/test_mem $(TESTBIN)/test_virtq $(TESTBIN)/test_virtio_mmio \
	$(TESTBIN)/test_virtio_blk $(TESTBIN)/test_virtio_net $(TESTBIN)/test_fileio

# --- BPF_PROG_TEST_RUN packet fixtures + randomized test (tests/bpf/; owned by the bpf helper) ---
# Root + BPF: each test enters its own netns with taps it creates (exit 77 otherwise).
BPF_TEST_COMMON := $(addprefix $(OBJ)/tests/bpf/,harness.o frames.o world.o)
BPF_TEST_LIBS   := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)

$(OBJ)/tests/bpf/%.o: CFLAGS += -I$(OUT)/skel -Itests/bpf
$(OBJ)/tests/bpf/harness.o: $(OUT)/skel/router.skel.h $(OUT)/skel/guest.skel.h

$(TESTBIN)/bpf_fixtures: $(OBJ)/tests/bpf/test_fixtures.o $(OBJ)/tests/bpf/stateful.o \
		$(OBJ)/tests/bpf/stateful_cache.o $(OBJ)/tests/bpf/stateful_reuse.o \
		$(BPF_TEST_COMMON)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(BPF_TEST_LIBS) -o $@

$(TESTBIN)/bpf_random: $(OBJ)/tests/bpf/test_random.o $(BPF_TEST_COMMON)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(BPF_TEST_LIBS) -o $@

TESTS += $(TESTBIN)/bpf_fixtures $(TESTBIN)/bpf_random

# The same fixtures in a nested VM on Debian 12's 6.1 kernel (its verifier).
tests/bpf/verifier_6.1.sh: $(TESTBIN)/bpf_fixtures
TESTS += tests/bpf/verifier_6.1.sh

# --- boot loader and CPU template unit tests (tests/unit/; owned by the boot helper) ---
# test_boot uses build/guest/{vmlinux,bzImage} when `make guest` has made them.
BOOT_TEST_OBJS := $(addprefix $(OBJ)/tests/unit/,test_boot.o boot_fixtures.o test_cpuid.o)
$(BOOT_TEST_OBJS): CFLAGS += -Ivmm

$(TESTBIN)/test_boot: $(OBJ)/tests/unit/test_boot.o $(OBJ)/tests/unit/boot_fixtures.o \
		$(VMM_BOOT_OBJS) $(OBJ)/vmm/mem.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lelf -lcmocka -o $@

$(TESTBIN)/test_cpuid: $(OBJ)/tests/unit/test_cpuid.o $(OBJ)/vmm/cpuid.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

TESTS += $(TESTBIN)/test_boot $(TESTBIN)/test_cpuid

# --- guest integration tests (tests/vm/) ---
# http_get is the HTTP client the guest tests and the boot benchmark use.
$(TESTBIN)/http_get: $(OBJ)/tests/lib/http_get.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

ALL_BINS += $(TESTBIN)/http_get

# kvm_anchor: the idle VM that tests/lib/nested.sh keeps in every nested L1 VM.
$(TESTBIN)/kvm_anchor: $(OBJ)/tests/lib/kvm_anchor.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

ALL_BINS += $(TESTBIN)/kvm_anchor
TESTS += tests/vm/boot.sh

# --- ember-init and ember-demo unit tests (tests/unit/; owned by the guest-init helper) ---
$(OBJ)/tests/unit/test_init_%.o: CFLAGS += -Ivmm/guest/init

$(TESTBIN)/test_init_cmdline: $(OBJ)/tests/unit/test_init_cmdline.o \
		$(OBJ)/vmm/guest/init/cmdline.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

$(TESTBIN)/test_init_probe: $(OBJ)/tests/unit/test_init_probe.o \
		$(OBJ)/vmm/guest/init/listen.o $(OBJ)/vmm/guest/init/nlmsg.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

# Root: net_setup() in a private network namespace with a veth "eth0" (77 otherwise).
$(TESTBIN)/test_init_net: $(OBJ)/tests/unit/test_init_net.o $(addprefix \
		$(OBJ)/vmm/guest/init/,net.o nlmsg.o cmdline.o log.o)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

# Runs build/guest/ember-demo on 127.0.0.1 (a port the kernel picks).
$(TESTBIN)/test_demo: $(OBJ)/tests/unit/test_demo.o | $(OUT)/guest/ember-demo
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

# Root: the initramfs's ember-init as PID 1 of PID/mount/net namespaces (77 otherwise).
# Listing the image as a prerequisite makes `make all` build it before the run.
tests/unit/test_init_host.sh: $(OUT)/guest/initramfs.cpio

TESTS += $(TESTBIN)/test_init_cmdline $(TESTBIN)/test_init_probe $(TESTBIN)/test_init_net \
	$(TESTBIN)/test_demo tests/unit/test_init_host.sh

# --- ember-init in image mode (tests/unit/; docs/guest-run.md) ---
# The /ember/run parser, pure.
$(TESTBIN)/test_init_runcfg: $(OBJ)/tests/unit/test_init_runcfg.o \
		$(OBJ)/vmm/guest/init/runcfg.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

# Root: an erofs image on a loop device run as a container by the initramfs's
# ember-init as PID 1 of PID/mount/net namespaces (77 without loop devices).
tests/unit/test_init_image.sh: $(OUT)/guest/initramfs.cpio

TESTS += $(TESTBIN)/test_init_runcfg tests/unit/test_init_image.sh
# --- end ember-init in image mode ---

# --- the test and demo images (tests/lib/images.sh, docs/images.md) ---
# Root: the probe, redis and demo images built with umoci into a fresh cache,
# then run in chroots inside private namespaces (77 without root or the tools).
TESTS += tests/unit/test_images_lib.sh
# --- end test and demo images ---

# --- VMM core unit tests (tests/unit/test_bus.c) ---
# Buses, the 8250 model, doorbell/reset ports and CLI parsing, without KVM.
$(TESTBIN)/test_bus: $(OBJ)/tests/unit/test_bus.o $(addprefix $(OBJ)/vmm/,bus.o serial.o \
		legacy.o doorbell.o cli.o iothread.o)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ -lcmocka -o $@

TESTS += $(TESTBIN)/test_bus
# --- end VMM core unit tests ---

# The hostile test guest: a few instructions of 32-bit PVH code (tests/vm/).
$(TESTBIN)/hostile-guest.elf: tests/vm/hostile-guest.S tests/vm/hostile-guest.ld
	$(call msg,AS,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -c $< -o $(@:.elf=.o)
	$(Q)ld -T tests/vm/hostile-guest.ld -o $@ $(@:.elf=.o)

ALL_BINS += $(TESTBIN)/hostile-guest.elf
TESTS += tests/vm/hostile.sh

# --- snapshot tests ---
# The state file container (pure); the VM test boots, snapshots and restores 3 clones.
$(TESTBIN)/test_snapshot_state: $(OBJ)/tests/unit/test_snapshot_state.o $(OBJ)/vmm/state_file.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

$(TESTBIN)/test_snapshot_cli: $(OBJ)/tests/unit/test_snapshot_cli.o $(OBJ)/vmm/cli.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

# The restore hint: VMM side (vmm/clone.c) against ember-init's parser (hint.c).
$(OBJ)/tests/unit/test_clone_hint.o: CFLAGS += -Ivmm -Ivmm/guest/init -pthread
$(TESTBIN)/test_clone_hint: $(OBJ)/tests/unit/test_clone_hint.o $(OBJ)/vmm/clone.o \
		$(OBJ)/vmm/guest/init/hint.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ -lcmocka -o $@

TESTS += $(TESTBIN)/test_snapshot_state $(TESTBIN)/test_snapshot_cli $(TESTBIN)/test_clone_hint \
	tests/vm/snapshot.sh
# --- end snapshot tests ---

# --- pause/resume over the control channel ---
# ctl: the control socket client (tests, benchmarks, operators).
$(TESTBIN)/ctl: $(OBJ)/tests/lib/ctl.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

ALL_BINS += $(TESTBIN)/ctl

$(TESTBIN)/test_control: $(OBJ)/tests/unit/test_control.o $(OBJ)/vmm/control_proto.o \
		$(OBJ)/vmm/cli.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

TESTS += $(TESTBIN)/test_control tests/vm/pause.sh
# --- end pause/resume ---

# --- emberd api ---
# test_app_spec, test_app_registry: the app model and registry (pure C).
# test_api: the REST API on a temporary Unix socket, driven with libcurl.
CURL_LIBS := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
API_TEST_OBJS := $(addprefix $(OBJ)/tests/unit/,test_app_spec.o test_app_registry.o test_api.o \
	api_harness.o)
$(API_TEST_OBJS): CFLAGS += -Iuserspace $(API_CFLAGS)

$(TESTBIN)/test_app_spec: $(OBJ)/tests/unit/test_app_spec.o $(APP_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(API_LIBS) -lcmocka -o $@

$(TESTBIN)/test_app_registry: $(OBJ)/tests/unit/test_app_registry.o $(APP_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(API_LIBS) -lcmocka -o $@

$(TESTBIN)/test_api: $(OBJ)/tests/unit/test_api.o $(OBJ)/tests/unit/api_harness.o $(API_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(API_LIBS) $(CURL_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_app_spec $(TESTBIN)/test_app_registry $(TESTBIN)/test_api
# --- end emberd api ---

# --- virtio-blk snapshots ---
# test_virtio_blk also parses `restore --disk` (cli.o); the VM test snapshots and
# restores the demo on an ext4 root disk and a written copy-on-write disk.
$(TESTBIN)/test_virtio_blk: $(OBJ)/vmm/cli.o

TESTS += tests/vm/snapshot_disk.sh
# --- end virtio-blk snapshots ---

# --- emberd end to end (tests/netns/emberd.sh) ---
# Root + KVM (nested VM when /dev/kvm is missing): deploy, wake from zero
# through the XDP router, warm request, idle back to zero, kill -9 and
# re-adoption, clean SIGTERM (emberd.sh); the autoscaler through the ember
# CLI (emberd_scale.sh); a redeploy and a VMM's kill -9 under load
# (emberd_load.sh); 200 deploy/delete cycles leave nothing (emberd_cycles.sh);
# image import, ls, inspect, rm through the CLI (emberd_images.sh, no KVM);
# an app's image made bootable, its run config checked (emberd_image_app.sh, no KVM);
# hostile images refused, nothing left or written outside (emberd_image_hostile.sh, no KVM);
# the probe and redis images run in guests, woken through the router (emberd_image_guest.sh);
# image pull from Debian's docker-registry and a hostile one (emberd_pull.sh,
# no KVM).
$(TESTBIN)/emberd_peer: $(OBJ)/tests/netns/emberd_peer.o $(OBJ)/tests/netns/nslib.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(DP_LIBS) -o $@

EMBERD_TESTS := $(addprefix tests/netns/,emberd.sh emberd_scale.sh emberd_load.sh emberd_vmm_version.sh \
	emberd_rootfs.sh emberd_images.sh emberd_image_app.sh \
	emberd_image_hostile.sh emberd_image_guest.sh emberd_pull.sh \
	emberd_cycles.sh emberd_evict.sh)
$(EMBERD_TESTS): $(BIN)/emberd $(TESTBIN)/emberd_peer
tests/netns/emberd_images.sh tests/netns/emberd_image_app.sh \
	tests/netns/emberd_image_hostile.sh tests/netns/emberd_image_guest.sh: $(BIN)/ember
tests/netns/emberd_pull.sh: $(BIN)/ember $(TESTBIN)/hostile_registry

# emberd_pull.sh's misbehaving registry (a 500, a layer that stalls), libmicrohttpd.
$(TESTBIN)/hostile_registry: $(OBJ)/tests/netns/hostile_registry.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(API_LIBS) -o $@

ifeq ($(DP_READY),yes)
TESTS += $(EMBERD_TESTS)
endif

# emberd's layers, from its objects (nm): supervision never calls policy by name.
tests/unit/emberd_layers.sh: $(BIN)/emberd
TESTS += tests/unit/emberd_layers.sh
# --- end emberd ---

# --- emberd metering (tests/unit/test_emberd_meter.c) ---
# The pure parts of metering (/proc parsers, histogram, Prometheus text,
# console tails, the meter.json record): METER_OBJS of userspace/Build.mk,
# no emberd, no BPF.
$(OBJ)/tests/unit/test_emberd_meter.o: CFLAGS += -Iuserspace

$(TESTBIN)/test_emberd_meter: $(OBJ)/tests/unit/test_emberd_meter.o $(METER_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka $(API_LIBS) -o $@

TESTS += $(TESTBIN)/test_emberd_meter
# --- end emberd metering ---

# --- emberd configuration file (tests/unit/test_emberd_config.c) ---
$(OBJ)/tests/unit/test_emberd_config.o: CFLAGS += -Iuserspace $(API_CFLAGS)

$(TESTBIN)/test_emberd_config: $(OBJ)/tests/unit/test_emberd_config.o \
		$(OBJ)/userspace/emberd/emberd_config.o $(APP_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(API_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_emberd_config
# --- end emberd configuration file ---

# --- ember CLI app commands (tests/unit/test_cli_app.c) ---
# deploy/ls/status/logs/rm/scale/top against the real API server of
# api_harness.c (a thread on a temp socket) with an emberd-like fake backend.
$(OBJ)/tests/unit/test_cli_app.o: CFLAGS += -Iuserspace $(API_CFLAGS) $(CLI_APP_CFLAGS)

$(TESTBIN)/test_cli_app: $(OBJ)/tests/unit/test_cli_app.o $(OBJ)/tests/unit/api_harness.o \
		$(API_OBJS) $(CLI_APP_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(API_LIBS) $(CLI_APP_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_cli_app
# --- end ember CLI app commands ---

# --- loadgen unit tests (tests/unit/test_loadgen.c) ---
# The pure parts of bench/loadgen (percentiles, schedule, arguments, report lines).
$(OBJ)/tests/unit/test_loadgen.o: CFLAGS += -Ibench

$(TESTBIN)/test_loadgen: $(OBJ)/tests/unit/test_loadgen.o $(OBJ)/bench/loadgen_stats.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -lcmocka -o $@

TESTS += $(TESTBIN)/test_loadgen
# --- end loadgen unit tests ---
