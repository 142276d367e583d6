# SPDX-License-Identifier: Apache-2.0
# mpbs-run — build, tests, install.
#   make              build/mpbs-run (CPPFLAGS, CFLAGS, LDFLAGS honoured; no -Werror)
#   make check        every test (unit, end-to-end, isolation); root for the last two
#   make check-asan   the same suite built with ASan + UBSan in build-asan/
#   make check-valgrind  the end-to-end suite with every role under valgrind
#   make faults       the crash fault matrix FAULT_RUNS times, with its figures (root)
#   make check-ledger-reader  verify and the independent ledger reader agree on a real run (root)
#   make install      PREFIX=/usr/local DESTDIR= (and BINDIR, DATADIR, MANDIR, SYSCONFDIR, ...)
#   make uninstall    removes what `make install` put, with the same variables
#   make check-install  installs into a scratch DESTDIR and runs the installed binary there
#   make deb          the Debian package (debian/) into build/deb/, checked by lintian
#   make deps         install the Debian packages (contrib/deps.sh)

SHELL   := /bin/bash
DESTDIR ?=
# Every build directory is a folder of the source tree (build, build-asan,
# build-vg): a binary finds its tree's policy/ as BUILD/../policy (runner/plan.c).
BUILD   ?= build
CC      ?= cc
INSTALL ?= install
SAN     ?=
MEMCHECK ?=

# Install directories. Both spellings are accepted: the upper-case ones
# (PREFIX, BINDIR, ...) and the GNU lower-case ones that debhelper and
# autotools-minded callers pass (prefix, bindir, ...); an upper-case one wins.
# SYSCONFDIR is /etc for PREFIX=/usr, as distributions have it, else PREFIX/etc.
prefix     ?= /usr/local
PREFIX     ?= $(prefix)
BINDIR     ?= $(or $(bindir),$(PREFIX)/bin)
DATADIR    ?= $(or $(datadir),$(PREFIX)/share)
MANDIR     ?= $(or $(mandir),$(DATADIR)/man)
SYSCONFDIR ?= $(or $(sysconfdir),$(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc))
DOCDIR     ?= $(or $(docdir),$(DATADIR)/doc/mpbs-run)
LIBEXECDIR ?= $(or $(libexecdir),$(PREFIX)/libexec)
# The layout (README "Install"): program data under DATADIR/mpbs-run (the
# seccomp policies, the example programs the topologies run), the shipped
# topologies with their provider policies under SYSCONFDIR/mpbs-run, the
# configuration folder, beside the operator's own.
PKGDATADIR  := $(DATADIR)/mpbs-run
POLICYDIR   := $(PKGDATADIR)/policy
EXAMPLESDIR := $(PKGDATADIR)/examples
TOPOLOGYDIR := $(SYSCONFDIR)/mpbs-run
# mpbs-bridge, the program of a host part's bridge role (bridge/), which
# only mpbs-run starts.
PKGLIBEXECDIR := $(LIBEXECDIR)/mpbs-run
BASHCOMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
# systemd's own answer when installing for the system (PREFIX=/usr), else
# under PREFIX, which systemd also reads (/usr/local/lib/systemd/system).
SYSTEMDUNITDIR ?= $(or $(if $(filter /usr,$(PREFIX)),$(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)),$(PREFIX)/lib/systemd/system)

# libcrypt: bcrypt for the NATS users' passwords (runner/nats_cmd.c). libnats
# is linked into mpbs-bridge alone (bridge/bridge.mk), never into mpbs-run.
PKGS := libseccomp libcap libnl-3.0 libnl-route-3.0 libsodium nettle inih jansson libsystemd libcrypt

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libhttp-parser ships no pkg-config file: its one library by name.
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser
CRIT_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS   := $(shell pkg-config --libs criterion 2>/dev/null)

# -Werror only where a warning must stop the work: the test targets and CI
# (.ci/run passes WERROR=1). Anyone else building it (another compiler,
# a distribution's flags) gets the warnings without a failed build.
# WERROR=0 turns it off for the test targets too (debian/rules does).
ifneq ($(filter test check check-unit check-asan check-valgrind check-install,$(MAKECMDGOALS)),)
WERROR ?= 1
endif
WARN   := -Wall -Wextra -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter
ifneq ($(filter-out 0,$(WERROR)),)
WARN   += -Werror
endif

