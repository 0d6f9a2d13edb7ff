# SPDX-License-Identifier: Apache-2.0
# Build rules for vmm/ (included by the top-level Makefile).

# --- virtio devices (vmm/virtio/; owned by the virtio helper) ---
# Kept in their own variable and appended, so the core's link line picks them
# up whatever order the blocks of this file are in.
VIRTIO_OBJS := $(addprefix $(OBJ)/vmm/virtio/,mmio.o virtqueue.o net.o blk.o rng.o)
VMM_OBJS += $(VIRTIO_OBJS)
$(OBJ)/vmm/virtio/%.o: CFLAGS += -pthread
