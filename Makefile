# hl_net.h - build, test, demo, bench and fuzz. GNU make.
#
#   make            build every example, test program and benchmark into build/
#   make test       install what is missing (make deps), then run tests/run.sh
#   make demo       install what is missing, build, run examples/demo.sh
#   make bench      build and run every tests/bench_*.c
#   make fuzz       libFuzzer builds of tests/fuzz_*.c, each run FUZZ_SECONDS on its corpus
#   make amalgamate regenerate hl_net.h from amalgamate/
#   make deps       install the Debian packages and npm modules the suite needs (no-op when present)
#
# New files need no edit here: examples/<name>.c -> build/<name>, tests/test_<x>.c ->
# build/test_<x>, tests/bench_<x>.c -> build/bench_<x>, tests/fuzz_<x>.c -> build/fuzz_<x>, and
# any other tests/<tool>.c -> build/<tool>. Examples are built with HL_ENABLE_TLS=1 (see
# EXAMPLES_TLS); any other source that mentions HL_ENABLE_TLS is compiled with $(TLS_CFLAGS) and
# linked with $(TLS_LIBS) (BearSSL), and sets HL_ENABLE_TLS itself.

CC ?= cc
CLANG ?= clang
# Sanitizer builds (tests/run.sh, fuzz replay): clang, so the suite sees both compilers.
SAN_CC ?= $(CLANG)
WARN := -std=c99 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wundef -Wstrict-prototypes \
        -Wmissing-prototypes
CFLAGS ?= -g -O1
BENCH_CFLAGS ?= -g -O2
SAN_FLAGS := -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
CPPFLAGS += -I.
LDLIBS ?=
TLS_CFLAGS := -I/usr/include/bearssl
TLS_LIBS := -lbearssl
# $(call tls,SOURCE,FLAGS): FLAGS when SOURCE mentions HL_ENABLE_TLS.
tls = $(if $(shell grep -ls HL_ENABLE_TLS $(1)),$(2))
# Examples (hlcat, autobahn_client) are built with wss:// support; EXAMPLES_TLS=0 builds them
# without BearSSL.
EXAMPLES_TLS ?= 1
ifeq ($(EXAMPLES_TLS),1)
EXAMPLE_FLAGS := -DHL_ENABLE_TLS=1 $(TLS_CFLAGS)
EXAMPLE_LIBS := $(TLS_LIBS)
endif
FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

B := build
# Every program also depends on this Makefile, so a change of flags here rebuilds them.
HDRS := hl_net.h tests/harness.h Makefile

