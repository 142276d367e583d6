# SPDX-License-Identifier: Apache-2.0
# mpbs-run — build, tests, install.
#   make              build/mpbs-run
#   make check        every test (unit, end-to-end, isolation); root for the last two
#   make check-asan   the same suite built with ASan + UBSan in build-asan/
#   make check-valgrind  the end-to-end suite with every role under valgrind
#   make faults       the crash fault matrix FAULT_RUNS times, with its figures (root)
#   make install      PREFIX=/usr/local DESTDIR=
#   make deps         install the Debian packages (contrib/deps.sh)

SHELL   := /bin/bash
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
SAN     ?=
MEMCHECK ?=

PKGS := libseccomp libcap libnl-3.0 libnl-route-3.0 libsodium nettle inih libmicrohttpd jansson libsystemd

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS   := $(shell pkg-config --libs criterion 2>/dev/null)

WARN   := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -fstack-clash-protection
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -pthread $(WARN) $(HARDEN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
LDHARDEN := -pthread -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ifneq ($(SAN),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DMPBS_SANITIZED=1
LDHARDEN   += -fsanitize=address,undefined
endif

ifneq ($(MEMCHECK),)
ifeq ($(BUILD),build)
$(error MEMCHECK=1 builds roles without seccomp and Landlock: give it its own BUILD (make check-valgrind uses build-vg))
endif
ALL_CFLAGS += -DMPBS_MEMCHECK_BUILD=1
endif

# runner/: the supervisor (root); runner/audit/: the audit and its probes;
# roles/<role>/: each role's program; lib/: what roles and supervisor share.
RUNNER_SRC := $(filter-out runner/main.c,$(wildcard runner/*.c runner/audit/*.c))
ROLES_SRC  := $(wildcard roles/*.c roles/*/*.c lib/*.c)
LIB_OBJ    := $(patsubst %.c,$(BUILD)/obj/%.o,$(RUNNER_SRC) $(ROLES_SRC))
MAIN_OBJ   := $(BUILD)/obj/runner/main.o
TEST_SRC   := $(wildcard tests/common/*.c tests/unit/*.c tests/e2e/*.c tests/isolation/*.c)
TEST_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_SRC))

BIN   := $(BUILD)/mpbs-run
LIB   := $(BUILD)/libmpbs.a
TESTS := $(BUILD)/mpbs-tests

.PHONY: all check check-unit check-asan check-valgrind faults bench-soak install uninstall clean deps run test fuzz bench audit

all: $(BIN)

# The README's two commands: each installs what it needs first, then runs a
# fresh make so pkg-config sees the packages just installed.
run: deps
	$(MAKE) all
	./$(BIN) contrib/topologies/reference.conf

test: deps
	$(MAKE) check
	$(MAKE) check-asan
	$(MAKE) check-valgrind
	$(MAKE) audit
	$(MAKE) fuzz FUZZ_SECONDS=10
	$(MAKE) faults FAULT_RUNS=3
	@cat $(BUILD)/faults.log.summary
	@echo "== ASan/UBSan suite:"; grep Synthesis build-asan/check.log | tail -n 1
	@echo "== valgrind e2e suites:"; grep Synthesis $(VG_BUILD)/check.log | tail -n 1
	@echo "== the suite's result:"; tail -n 1 $(BUILD)/check.log

# The isolation claims proven from inside the sandboxes of both shipped
# topologies (root); JUnit and JSON reports left at the top of the tree.
AUDIT_TMP := $(BUILD)/audit
audit: $(BIN)
	@mkdir -p $(AUDIT_TMP)
	./$(BIN) --audit --junit audit-reference.xml --json audit-reference.json \
		--set intermediary.listen=127.0.0.1:18556 --set association.ledger=$(abspath $(AUDIT_TMP))/reference-ledger.jsonl \
		contrib/topologies/reference.conf
	./$(BIN) --audit --junit audit-hardened.xml --json audit-hardened.json \
		--set intermediary.listen=127.0.0.1:18555 --set association.ledger=$(abspath $(AUDIT_TMP))/hardened-ledger.jsonl \
		contrib/topologies/hardened.conf
	@chattr -a $(AUDIT_TMP)/*.jsonl 2>/dev/null; rm -rf $(AUDIT_TMP)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDHARDEN) -o $@ $^ $(PKG_LIBS)

$(TESTS): $(TEST_OBJ) $(LIB) $(BIN)
	$(CC) $(LDHARDEN) -o $@ $(TEST_OBJ) $(LIB) $(PKG_LIBS) $(CRIT_LIBS)

# The suite finds the binary under test through MPBS_RUN; criterion forks a
# process per test, two at a time on the project's 2-core machines.
CHECK_ENV := MPBS_RUN=$(abspath $(BIN)) MPBS_SRCDIR=$(CURDIR)
# --timeout only guards CI against a hung test (it is no speed target: those
# live in `make bench`).
check: $(TESTS)
	set -o pipefail; $(CHECK_ENV) $(TESTS) --jobs 2 --timeout 300 $(CHECK_ARGS) 2>&1 | tee $(BUILD)/check.log

# Only the tests that need neither root nor a running system.
check-unit: $(TESTS)
	$(CHECK_ENV) $(TESTS) --jobs 2 --filter 'unit_*/*' $(CHECK_ARGS)

# The crash fault matrix (tests/e2e/test_crash.c) FAULT_RUNS times with a new
# random seed each: random SIGKILLs of the association and every provider
# under load, a whole-tree kill and restart; prints each run's figures and
# their sum (answered, unconfirmed, duplicates, recovery time). Log:
# build/faults.log, the sums in build/faults.log.summary. About 25 s a run.
FAULT_RUNS ?= 5
faults: $(TESTS)
	$(CHECK_ENV) bash contrib/faults.sh $(abspath $(TESTS)) $(FAULT_RUNS) $(BUILD)/faults.log

check-asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(MAKE) BUILD=build-asan SAN=1 check

# The end-to-end suite with the supervisor and every role under valgrind
# memcheck; fails on any memory error or definite/indirect leak in any
# process. The memcheck build runs roles without seccomp and Landlock,
# which valgrind cannot follow (lib/memcheck.h). Left out: all that
# asserts seccomp or Landlock (the isolation suites, `make audit`), the
# test that expects a handler's network call to die by seccomp and the one
# that expects its programs' Landlock domain to keep it from the keys. Logs:
# build-vg/valgrind.
VG_BUILD := build-vg
VG_SUITES := @(e2e_pipeline|e2e_faults|e2e_crash|e2e_recovery|e2e_hostile|e2e_cli|e2e_token|e2e_verify|e2e_evaluator|e2e_handler)/!(network_attempt_dies_by_seccomp|cannot_read_its_providers_keys_or_policy)
check-valgrind:
	$(MAKE) BUILD=$(VG_BUILD) MEMCHECK=1 $(VG_BUILD)/mpbs-tests
	rm -rf $(VG_BUILD)/valgrind && mkdir -p $(VG_BUILD)/valgrind
	set -o pipefail; MPBS_RUN=$(CURDIR)/tests/valgrind/mpbs-run-vg MPBS_VG_BIN=$(abspath $(VG_BUILD)/mpbs-run) \
		MPBS_VG_DIR=$(abspath $(VG_BUILD)/valgrind) MPBS_SRCDIR=$(CURDIR) MPBS_TIME_SCALE=10 \
		$(VG_BUILD)/mpbs-tests --jobs 2 --timeout 900 --filter '$(VG_SUITES)' $(CHECK_ARGS) 2>&1 | tee $(VG_BUILD)/check.log
	sh tests/valgrind/check-logs.sh $(VG_BUILD)/valgrind

deps:
	sh contrib/deps.sh

# Benchmarks (root, loopback): nginx `return 204` ceiling vs mpbs-run, confirmations
# counted from the ledger, scaling 1..64 providers, docs/bench-scaling.png.
# BENCH_ARGS=--quick for a short run; python3 contrib/bench/run.py --help lists the rest.
bench: $(BIN)
	sh contrib/bench/deps.sh
	python3 contrib/bench/run.py $(BENCH_ARGS)

# Memory of every role over 10 M operations: about 10 min and
# 27 GB of temporary ledger under $$TMPDIR. SOAK_ARGS="--ops 1000000 --dir /big".
bench-soak: $(BIN)
	sh contrib/bench/deps.sh
	python3 contrib/bench/soak.py $(SOAK_ARGS)

# libFuzzer targets: every decoder that reads bytes another role or a
# requester controls. Each runs FUZZ_SECONDS on a scratch copy of its seed
# corpus (libFuzzer writes new inputs into the first directory it is given);
# a crash leaves its input in build-fuzz/ and fails the target.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS   := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(RUNNER_SRC) $(ROLES_SRC)
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< $(RUNNER_SRC) $(ROLES_SRC) $(PKG_LIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
		name=$${f#build-fuzz/fuzz_}; rm -rf build-fuzz/work-$$name; mkdir -p build-fuzz/work-$$name; \
		echo "fuzz $$name: $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 -artifact_prefix=build-fuzz/$$name- \
			build-fuzz/work-$$name tests/fuzz/corpus/$$name 2>build-fuzz/$$name.log \
			|| { tail -n 30 build-fuzz/$$name.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' build-fuzz/$$name.log | sed "s/^/  $$name: /"; \
	done

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/mpbs-run/policy \
		$(DESTDIR)$(PREFIX)/share/mpbs-run/topologies
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mpbs-run
	install -m 0644 policy/*.policy $(DESTDIR)$(PREFIX)/share/mpbs-run/policy/
	cp -R contrib/topologies/. $(DESTDIR)$(PREFIX)/share/mpbs-run/topologies/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mpbs-run
	rm -rf $(DESTDIR)$(PREFIX)/share/mpbs-run

clean:
	rm -rf build build-asan build-fuzz audit-*.xml audit-*.json

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
