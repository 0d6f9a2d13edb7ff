# SPDX-License-Identifier: Apache-2.0
# Build rules for vmm/ (included by the top-level Makefile).

# --- virtio devices (vmm/virtio/; owned by the virtio helper) ---
# Kept in their own variable and appended, so the core's link line picks them
# up whatever order the blocks of this file are in.
# Every .c of vmm/virtio/: a new device is its file (and its line in kinds.c).
VIRTIO_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard vmm/virtio/*.c))
VMM_OBJS += $(VIRTIO_OBJS) $(OBJ)/vmm/fileio.o
$(OBJ)/vmm/virtio/%.o: CFLAGS += -pthread

# --- VMM core ---
# The core's objects; boot/CPUID and virtio objects come in through VMM_OBJS,
# which other blocks append to (possibly after this one: hence the second
# expansion of the prerequisite list, and $(sort) to drop duplicates).
VMM_CORE_OBJS := $(addprefix $(OBJ)/vmm/,main.o cli.o kvm.o bus.o vcpu.o iothread.o \
	serial.o legacy.o doorbell.o mem.o)
$(VMM_CORE_OBJS): CFLAGS += -pthread

.SECONDEXPANSION:
$(BIN)/ember-vmm: $(VMM_CORE_OBJS) $$(VMM_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $(sort $(VMM_CORE_OBJS) $(VMM_OBJS)) -lelf -o $@

ALL_BINS += $(BIN)/ember-vmm
# --- end VMM core ---

# --- guest boot loaders, MP table, CPU templates (owned by the boot helper) ---
# Linked into ember-vmm through $(VMM_OBJS) by the core's block (with -lelf).
VMM_BOOT_OBJS := $(addprefix $(OBJ)/vmm/,boot.o boot_pvh.o boot_bzimage.o mptable.o cpuid.o)
VMM_OBJS += $(VMM_BOOT_OBJS)

# --- snapshot and restore ---
# State file container (pure, unit-tested), KVM state records, snapshot writer, restore.
VMM_SNAPSHOT_OBJS := $(addprefix $(OBJ)/vmm/,state_file.o snapshot.o snapshot_kvm.o restore.o \
	clone.o)
$(VMM_SNAPSHOT_OBJS): CFLAGS += -pthread
VMM_OBJS += $(VMM_SNAPSHOT_OBJS)
# --- end snapshot and restore ---

# --- control channel: pause/resume/snapshot over a Unix socket ---
VMM_CONTROL_OBJS := $(OBJ)/vmm/control.o $(OBJ)/vmm/control_proto.o
$(VMM_CONTROL_OBJS): CFLAGS += -pthread
VMM_OBJS += $(VMM_CONTROL_OBJS)
# --- end control channel ---
