# SPDX-License-Identifier: Apache-2.0
# contrib/multihost/multihost.mk -- the multi-host test (docs/MULTIHOST.md),
# included by the top Makefile, which defines BUILD, BIN, BRIDGE_BIN,
# ALL_CFLAGS, ALL_LDFLAGS and the rule that compiles tests/%.c.
#   make test-multihost   a 3-node NATS cluster on loopback, the three host
#                         parts of contrib/topologies/multihost.conf, load,
#                         a NATS node, the association and a bridge killed
#                         under it (root). MULTIHOST_ARGS=--tls: TLS between
#                         the bridges and the cluster and between its nodes
#   make check-bridge     the bridge program alone against one nats-server:
#                         kills, restarts and its lanes' edge cases
#   make bench-multihost  the same cluster and parts, no fault: wrk against the
#                         intermediary for 20 s, then answered req/s,
#                         confirmed/s and the confirmation latency's
#                         percentiles (root; needs wrk; not part of make test).
#                         BENCH_MH_ARGS for contrib/multihost/bench.py (--help)

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
	python3 contrib/multihost/run.py --binary $(BIN) --permtest $(PERMTEST_BIN) $(MULTIHOST_ARGS)

# The bridge program alone against one nats-server each (loopback ports
# 15422 and 15423): two bridges through a harness with SIGKILLs of each and
# a server restart, for both lane kinds (bridge/test/smoke.sh), and the
# lanes' edge cases: an oversize channel message, a message deleted from
# the stream, a long gap filled from it (bridge/test/edge.sh).
.PHONY: check-bridge
check-bridge: $(BRIDGE_BIN)
	bash bridge/test/smoke.sh art 3000
	bash bridge/test/smoke.sh sig 3000
	bash bridge/test/edge.sh

.PHONY: bench-multihost
bench-multihost: $(BIN) $(BRIDGE_BIN)
	@command -v wrk >/dev/null || { echo "bench-multihost: needs wrk (apt-get install wrk; contrib/bench/deps.sh installs it)" >&2; exit 2; }
	python3 contrib/multihost/bench.py --binary $(BIN) $(BENCH_MH_ARGS)
