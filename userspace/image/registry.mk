# SPDX-License-Identifier: Apache-2.0
# The registry client (registry.h): the OCI distribution API over libcurl, its
# JSON with jansson. A program linking IMAGE_OBJS links IMAGE_LIBS too.
REGISTRY_CFLAGS := $(shell pkg-config --cflags libcurl jansson 2>/dev/null)
REGISTRY_LIBS   := $(shell pkg-config --libs libcurl jansson 2>/dev/null || echo -lcurl -ljansson)
REGISTRY_OBJS   := $(addprefix $(OBJ)/userspace/image/,registry.o registry_http.o registry_auth.o)

IMAGE_OBJS += $(REGISTRY_OBJS)
IMAGE_LIBS += $(REGISTRY_LIBS)
$(REGISTRY_OBJS): CFLAGS += $(REGISTRY_CFLAGS)
