# SPDX-License-Identifier: Apache-2.0
# Applying an OCI layer onto a root filesystem directory (userspace/image/layer.h),
# with libarchive, and its unit test (tests/unit/test_image_layer.c).
LAYER_OBJS := $(addprefix $(OBJ)/userspace/image/,layer.o layer_path.o layer_entry.o \
	rootfs_rm.o)
LAYER_LIBS := $(shell pkg-config --libs libarchive 2>/dev/null || echo -larchive)

IMAGE_OBJS += $(LAYER_OBJS)
IMAGE_LIBS += $(LAYER_LIBS)

$(LAYER_OBJS): CFLAGS += $(shell pkg-config --cflags libarchive 2>/dev/null)

$(OBJ)/tests/unit/test_image_layer.o: CFLAGS += -Iuserspace \
	$(shell pkg-config --cflags libarchive 2>/dev/null)

$(TESTBIN)/test_image_layer: $(OBJ)/tests/unit/test_image_layer.o $(LAYER_OBJS) \
		$(OBJ)/userspace/image/img_err.o $(OBJ)/userspace/image/beneath.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(LAYER_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_image_layer
