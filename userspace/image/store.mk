# SPDX-License-Identifier: Apache-2.0
# The image library's content-addressed blob store and SHA-256 digests
# (userspace/image/store.c, digest.c) and their unit test.
IMG_STORE_OBJS := $(addprefix $(OBJ)/userspace/image/,digest.o store.o store_refs.o)
IMG_STORE_LIBS := $(shell pkg-config --libs libcrypto jansson 2>/dev/null || echo -lcrypto -ljansson)

IMAGE_OBJS += $(IMG_STORE_OBJS)
IMAGE_LIBS += $(IMG_STORE_LIBS)
$(IMG_STORE_OBJS): CFLAGS += $(shell pkg-config --cflags libcrypto jansson 2>/dev/null)

# Blobs written, verified and read back, refs.json across reopen, in a mkdtemp() directory.
$(OBJ)/tests/unit/test_image_store.o: CFLAGS += -Iuserspace

$(TESTBIN)/test_image_store: $(OBJ)/tests/unit/test_image_store.o $(IMG_STORE_OBJS) \
		$(OBJ)/userspace/image/img_err.o $(OBJ)/vmm/fileio.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(IMG_STORE_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_image_store
