# SPDX-License-Identifier: Apache-2.0
# The registry client (registry.h): the OCI distribution API over libcurl, its
# JSON with jansson. A program linking IMAGE_OBJS links IMAGE_LIBS too.
REGISTRY_CFLAGS := $(shell pkg-config --cflags libcurl jansson 2>/dev/null)
REGISTRY_LIBS   := $(shell pkg-config --libs libcurl jansson 2>/dev/null || echo -lcurl -ljansson)
REGISTRY_OBJS   := $(addprefix $(OBJ)/userspace/image/,registry.o registry_http.o registry_auth.o)

IMAGE_OBJS += $(REGISTRY_OBJS)
IMAGE_LIBS += $(REGISTRY_LIBS)
$(REGISTRY_OBJS): CFLAGS += $(REGISTRY_CFLAGS)

# The test runs a fake registry (libmicrohttpd) on 127.0.0.1 inside its own process.
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
$(OBJ)/tests/unit/test_image_registry.o: CFLAGS += -Iuserspace $(REGISTRY_CFLAGS) \
	$(shell pkg-config --cflags libmicrohttpd)

$(TESTBIN)/test_image_registry: $(OBJ)/tests/unit/test_image_registry.o $(REGISTRY_OBJS) \
		$(OBJ)/userspace/image/img_err.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(REGISTRY_LIBS) $(MHD_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_image_registry