# Hardening is always on; the caller's flags come after ours so they can
# override any of them. _FORTIFY_SOURCE only when optimising (glibc ignores
# it, with a warning, at -O0) and when the caller does not set it already
# (dpkg-buildflags does).
CFLAGS ?= -O2 -g
OPT_LEVEL := $(or $(lastword $(filter -O%,$(CFLAGS))),-O0)
FORTIFY := $(if $(filter -O0,$(OPT_LEVEL))$(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
HARDEN := $(FORTIFY) -fstack-protector-strong -fPIE -fstack-clash-protection
ALL_CFLAGS := -std=gnu11 -pthread $(WARN) $(HARDEN) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDHARDEN := -pthread -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ifneq ($(SAN),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DMPBS_SANITIZED=1
LDHARDEN   += -fsanitize=address,undefined
endif
ALL_LDFLAGS = $(LDHARDEN) $(CFLAGS) $(LDFLAGS)

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
# here, not in bridge/bridge.mk: the prerequisite lists below (all,
# audit-multihost) are expanded where they are read, before that include
BRIDGE_BIN := $(BUILD)/mpbs-bridge

.PHONY: audit-multihost test-multihost
.PHONY: all man check check-unit check-asan check-valgrind faults bench-soak install uninstall check-install deb clean deps run test fuzz bench audit check-ledger-reader bench-cpu

# make compares only times: these files hold the flags and the installed
# policy directory an object was built with, rewritten only when they
# change, so `make CFLAGS=-O0` or `make install PREFIX=/usr` after a plain
# `make` rebuilds what they affect. -Werror is left out: it changes no object.
COMPILE_STAMP := $(BUILD)/compile-flags
PATHS_STAMP   := $(BUILD)/install-paths
define write_if_changed
$(shell mkdir -p $(dir $(1)))$(if $(and $(findstring $(file <$(1)),$(2)),$(findstring $(2),$(file <$(1)))),,$(file >$(1),$(2)))
endef
$(call write_if_changed,$(COMPILE_STAMP),$(filter-out -Werror,$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) $(ALL_LDFLAGS)))
$(call write_if_changed,$(PATHS_STAMP),$(POLICYDIR) $(PKGLIBEXECDIR))

# Beside the binary, never installed: marks a build tree (runner/plan.c).
BUILD_MARKER := $(BUILD)/.mpbs-build-tree

all: $(BIN) $(BRIDGE_BIN)

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
	$(MAKE) check-ledger-reader
	$(MAKE) fuzz FUZZ_SECONDS=10
	$(MAKE) faults FAULT_RUNS=3
	$(MAKE) test-multihost
	$(MAKE) check-bridge
	$(MAKE) check-install
	$(MAKE) deb
	@cat $(BUILD)/faults.log.summary
	@echo "== ASan/UBSan suite:"; grep Synthesis build-asan/check.log | tail -n 1
	@echo "== valgrind e2e suites:"; grep Synthesis $(VG_BUILD)/check.log | tail -n 1
	@echo "== the suite's result:"; tail -n 1 $(BUILD)/check.log

# The isolation claims proven from inside the sandboxes of both shipped
# topologies, then of each host part of the topology spread over hosts,
# its bridge among the roles (root); JUnit and JSON reports left at the
# top of the tree.
AUDIT_TMP := $(BUILD)/audit
audit: $(BIN)
	@mkdir -p $(AUDIT_TMP)
	./$(BIN) --audit --junit audit-reference.xml --json audit-reference.json \
		--set intermediary.listen=127.0.0.1:18556 --set association.ledger=$(abspath $(AUDIT_TMP))/reference-ledger \
		contrib/topologies/reference.conf
	./$(BIN) --audit --junit audit-hardened.xml --json audit-hardened.json \
		--set intermediary.listen=127.0.0.1:18555 --set association.ledger=$(abspath $(AUDIT_TMP))/hardened-ledger \
		contrib/topologies/hardened.conf
	@chattr -a $(AUDIT_TMP)/*-ledger* 2>/dev/null; rm -rf $(AUDIT_TMP)
	$(MAKE) audit-multihost

# Each host part of the reference topology spread over hosts
# (contrib/topologies/multihost.conf), its bridge among the roles: the
# audit needs no NATS server (no probe reaches one); the passwords come from
# nats-config, and the keys of A and B, which the association's part reads
# and the ab part's providers own, from keygen.
AUDIT_MH  := $(abspath $(AUDIT_TMP))/multihost
AUDIT_MH_UIDS := 250000
AUDIT_MH_SETS := --set runner.uid_base=$(AUDIT_MH_UIDS) --set nats.servers=nats://127.0.0.1:18570 \
	--set nats.credentials=$(AUDIT_MH)/nats --set intermediary.listen=127.0.0.1:18557 \
	--set association.ledger=$(AUDIT_MH)/ledger --set association.keys=$(AUDIT_MH)/association-keys \
	--set provider.A.keys=$(AUDIT_MH)/keys/A --set provider.B.keys=$(AUDIT_MH)/keys/B \
	--set provider.C.keys=$(AUDIT_MH)/keys/C
audit-multihost: $(BIN) $(BRIDGE_BIN)
	@chattr -a $(AUDIT_MH)/ledger* 2>/dev/null; rm -rf $(AUDIT_MH) && mkdir -p $(AUDIT_MH)/keys
	./$(BIN) keygen $(AUDIT_MH)/keys/A && chown -R $$(($(AUDIT_MH_UIDS) + 2)):$$(($(AUDIT_MH_UIDS) + 2)) $(AUDIT_MH)/keys/A
	./$(BIN) keygen $(AUDIT_MH)/keys/B && chown -R $$(($(AUDIT_MH_UIDS) + 3)):$$(($(AUDIT_MH_UIDS) + 3)) $(AUDIT_MH)/keys/B
	./$(BIN) nats-config $(AUDIT_MH_SETS) -o $(AUDIT_MH)/accounts.conf contrib/topologies/multihost.conf
	@set -e; for part in front ab back; do \
		echo "== audit of host part $$part"; \
		./$(BIN) --audit --host $$part --junit audit-multihost-$$part.xml --json audit-multihost-$$part.json \
			$(AUDIT_MH_SETS) contrib/topologies/multihost.conf; \
	done
	@chattr -a $(AUDIT_MH)/ledger* 2>/dev/null; rm -rf $(AUDIT_MH)

# The second, independent reader of the ledger (contrib/ledger/mpbs_ledger.py,
# written from docs/LEDGER.md alone) against `mpbs-run verify` on a real run
# of the reference topology under load, rotated every 64K (many segments):
# both OK with the same confirmed count, both FAIL with one byte flipped in
# a sealed segment (root, about 20 s).
check-ledger-reader: $(BIN)
	python3 contrib/ledger/check_reader.py --binary $(BIN)

$(BUILD)/obj/%.o: %.c $(COMPILE_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c $(COMPILE_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) -c -o $@ $<

# The two objects that know an install directory.
$(BUILD)/obj/runner/plan.o: ALL_CFLAGS += -DMPBS_POLICY_DIR='"$(POLICYDIR)"'
$(BUILD)/obj/runner/plan.o: $(PATHS_STAMP)
$(BUILD)/obj/runner/plan_bridge.o: ALL_CFLAGS += -DMPBS_LIBEXEC_DIR='"$(PKGLIBEXECDIR)"'
$(BUILD)/obj/runner/plan_bridge.o: $(PATHS_STAMP)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB) | $(BUILD_MARKER)
	$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(PKG_LIBS) $(LDLIBS)

include bridge/bridge.mk
include contrib/multihost/multihost.mk

$(BUILD_MARKER):
	@mkdir -p $(dir $@)
	echo "build tree of mpbs-run: policies from ../policy (runner/plan.c)" > $@

# --version, decided here: in a git checkout `git describe` of the last
# vX.Y.Z tag, or VERSION+g<commit> before the first one ("-dirty" with
# uncommitted changes); without .git (a release tarball, a .deb build) the
# VERSION file. Only main.o carries it, rebuilt when it changes.
VERSION_FILE := $(shell cat VERSION)
GIT_DESCRIBE := $(if $(wildcard .git),$(shell git describe --always --dirty --match 'v[0-9]*' 2>/dev/null))
MPBS_VERSION := $(if $(GIT_DESCRIBE),$(if $(filter v%,$(GIT_DESCRIBE)),$(GIT_DESCRIBE:v%=%),$(VERSION_FILE)+g$(GIT_DESCRIBE)),$(VERSION_FILE))
$(MAIN_OBJ): ALL_CFLAGS += -DMPBS_VERSION='"$(MPBS_VERSION)"'
$(MAIN_OBJ): $(BUILD)/version
$(BUILD)/version: FORCE
	@mkdir -p $(dir $@); echo '$(MPBS_VERSION)' | cmp -s - $@ || echo '$(MPBS_VERSION)' > $@
.PHONY: FORCE

$(TESTS): $(TEST_OBJ) $(BRIDGE_PURE_OBJ) $(LIB) $(BIN)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(BRIDGE_PURE_OBJ) $(LIB) $(PKG_LIBS) $(CRIT_LIBS) $(LDLIBS)

# A valid version 2 test ledger of any size, for the benchmarks and second
# readers (tests/tools/gen_ledger.c says how); never installed.
GEN_LEDGER := $(BUILD)/gen-ledger
$(GEN_LEDGER): $(BUILD)/obj/tests/tools/gen_ledger.o $(BUILD)/obj/tests/common/ledger2_gen.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Man pages (scdoc): docs/man/NAME.S.scd to build/man/NAME.S. The generator
# (docs/man/gen.c, not installed) first fills each template's {{NAME}} lines
# from the tables the page documents: topology keys, rlimits, policy keys.
MAN_DIR   := $(BUILD)/man
MAN_PAGES := $(patsubst docs/man/%.scd,$(MAN_DIR)/%,$(wildcard docs/man/*.scd))
GEN_MAN   := $(BUILD)/mpbs-gen-man
man: $(MAN_PAGES)
$(GEN_MAN): $(BUILD)/obj/docs/man/gen.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)
$(MAN_DIR)/%: docs/man/%.scd $(GEN_MAN)
	@mkdir -p $(MAN_DIR)
	set -o pipefail; $(GEN_MAN) < $< | SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)} scdoc > $@.tmp
	mv $@.tmp $@

# The suite finds the binary under test through MPBS_RUN; criterion forks a
# process per test, two at a time on the project's 2-core machines.
CHECK_ENV := MPBS_RUN=$(abspath $(BIN)) MPBS_SRCDIR=$(CURDIR) MPBS_MAN_DIR=$(abspath $(MAN_DIR))
# --timeout only guards CI against a hung test (it is no speed target: those
# live in `make bench`).
check: $(TESTS) man
	set -o pipefail; $(CHECK_ENV) $(TESTS) --jobs 2 --timeout 300 $(CHECK_ARGS) 2>&1 | tee $(BUILD)/check.log

# Only the tests that need neither root nor a running system.
check-unit: $(TESTS) man
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
# two tests that expect a handler's network call to die by seccomp and the one
# that expects its programs' Landlock domain to keep it from the keys. Logs:
# build-vg/valgrind.
VG_BUILD := build-vg
VG_SUITES := @(e2e_pipeline|e2e_faults|e2e_crash|e2e_recovery|e2e_hostile|e2e_cli|e2e_token|e2e_verify|e2e_evaluator|e2e_handler)/!(network_attempt_dies_by_seccomp|output_is_not_logged_at_the_default_level|cannot_read_its_providers_keys_or_policy)
check-valgrind:
	$(MAKE) BUILD=$(VG_BUILD) MEMCHECK=1 WERROR=$(WERROR) $(VG_BUILD)/mpbs-tests
	rm -rf $(VG_BUILD)/valgrind && mkdir -p $(VG_BUILD)/valgrind
	set -o pipefail; MPBS_RUN=$(CURDIR)/tests/valgrind/mpbs-run-vg MPBS_VG_BIN=$(abspath $(VG_BUILD)/mpbs-run) \
		MPBS_VG_DIR=$(abspath $(VG_BUILD)/valgrind) MPBS_SRCDIR=$(CURDIR) MPBS_TIME_SCALE=10 \
		$(VG_BUILD)/mpbs-tests --jobs 2 --timeout 900 --filter '$(VG_SUITES)' $(CHECK_ARGS) 2>&1 | tee $(VG_BUILD)/check.log
	sh tests/valgrind/check-logs.sh $(VG_BUILD)/valgrind

deps:
	sh contrib/deps.sh

# Benchmarks (root, loopback): nginx `return 204` ceiling vs mpbs-run, confirmations
# counted from the ledger, ledger bytes per confirmed operation and segments,
# `mpbs-run verify --jobs` records/s, scaling 1..64 providers, docs/bench-scaling.png,
# make bench-cpu's measurement, then every target PASS or FAIL with the source commit
# (exit 4 when one fails). BENCH_ARGS=--quick for a short run (about a minute);
# python3 contrib/bench/run.py --help lists the rest.
# `make bench-cpu`: CPU µs per confirmed operation of each role (/proc/PID/schedstat
# before and after a fixed wrk load, keep-alive 64, reference topology; 3 runs, about
# 1 minute); CPU_ARGS for contrib/bench/cpu.py (--help).
bench: $(BIN)
	sh contrib/bench/deps.sh
	python3 contrib/bench/run.py $(BENCH_ARGS)

bench-cpu: $(BIN)
	sh contrib/bench/deps.sh
	python3 contrib/bench/cpu.py $(CPU_ARGS)

# Memory of every role over 10 M operations: about 10 min and
# up to 7 GB of temporary ledger under $$TMPDIR. SOAK_ARGS="--ops 1000000 --dir /big".
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

# The bridge's batch decoder is in neither: its own pure source alone.
build-fuzz/fuzz_bridge_batch: tests/fuzz/fuzz_bridge_batch.c $(BRIDGE_PURE_SRC) bridge/batch.h
	@mkdir -p build-fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(BRIDGE_PURE_SRC)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
		name=$${f#build-fuzz/fuzz_}; rm -rf build-fuzz/work-$$name; mkdir -p build-fuzz/work-$$name; \
		echo "fuzz $$name: $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 -artifact_prefix=build-fuzz/$$name- \
			build-fuzz/work-$$name tests/fuzz/corpus/$$name 2>build-fuzz/$$name.log \
			|| { tail -n 30 build-fuzz/$$name.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' build-fuzz/$$name.log | sed "s/^/  $$name: /"; \
	done

# What `make install` puts where (README "Install"). Each shipped topology
# goes with its provider policies (NAME.conf, NAME/*.policy); its relative
# `../examples` is rewritten to EXAMPLESDIR, so the installed one passes
# `mpbs-run -t` where it lies. What other parts build or ship is installed
# when present: the man pages (`make man`, from docs/man), the bash
# completion, the systemd unit (its /usr/bin and /etc paths made ours).
MAN_TARGET := $(if $(wildcard docs/man),man)
TOPOLOGIES := $(wildcard contrib/topologies/*.conf)
EXAMPLES   := $(wildcard contrib/examples/*)
COMPLETION := $(wildcard contrib/bash-completion/mpbs-run)
UNIT       := $(wildcard contrib/systemd/mpbs-run@.service)
DOCS       := README.md LICENSE $(wildcard docs/*.md docs/*.png)

install: $(BIN) $(BRIDGE_BIN) $(MAN_TARGET)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(POLICYDIR) $(DESTDIR)$(EXAMPLESDIR) \
		$(DESTDIR)$(TOPOLOGYDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PKGLIBEXECDIR)
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/mpbs-run
	$(INSTALL) -m 0755 $(BRIDGE_BIN) $(DESTDIR)$(PKGLIBEXECDIR)/mpbs-bridge
	$(INSTALL) -m 0644 policy/*.policy $(DESTDIR)$(POLICYDIR)/
	$(INSTALL) -m 0755 $(EXAMPLES) $(DESTDIR)$(EXAMPLESDIR)/
	@set -e; for conf in $(TOPOLOGIES); do \
		name=$$(basename $$conf .conf); \
		echo "topology $$name -> $(DESTDIR)$(TOPOLOGYDIR)"; \
		sed 's|^\(exec_dir *= *\)\.\./examples *$$|\1$(EXAMPLESDIR)|' $$conf > $(DESTDIR)$(TOPOLOGYDIR)/$$name.conf; \
		chmod 0644 $(DESTDIR)$(TOPOLOGYDIR)/$$name.conf; \
		[ -d contrib/topologies/$$name ] || continue; \
		$(INSTALL) -d $(DESTDIR)$(TOPOLOGYDIR)/$$name; \
		$(INSTALL) -m 0644 contrib/topologies/$$name/*.policy $(DESTDIR)$(TOPOLOGYDIR)/$$name/; \
	done
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	@set -e; for page in $(BUILD)/man/*.5 $(BUILD)/man/*.8; do \
		[ -e "$$page" ] || continue; \
		section=$${page##*.}; \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$section; \
		echo "$(INSTALL) -m 0644 $$page $(DESTDIR)$(MANDIR)/man$$section/"; \
		$(INSTALL) -m 0644 $$page $(DESTDIR)$(MANDIR)/man$$section/; \
	done
ifneq ($(COMPLETION),)
	$(INSTALL) -d $(DESTDIR)$(BASHCOMPLETIONDIR)
	$(INSTALL) -m 0644 $(COMPLETION) $(DESTDIR)$(BASHCOMPLETIONDIR)/mpbs-run
endif
ifneq ($(UNIT),)
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|/usr/bin/mpbs-run|$(BINDIR)/mpbs-run|g' -e 's|/etc/mpbs-run|$(TOPOLOGYDIR)|g' $(UNIT) \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/mpbs-run@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/mpbs-run@.service
endif

# Removes what `make install` put (given the same directories); the
# operator's own topologies in TOPOLOGYDIR stay, and so does the folder then.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mpbs-run
	rm -rf $(DESTDIR)$(PKGLIBEXECDIR)
	rm -rf $(DESTDIR)$(PKGDATADIR) $(DESTDIR)$(DOCDIR)
	@set -e; for conf in $(TOPOLOGIES); do \
		name=$$(basename $$conf .conf); \
		rm -f $(DESTDIR)$(TOPOLOGYDIR)/$$name.conf; \
		for policy in contrib/topologies/$$name/*.policy; do \
			rm -f $(DESTDIR)$(TOPOLOGYDIR)/$$name/$${policy##*/}; \
		done; \
		rmdir $(DESTDIR)$(TOPOLOGYDIR)/$$name 2>/dev/null || true; \
	done
	rmdir $(DESTDIR)$(TOPOLOGYDIR) 2>/dev/null || true
	rm -f $(DESTDIR)$(MANDIR)/man5/mpbs-*.5 $(DESTDIR)$(MANDIR)/man8/mpbs-*.8
	rm -f $(DESTDIR)$(BASHCOMPLETIONDIR)/mpbs-run $(DESTDIR)$(SYSTEMDUNITDIR)/mpbs-run@.service

# The install as a distribution does it (PREFIX=/usr into a scratch
# DESTDIR), checked at the paths it will have: the installed binary runs
# every installed topology with -t and prints every installed policy, with
# the scratch tree laid over /usr and /etc in a private mount namespace
# (the host's own /usr and /etc are not touched); then the uninstall must
# leave no file behind (contrib/check-install.sh).
check-install:
	MAKE="$(MAKE)" bash contrib/check-install.sh

# The Debian package (debian/), built by dpkg-buildpackage from a copy of
# the tree in build/deb/mpbs-run, since it writes its results into the
# parent of the tree it builds: the .deb, .changes and .buildinfo land in
# build/deb/. It starts without this make's variables (MAKEFLAGS), so it
# builds with the distribution's flags as debian/rules sets them, whatever
# this make was given. lintian must find no error (its warnings are printed).
DEB_DIR := $(BUILD)/deb
deb:
	@# one version: the package's is the VERSION file's (what --version says without git)
	test "$$(dpkg-parsechangelog -S Version)" = "$$(cat VERSION)" || \
		{ echo "debian/changelog's version is not VERSION's ($$(cat VERSION))" >&2; exit 1; }
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/mpbs-run
	tar -c --exclude-vcs --exclude='./build*' --exclude='./audit-*' --exclude=./contrib/topologies/state \
		--exclude=./debian/mpbs-run --exclude=./debian/.debhelper --exclude=./debian/files . \
		| tar -x -C $(DEB_DIR)/mpbs-run
	cd $(DEB_DIR)/mpbs-run && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/*.changes
	@ls -l $(DEB_DIR)/*.deb

clean:
	rm -rf build build-asan build-fuzz audit-*.xml audit-*.json

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
