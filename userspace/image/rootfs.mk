# SPDX-License-Identifier: Apache-2.0
# An image's root filesystem (userspace/image/rootfs.h): layers checked against
# their diff_ids, applied, and made one erofs or ext4 file by mkfs.erofs or
# mke2fs; and its unit test (tests/unit/test_image_rootfs.c, root).
ROOTFS_OBJS := $(addprefix $(OBJ)/userspace/image/,rootfs.o rootfs_mkfs.o rootfs_users.o)
ROOTFS_CFLAGS := $(shell pkg-config --cflags libarchive 2>/dev/null)
ROOTFS_LIBS := $(shell pkg-config --libs libarchive 2>/dev/null || echo -larchive)

IMAGE_OBJS += $(ROOTFS_OBJS)
IMAGE_LIBS += $(ROOTFS_LIBS)
$(ROOTFS_OBJS): CFLAGS += $(ROOTFS_CFLAGS)

# The test writes its layers with libarchive and its blobs with the store.
ROOTFS_TEST_DEPS := $(ROOTFS_OBJS) $(addprefix $(OBJ)/userspace/image/,img_err.o beneath.o digest.o \
	store.o store_refs.o oci.o oci_config.o oci_docker.o oci_json.o ref.o user.o layer.o \
	layer_path.o layer_entry.o rootfs_rm.o) $(OBJ)/vmm/fileio.o
$(OBJ)/tests/unit/test_image_rootfs.o: CFLAGS += -Iuserspace $(ROOTFS_CFLAGS)

$(TESTBIN)/test_image_rootfs: $(OBJ)/tests/unit/test_image_rootfs.o $(ROOTFS_TEST_DEPS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(shell pkg-config --libs libarchive jansson libcrypto 2>/dev/null \
		|| echo -larchive -ljansson -lcrypto) -lcmocka -o $@

TESTS += $(TESTBIN)/test_image_rootfs
