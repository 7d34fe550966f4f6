# ember: build, unit tests on the mock HAL, integration on real KVM.
# Sources are discovered by wildcard so a new module needs no edit here.

CC ?= gcc
BUILD ?= build
SHELL := /bin/bash

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -g -I. -D_GNU_SOURCE -pthread
OPT := -O2
ifeq ($(SAN),1)
  BUILD := build/san
  OPT := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ifeq ($(COV),1)
  BUILD := build/cov
  OPT := -O0 --coverage
endif
CFLAGS := $(CFLAGS_BASE) $(OPT) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(filter -fsanitize=% --coverage,$(OPT))
LDLIBS := -ljansson -luring -lmicrohttpd -lseccomp

DEPS_BUILD := build-essential libcmocka-dev pkg-config libjansson-dev acpica-tools liburing-dev libmicrohttpd-dev libseccomp-dev curl
DEPS_COVERAGE := gcovr
DEPS_MEMCHECK := valgrind

LIB_SRC := $(filter-out vmm/main.c vmm/rebase_snap_main.c vmm/jailer_main.c vmm/seccomp_gen_main.c,$(wildcard hal/*.c vmm/*.c devices/*.c devices/*/*.c boot/*.c snapshot/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_HELPER_SRC := $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c)) $(wildcard tests/virtio/*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)

include tests/guest/guests.mk
include tests/guest/debian/debian.mk

.PHONY: all deps check unit memcheck coverage integration integration-linux run shell bench fuzz clean testhooks
all: $(BUILD)/ember $(BUILD)/ember-rebase-snap $(BUILD)/ember-jailer

# `make` alone builds ember, not the test guests included above.
.DEFAULT_GOAL := all

deps:
	@tests/deps.sh $(DEPS_BUILD)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libember.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ember: $(BUILD)/obj/vmm/main.o $(BUILD)/obj/gen/seccomp_bpf.o $(BUILD)/libember.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ember's seccomp programs, compiled in at build time from the policy table
# (vmm/seccomp_prebuilt.h), so no thread runs libseccomp at start-up.
$(BUILD)/ember-seccomp-gen: $(BUILD)/obj/vmm/seccomp_gen_main.o $(BUILD)/libember.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/seccomp_bpf.c: $(BUILD)/ember-seccomp-gen
	@mkdir -p $(dir $@)
	$< > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/seccomp_bpf.o: $(BUILD)/gen/seccomp_bpf.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/ember-rebase-snap: $(BUILD)/obj/vmm/rebase_snap_main.o $(BUILD)/libember.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/ember-jailer: $(BUILD)/obj/vmm/jailer_main.o $(BUILD)/libember.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPER_SRC) $(BUILD)/libember.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(TEST_HELPER_SRC) $(BUILD)/libember.a $(LDFLAGS) -lcmocka $(LDLIBS)

# Benchmarks that link the library (no KVM needed).
$(BUILD)/bench/%: tests/bench/%.c tests/virtio/vq_driver.c tests/virtio/mmio_driver.c $(BUILD)/libember.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/virtio/vq_driver.c tests/virtio/mmio_driver.c $(BUILD)/libember.a $(LDFLAGS) $(LDLIBS)

# Fuzz targets are also built as plain replay binaries over their seed
# corpus, so `make check` keeps them compiling and replays known inputs.
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c tests/virtio/racer.c $(BUILD)/libember.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay_main.c tests/virtio/racer.c $(BUILD)/libember.a $(LDFLAGS) $(LDLIBS)

# The integration suite's own ember: the same code plus hidden triggers
# (vmm/test_hooks.h) that prove the sandbox from inside. Never installed.
testhooks:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/testhooks EXTRA_CFLAGS=-DEMBER_TEST_HOOKS $(BUILD)/testhooks/ember

unit: $(TEST_BIN) $(FUZZ_REPLAY) $(BUILD)/ember $(BUILD)/ember-rebase-snap $(BUILD)/ember-jailer
	@tests/check_hal_boundary.sh
	@tests/check_hal_boundary_selftest.sh
	@tests/run_unit.sh $(BUILD) $(TEST_BIN)
	@tests/run_fuzz_replay.sh $(FUZZ_REPLAY)

check: deps
	@$(MAKE) --no-print-directory unit

memcheck: deps
	@tests/deps.sh $(DEPS_MEMCHECK)
	@$(MAKE) --no-print-directory $(TEST_BIN)
	@tests/run_unit.sh --valgrind $(BUILD) $(TEST_BIN)

coverage: deps
	@tests/deps.sh $(DEPS_COVERAGE)
	@rm -rf build/cov && $(MAKE) --no-print-directory COV=1 unit >/dev/null
	@tests/coverage.sh build/cov

integration: deps
	@$(MAKE) --no-print-directory $(BUILD)/ember
	@tests/integration/run.sh $(BUILD)

integration-linux: deps
	@$(MAKE) --no-print-directory $(BUILD)/ember
	@tests/integration/run.sh $(BUILD) linux

run: deps
	@$(MAKE) --no-print-directory $(BUILD)/ember
	@tests/run_default_guest.sh $(BUILD)

# A root shell with real KVM (the nested runner where the host has none),
# to run ember by hand: own kernels and drives, the API socket with curl.
shell: deps
	@tests/run_shell.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/ember $(BUILD)/bench/virtio_path $(BUILD)/bench/api_latency $(BUILD)/bench/net_path \
		$(BUILD)/bench/sandbox_cost
	@$(BUILD)/bench/sandbox_cost
	@$(BUILD)/bench/virtio_path
	@$(BUILD)/bench/net_path
	@$(BUILD)/bench/api_latency
	@tests/integration/runner/run-in-kvm.sh --smp 2 -- tests/bench/api_boot.sh $(BUILD) 10
	@tests/bench/run.sh $(BUILD)
	@tests/bench/run_blk.sh $(BUILD)
	@tests/bench/run_net.sh $(BUILD)
	@tests/bench/run_vsock.sh $(BUILD)
	@tests/bench/snapshot_ember.sh $(BUILD)
	@tests/bench/snapshot_qemu.sh $(BUILD)

fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build coverage/*.html coverage/*.xml coverage/*.txt coverage/*.css

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
