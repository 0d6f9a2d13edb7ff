# SPDX-License-Identifier: Apache-2.0
# Build rules for bench/ (included by the top-level Makefile). bench/run.sh
# finds every executable under $(BENCHBIN) and every bench/NAME.sh.

# --- dataplane: router packet rate vs redirect-only, wake latency, wake dedup ---
# Its bench-only XDP programs (bench/dataplane.bpf.c) are built by bpf/Build.mk's
# pattern rules: $(OUT)/bpf/bench/dataplane.bpf.o -> $(OUT)/skel/dataplane.skel.h.
DATAPLANE_BENCH_OBJS := $(addprefix $(OBJ)/bench/,dataplane.o dp_gen.o dp_measure.o) \
	$(OBJ)/tests/netns/nslib.o

$(OBJ)/bench/%.o: CFLAGS += -I$(OUT)/skel -Iuserspace -pthread
$(OBJ)/bench/dataplane.o $(OBJ)/bench/dp_gen.o $(OBJ)/bench/dp_measure.o: \
	$(OUT)/skel/dataplane.skel.h

$(BENCHBIN)/dataplane: $(DATAPLANE_BENCH_OBJS) $(DP_LIB_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(DP_LIBS) -o $@

ifeq ($(DP_READY),yes)
BENCHES += $(BENCHBIN)/dataplane
endif

# --- loadgen ---
# Open-loop HTTP/1.1 load generator for the e2e benchmark (bench/loadgen*.c; its
# pure parts in loadgen_stats.c, unit-tested by tests/unit/test_loadgen.c). A tool,
# not a benchmark: it goes next to http_get in $(TESTBIN), because bench/run.sh
# would run any executable in $(BENCHBIN) as a benchmark.
LOADGEN := $(TESTBIN)/loadgen
LOADGEN_OBJS := $(addprefix $(OBJ)/bench/,loadgen.o loadgen_engine.o loadgen_stats.o)

$(LOADGEN): $(LOADGEN_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

ALL_BINS += $(LOADGEN)
# --- end loadgen ---
