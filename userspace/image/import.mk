# SPDX-License-Identifier: Apache-2.0
# Importers (userspace/image/import*.c): an OCI layout, oci-archive or
# docker-archive from disk into the blob store, with libarchive and jansson,
# and their unit test (tests/unit/test_image_import.c).
IMPORT_OBJS := $(addprefix $(OBJ)/userspace/image/,import.o import_oci.o import_tar.o \
	import_docker.o)
IMPORT_CFLAGS := $(shell pkg-config --cflags libarchive jansson 2>/dev/null)
IMPORT_LIBS := $(shell pkg-config --libs libarchive jansson 2>/dev/null || echo -larchive -ljansson)

IMAGE_OBJS += $(IMPORT_OBJS)
IMAGE_LIBS += $(IMPORT_LIBS)
$(IMPORT_OBJS): CFLAGS += $(IMPORT_CFLAGS)

# Listed here, not taken from the other fragments' variables: this fragment
# is read first, and prerequisites are expanded as they are read.
IMPORT_TEST_DEPS := $(addprefix $(OBJ)/userspace/image/,img_err.o beneath.o digest.o store.o \
	store_refs.o oci.o oci_config.o oci_docker.o oci_json.o ref.o) $(OBJ)/vmm/fileio.o
IMPORT_TEST_LIBS := $(shell pkg-config --libs libarchive jansson libcrypto 2>/dev/null || \
	echo -larchive -ljansson -lcrypto)

# Images written by the test with libarchive, imported three ways, and hostile ones refused.
IMPORT_TEST_OBJS := $(addprefix $(OBJ)/tests/unit/,test_image_import.o import_fixture.o)
$(IMPORT_TEST_OBJS): CFLAGS += -Iuserspace $(IMPORT_CFLAGS)

$(TESTBIN)/test_image_import: $(IMPORT_TEST_OBJS) $(IMPORT_OBJS) $(IMPORT_TEST_DEPS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(IMPORT_TEST_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_image_import