EXAMPLE_SRCS := $(wildcard examples/*.c)
TEST_SRCS := $(wildcard tests/test_*.c)
BENCH_SRCS := $(wildcard tests/bench_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz_*.c)
FUZZ_TARGETS := $(filter-out tests/fuzz_replay.c,$(FUZZ_SRCS))
TOOL_SRCS := $(filter-out $(TEST_SRCS) $(BENCH_SRCS) $(FUZZ_SRCS),$(wildcard tests/*.c))

EXAMPLES := $(patsubst examples/%.c,$(B)/%,$(EXAMPLE_SRCS))
TESTS := $(patsubst tests/%.c,$(B)/%,$(TEST_SRCS))
BENCHES := $(patsubst tests/%.c,$(B)/%,$(BENCH_SRCS))
TOOLS := $(patsubst tests/%.c,$(B)/%,$(TOOL_SRCS))
SAN_TESTS := $(patsubst tests/%.c,$(B)/asan/%,$(TEST_SRCS))
FUZZERS := $(patsubst tests/%.c,$(B)/%,$(FUZZ_TARGETS))
FUZZ_REPLAYS := $(patsubst tests/fuzz_%.c,$(B)/asan/replay_%,$(FUZZ_TARGETS))

.PHONY: all amalgamate deps test demo bench fuzz asan fuzz-replay clean list
.DELETE_ON_ERROR:

all: $(EXAMPLES) $(TESTS) $(BENCHES) $(TOOLS)

$(B) $(B)/asan:
	@mkdir -p $@

$(B)/%: examples/%.c $(HDRS) | $(B)
	$(CC) $(CPPFLAGS) $(EXAMPLE_FLAGS) $(WARN) $(CFLAGS) -o $@ $< $(LDLIBS) $(EXAMPLE_LIBS)

$(B)/test_%: tests/test_%.c $(HDRS) | $(B)
	$(CC) $(CPPFLAGS) $(call tls,$<,$(TLS_CFLAGS)) $(WARN) $(CFLAGS) -o $@ $< $(LDLIBS) $(call tls,$<,$(TLS_LIBS))

$(B)/bench_%: tests/bench_%.c $(HDRS) | $(B)
	$(CC) $(CPPFLAGS) $(call tls,$<,$(TLS_CFLAGS)) $(WARN) $(BENCH_CFLAGS) -o $@ $< $(LDLIBS) $(call tls,$<,$(TLS_LIBS))

$(TOOLS): $(B)/%: tests/%.c $(HDRS) | $(B)
	$(CC) $(CPPFLAGS) $(call tls,$<,$(TLS_CFLAGS)) $(WARN) $(CFLAGS) -o $@ $< $(LDLIBS) $(call tls,$<,$(TLS_LIBS))

# The test programs again, under AddressSanitizer + UndefinedBehaviorSanitizer (tests/run.sh).
asan: $(SAN_TESTS)

$(B)/asan/test_%: tests/test_%.c $(HDRS) | $(B)/asan
	$(SAN_CC) $(CPPFLAGS) $(call tls,$<,$(TLS_CFLAGS)) $(WARN) $(SAN_FLAGS) -o $@ $< $(LDLIBS) $(call tls,$<,$(TLS_LIBS))

# Each fuzz target linked with the corpus replay main, under the sanitizers (tests/run.sh).
fuzz-replay: $(FUZZ_REPLAYS)

$(B)/asan/replay_%: tests/fuzz_%.c tests/fuzz_replay.c $(HDRS) | $(B)/asan
	$(SAN_CC) $(CPPFLAGS) $(call tls,$<,$(TLS_CFLAGS)) $(WARN) $(SAN_FLAGS) -o $@ tests/fuzz_replay.c $< \
	    $(LDLIBS) $(call tls,$<,$(TLS_LIBS))

# libFuzzer binaries.
$(B)/fuzz_%: tests/fuzz_%.c $(HDRS) | $(B)
	$(CLANG) $(CPPFLAGS) $(call tls,$<,$(TLS_CFLAGS)) $(WARN) $(FUZZ_FLAGS) -o $@ $< $(LDLIBS) \
	    $(call tls,$<,$(TLS_LIBS))

fuzz: deps $(FUZZERS)
	@set -e; for f in $(FUZZERS); do \
	    name=$${f#$(B)/fuzz_}; corpus=tests/corpus/$$name; work=$(B)/corpus/$$name; \
	    mkdir -p $$work; \
	    echo "== $$f for $(FUZZ_SECONDS) s (seeds: $$corpus, new inputs: $$work)"; \
	    [ -d $$corpus ] || corpus=; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(B)/fuzz-crash-$$name- $$work $$corpus; \
	done

amalgamate:
	sh amalgamate/amalgamate.sh hl_net.h

# Debian packages the suite needs. gcc-mingw-w64-x86-64 is the one compiler of the mingw-w64
# metapackage that the Windows gate uses; libclang-rt-14-dev holds clang 14's sanitizer and
# libFuzzer runtimes. npm comes with nodesource's nodejs; Debian's nodejs needs the npm package.
DEB_PKGS := build-essential clang libclang-rt-14-dev valgrind python3 python3-websockets nodejs \
            nginx libbearssl-dev libjsmn-dev openssl ca-certificates gcc-mingw-w64-x86-64 \
            gcc-s390x-linux-gnu qemu-user binutils wrk

deps:
	@set -e; missing=; \
	for p in $(DEB_PKGS); do \
	    if [ "$$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi; \
	    dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$missing"; \
	    if ! command -v apt-get >/dev/null 2>&1; then \
	        echo "make deps: no apt-get here; install these packages (Debian names) by hand:$$missing" >&2; \
	        exit 1; \
	    fi; \
	    if [ "$$(id -u)" = 0 ]; then sudo=; \
	    elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	    else echo "make deps: need root (or sudo) to install:$$missing" >&2; exit 1; fi; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi; \
	if [ ! -d node_modules/ws ]; then \
	    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	    else npm install --no-audit --no-fund; fi; \
	fi

# `test` needs `all` too: tests/run.sh builds it, one make run per program, so that one file that
# does not compile is a FAIL line, not the end of the run.
test: deps
	+@bash tests/run.sh

# A test file that does not compile must not stop the demo: build what builds, then run it.
demo: deps
	@$(MAKE) --no-print-directory -k -j$(JOBS) all || \
	    echo "make demo: some programs did not build (make test says which); going on"
	sh examples/demo.sh

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BENCHES)
	@for b in $(BENCHES); do echo "== $$b"; ./$$b || exit 1; done

clean:
	rm -rf $(B)

# What tests/run.sh builds, one "kind target" per line.
list:
	@for t in $(EXAMPLES) $(TOOLS); do echo "program $$t"; done
	@for t in $(TESTS); do echo "test $$t"; done
	@for t in $(BENCHES); do echo "bench $$t"; done
	@for t in $(SAN_TESTS); do echo "asan $$t"; done
	@for t in $(FUZZ_REPLAYS); do echo "replay $$t"; done
