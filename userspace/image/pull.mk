# SPDX-License-Identifier: Apache-2.0
# Pulls (userspace/image/pull.c): an import whose source is a registry, so it
# needs both the importers' and the registry client's headers and libraries
# (import.mk and registry.mk add those libraries to IMAGE_LIBS).
PULL_OBJS := $(OBJ)/userspace/image/pull.o

IMAGE_OBJS += $(PULL_OBJS)
$(PULL_OBJS): CFLAGS += $(shell pkg-config --cflags libcurl jansson 2>/dev/null)

# The fixture image of test_image_import served by a fake registry (libmicrohttpd)
# in the test's own process: pulled through an index, again without a blob
# fetched, and refused, leaving the store as it was, when a registry lies.
PULL_TEST_OBJS := $(OBJ)/tests/unit/test_image_pull.o
$(PULL_TEST_OBJS): CFLAGS += -Iuserspace $(shell pkg-config --cflags libcurl jansson \
	libmicrohttpd 2>/dev/null)

# registry.mk is read after this fragment (prerequisites expand as they are
# read): its objects are named here; import.mk's are already set.
PULL_TEST_DEPS := $(addprefix $(OBJ)/userspace/image/,registry.o registry_http.o registry_auth.o)
PULL_TEST_LIBS := $(shell pkg-config --libs libcurl libmicrohttpd 2>/dev/null || \
	echo -lcurl -lmicrohttpd)

$(TESTBIN)/test_image_pull: $(PULL_TEST_OBJS) $(OBJ)/tests/unit/import_fixture.o $(PULL_OBJS) \
		$(IMPORT_OBJS) $(PULL_TEST_DEPS) $(IMPORT_TEST_DEPS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(IMPORT_TEST_LIBS) $(PULL_TEST_LIBS) -lcmocka -o $@

TESTS += $(TESTBIN)/test_image_pull
