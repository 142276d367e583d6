# SPDX-License-Identifier: Apache-2.0
# mpbs-bridge: the NATS JetStream bridge (bridge/), a program of its own so
# that libnats, libssl and libcrypto are never mapped into mpbs-run or any
# other role. Included by the top Makefile, which defines BUILD, BRIDGE_BIN,
# ALL_CFLAGS, ALL_LDFLAGS, COMPILE_STAMP and the $(BUILD)/obj/%.o rule.
# libnats stays out of the top-level PKGS: only these objects see it.

BRIDGE_SRC  := $(wildcard bridge/*.c)
BRIDGE_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(BRIDGE_SRC))
BRIDGE_PKGS := libnats libsodium
BRIDGE_CFLAGS := $(shell pkg-config --cflags $(BRIDGE_PKGS) 2>/dev/null)
BRIDGE_LIBS   := $(shell pkg-config --libs $(BRIDGE_PKGS) 2>/dev/null)

$(BRIDGE_OBJ): ALL_CFLAGS += $(BRIDGE_CFLAGS)

# What of the bridge needs neither libnats nor libsodium: the batch codec,
# which the unit tests link too and the fuzz target builds from
# (tests/unit/test_bridge_batch.c, tests/fuzz/fuzz_bridge_batch.c).
BRIDGE_PURE_SRC := bridge/batch.c
BRIDGE_PURE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(BRIDGE_PURE_SRC))

$(BRIDGE_BIN): $(BRIDGE_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BRIDGE_OBJ) $(BRIDGE_LIBS) $(LDLIBS)
