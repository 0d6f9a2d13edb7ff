# SPDX-License-Identifier: Apache-2.0
# The OCI and docker formats, image references and an image's user
# (userspace/image/{oci,oci_config,oci_docker,oci_json,ref,user}.c), and their
# unit test. Pure C over jansson: no root, no network.
OCI_OBJS := $(addprefix $(OBJ)/userspace/image/,oci.o oci_config.o oci_docker.o oci_json.o \
	ref.o user.o)
OCI_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
OCI_LIBS := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)

IMAGE_OBJS += $(OCI_OBJS)
IMAGE_LIBS += $(OCI_LIBS)
$(OCI_OBJS): CFLAGS += $(OCI_CFLAGS)

OCI_TEST_OBJS := $(addprefix $(OBJ)/tests/unit/,test_image_oci.o test_image_oci_config.o \
	test_image_ref_user.o)
$(OCI_TEST_OBJS): CFLAGS += -Iuserspace $(OCI_CFLAGS)

$(TESTBIN)/test_image_oci: $(OCI_TEST_OBJS) $(OCI_OBJS) $(OBJ)/userspace/image/img_err.o \
		$(OBJ)/userspace/image/beneath.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(OCI_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_image_oci
