# SPDX-License-Identifier: Apache-2.0
# contrib/multihost/multihost.mk -- the multi-host test (docs/MULTIHOST.md),
# included by the top Makefile, which defines BUILD, BIN, BRIDGE_BIN,
# ALL_CFLAGS, ALL_LDFLAGS and the rule that compiles tests/%.c.
#   make test-multihost   a 3-node NATS cluster on loopback, the three host
#                         parts of contrib/topologies/multihost.conf, load,
#                         a node and a bridge killed under it (root)

# libnats only here and in mpbs-bridge: the permission test speaks NATS as
# each host part's user does.
NATS_CFLAGS  := $(shell pkg-config --cflags libnats 2>/dev/null)
NATS_LIBS    := $(shell pkg-config --libs libnats 2>/dev/null)
PERMTEST_BIN := $(BUILD)/mpbs-nats-permtest
PERMTEST_OBJ := $(BUILD)/obj/tests/multihost/permtest.o

$(PERMTEST_OBJ): ALL_CFLAGS += $(NATS_CFLAGS)

$(PERMTEST_BIN): $(PERMTEST_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(NATS_LIBS) $(LDLIBS)

.PHONY: test-multihost
test-multihost: $(BIN) $(BRIDGE_BIN) $(PERMTEST_BIN)
	python3 contrib/multihost/run.py --binary $(BIN) --permtest $(PERMTEST_BIN)
