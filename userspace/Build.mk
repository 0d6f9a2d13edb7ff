# SPDX-License-Identifier: Apache-2.0
# Build rules for userspace/ (included by the top-level Makefile), one folder per
# product: dp/ the dataplane library (linked into the ember CLI, emberd, the netns
# test and the dataplane bench), cli/ the `ember` operator CLI, api/ the app
# model and the REST API emberd serves, emberd/ the daemon. Across folders a
# header is named with its folder ("dp/dp.h"), from -Iuserspace.

# The library drives the XDP programs through their libbpf skeletons, which
# bpf/Build.mk generates into build/skel/. Until the map ABI and both programs
# exist, nothing here is built (so the tree keeps building); tests/Build.mk and
# bench/Build.mk test DP_READY too.
DP_READY := $(if $(filter 3,$(words $(wildcard include/ember/maps.h bpf/router.bpf.c \
	bpf/guest.bpf.c))),yes,)

DP_LIB_OBJS := $(addprefix $(OBJ)/userspace/dp/,dp.o dp_attach.o dp_maps.o dp_events.o dp_stats.o)
DP_LIBS     := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
DP_SKELS    := $(OUT)/skel/router.skel.h $(OUT)/skel/guest.skel.h

$(OBJ)/userspace/%.o: CFLAGS += -I$(OUT)/skel -Iuserspace
# dp.c embeds the skeletons: it must wait for them.
$(OBJ)/userspace/dp/dp.o: $(DP_SKELS)

# The app commands (deploy, ls, status, logs, rm, scale, top, image) are clients of
# emberd's REST API: libcurl over its Unix socket, jansson for the JSON.
# CLI_APP_OBJS has no BPF in it (tests/unit/test_cli_app links it).
CLI_APP_OBJS := $(addprefix $(OBJ)/userspace/cli/,cmd_app.o cmd_app_util.o cmd_app_status.o \
	cmd_app_top.o cmd_image.o cli_http.o)
CLI_APP_CFLAGS := $(shell pkg-config --cflags libcurl jansson 2>/dev/null)
CLI_APP_LIBS   := $(shell pkg-config --libs libcurl jansson 2>/dev/null || echo -lcurl -ljansson)
$(CLI_APP_OBJS): CFLAGS += $(CLI_APP_CFLAGS)

EMBER_OBJS := $(addprefix $(OBJ)/userspace/cli/,ember.o cli.o cmd_dp.o cmd_dp_config.o \
	cmd_dp_show.o) $(CLI_APP_OBJS)

$(BIN)/ember: $(EMBER_OBJS) $(DP_LIB_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(DP_LIBS) $(CLI_APP_LIBS) -o $@

ifeq ($(DP_READY),yes)
ALL_BINS += $(BIN)/ember
endif

# --- the app model and the REST API ---
# The app model (app_spec*, app_field), the app registry and the REST API on
# libmicrohttpd + jansson. Needs no BPF: builds whether or not DP_READY.
# emberd links API_OBJS with API_LIBS; the pure parts are APP_OBJS.
API_CFLAGS := $(shell pkg-config --cflags jansson libmicrohttpd 2>/dev/null)
API_LIBS   := $(shell pkg-config --libs jansson libmicrohttpd 2>/dev/null || echo -ljansson -lmicrohttpd)
APP_OBJS   := $(addprefix $(OBJ)/userspace/api/,app_spec.o app_field.o app_registry.o)
API_OBJS   := $(APP_OBJS) $(addprefix $(OBJ)/userspace/api/,api.o api_routes.o api_images.o \
	api_sock.o)

$(API_OBJS): CFLAGS += $(API_CFLAGS)

# --- emberd ---
# The pool manager: one event loop over the API, the dataplane's wake ring,
# pidfds and control sockets of its ember-vmm children (docs/emberd.md).
# Every file of userspace/emberd/ is linked: a new one needs no edit here.
# The image library (userspace/image/, docs/images.md) serves its image jobs.
# Metering's pure parts (tests/unit/test_emberd_meter links them).
METER_OBJS := $(addprefix $(OBJ)/userspace/emberd/,meter.o prom.o console.o meter_record.o)
EMBERD_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard userspace/emberd/*.c)) \
	$(OBJ)/vmm/fileio.o $(OBJ)/vmm/control_proto.o

$(EMBERD_OBJS): CFLAGS += $(API_CFLAGS)

$(BIN)/emberd: $(EMBERD_OBJS) $(API_OBJS) $(DP_LIB_OBJS) $(IMAGE_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(API_LIBS) $(DP_LIBS) $(IMAGE_LIBS) -o $@

ifeq ($(DP_READY),yes)
ALL_BINS += $(BIN)/emberd
endif
