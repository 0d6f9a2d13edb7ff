# SPDX-License-Identifier: Apache-2.0
# The OCI and docker formats, image references and an image's user
# (userspace/image/{oci,oci_config,oci_docker,oci_json,ref,user}.c), and their
# unit test. Pure C over jansson: no root, no network.
OCI_OBJS := $(addprefix $(OBJ)/userspace/image/,oci.o oci_config.o oci_docker.o oci_json.o \
	ref.o user.o)
OCI_CFLAGS := $(shell pkg-config --cflags jansson 2>/dev/null)
OCI_LIBS := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)

IMAGE_OBJS += $(OCI_OBJS)
$(OCI_OBJS): CFLAGS += $(OCI_CFLAGS)
