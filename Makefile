# dhtrace build. `make` builds build/dhtrace; `make test`, `make demo`,
# `make bench` and `make fuzz` install missing dependencies first
# (tools/install-deps.sh).

ARCH      := x86
CC        ?= gcc
RUSTC     ?= rustc
CLANG     ?= clang
BPFTOOL   ?= bpftool
BUILD     := build

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -I$(BUILD) -Ibpf
LDLIBS    := -lbpf -lelf -ldw -lz -l:libiberty.a -lyajl -lcapstone -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf \
	      -Wall -Werror

SRCS      := $(wildcard src/*/*.c)
LIB_SRCS  := $(filter-out src/cli/%,$(SRCS))
CLI_SRCS  := $(filter src/cli/%,$(SRCS))
# The page `dhtrace view` writes: its markup, style and script, embedded
# at build time (tools/embed.sh), so the page needs nothing at run time.
VIEW_ASSETS := src/view/view.html src/view/view.css src/view/view.js
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/view_assets.o
# Stages without BPF: what unit tests link against.
PURE_OBJS := $(filter-out $(BUILD)/src/trace/% $(BUILD)/src/record/%,$(LIB_OBJS))
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
HDRS      := $(wildcard src/*/*.h) bpf/dhtrace.h

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Test programs: deterministic targets that the suite traces and compares
# with valgrind. Built with frame pointers (frame-pointer unwinding).
PROG_CFLAGS := -g -O0 -fno-omit-frame-pointer -Wall -Werror
PROG_LIBS   := $(wildcard tests/progs/lib_*.c)
PROG_C      := $(filter-out $(PROG_LIBS),$(wildcard tests/progs/*.c))
PROG_CXX    := $(wildcard tests/progs/*.cc)
PROG_RUST   := $(wildcard tests/progs/*.rs)
PROG_BINS   := $(PROG_C:tests/progs/%.c=$(BUILD)/progs/%) \
	       $(PROG_CXX:tests/progs/%.cc=$(BUILD)/progs/%) \
	       $(PROG_RUST:tests/progs/%.rs=$(BUILD)/progs/%) \
	       $(PROG_LIBS:tests/progs/%.c=$(BUILD)/progs/%.so)
# The same, optimized and without frame pointers (DWARF unwinding).
NOFP_CFLAGS := -g -O2 -fomit-frame-pointer -Wall -Werror
NOFP_BINS   := $(PROG_BINS:$(BUILD)/progs/%=$(BUILD)/progs-nofp/%)

.PHONY: all deps test test-bins demo bench fuzz clean vmlinux
all: $(BUILD)/dhtrace

$(BUILD)/dhtrace.bpf.o: bpf/dhtrace.bpf.c bpf/dhtrace.h vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/dhtrace.skel.h: $(BUILD)/dhtrace.bpf.o
	$(BPFTOOL) gen skeleton $< name dhtrace_bpf > $@.tmp
	mv $@.tmp $@

$(BUILD)/src/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/view_assets.c: $(VIEW_ASSETS) tools/embed.sh
	@mkdir -p $(@D)
	tools/embed.sh $(VIEW_ASSETS) > $@.tmp
	mv $@.tmp $@

$(BUILD)/view_assets.o: $(BUILD)/view_assets.c
	$(CC) $(CFLAGS) -c $< -o $@

$(filter $(BUILD)/src/trace/% $(BUILD)/src/record/%,$(LIB_OBJS)) $(CLI_OBJS): $(BUILD)/dhtrace.skel.h

$(BUILD)/dhtrace: $(CLI_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(PURE_OBJS) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $< $(PURE_OBJS) $(LDLIBS) -o $@

# Probe placement is pure logic over an object's code, in the trace stage.
PLACE_OBJS := $(patsubst %,$(BUILD)/src/trace/%.o,insn placement wrappers)
$(BUILD)/tests/test_place: tests/unit/test_place.c $(PURE_OBJS) $(PLACE_OBJS) $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $< $(PURE_OBJS) $(PLACE_OBJS) $(LDLIBS) -o $@

$(BUILD)/progs/%: tests/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $< -o $@ -ldl -lpthread

$(BUILD)/progs/%.so: tests/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -fPIC -shared $< -o $@

$(BUILD)/progs/%: tests/progs/%.cc
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(PROG_CFLAGS) $< -o $@

# Rust: no frame pointers either way; the standard library comes
# optimized, with its inlined calls.
$(BUILD)/progs/%: tests/progs/%.rs
	@mkdir -p $(@D)
	$(RUSTC) -g -C opt-level=0 $< -o $@

$(BUILD)/progs-nofp/%: tests/progs/%.rs
	@mkdir -p $(@D)
	$(RUSTC) -g -C opt-level=2 $< -o $@

$(BUILD)/progs-nofp/%: tests/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(NOFP_CFLAGS) $< -o $@ -ldl -lpthread

$(BUILD)/progs-nofp/%.so: tests/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(NOFP_CFLAGS) -fPIC -shared $< -o $@

$(BUILD)/progs-nofp/%: tests/progs/%.cc
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(NOFP_CFLAGS) $< -o $@

# One statically linked program: a child that execs it brings its own
# malloc.
STATIC_BINS := $(BUILD)/progs-static/t_exec_target $(BUILD)/progs-static/t_alloc

# The C allocator test linked with other allocators, and static on musl.
ALLOC_LIB_jemalloc := jemalloc
ALLOC_LIB_tcmalloc := tcmalloc_minimal
ALLOC_LIB_mimalloc := mimalloc
ALLOC_BINS := $(patsubst %,$(BUILD)/progs-alloc/t_alloc-%,jemalloc tcmalloc mimalloc) \
	      $(BUILD)/progs-musl/t_alloc

$(BUILD)/progs-alloc/t_alloc-%: tests/progs/t_alloc.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $< -l$(ALLOC_LIB_$*) -o $@

$(BUILD)/progs-musl/%: tests/progs/%.c
	@mkdir -p $(@D)
	musl-gcc $(PROG_CFLAGS) -static $< -o $@

$(BUILD)/progs-static/%: tests/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -static $< -o $@

deps:
	@tools/install-deps.sh --if-missing

# Everything the suite runs; `make test-bins` before running single tests.
test-bins: all $(UNIT_BINS) $(PROG_BINS) $(NOFP_BINS) $(STATIC_BINS) $(ALLOC_BINS)

test: deps
	$(MAKE) test-bins
	python3 tests/run.py

demo: deps
	$(MAKE) all $(PROG_BINS)
	$(BUILD)/dhtrace -o $(BUILD)/dhat-heap.json -- $(BUILD)/progs/demo

BENCH_BINS := $(BUILD)/bench/mallocfree $(BUILD)/bench/heap_replay \
	      $(BUILD)/bench/parse_yajl $(BUILD)/bench/parse_jansson \
	      $(BUILD)/bench/parse_json_c $(BUILD)/bench/newdelete \
	      $(BUILD)/bench/rustpairs $(BUILD)/bench/rustpairs-arena \
	      $(BUILD)/bench/churn

$(BUILD)/bench/churn: tests/bench/churn.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Werror $< -o $@

$(BUILD)/bench/newdelete: tests/bench/newdelete.cc
	@mkdir -p $(@D)
	$(CXX) -O2 -g -fno-omit-frame-pointer $< -o $@

$(BUILD)/bench/rustpairs: tests/bench/rustpairs.rs
	@mkdir -p $(@D)
	$(RUSTC) -O -g $< -o $@

$(BUILD)/bench/rustpairs-arena: tests/bench/rustpairs.rs
	@mkdir -p $(@D)
	$(RUSTC) -O -g --cfg arena $< -o $@

$(BUILD)/bench/mallocfree: tests/bench/mallocfree.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -fno-omit-frame-pointer $< -o $@

$(BUILD)/bench/heap_replay: tests/bench/heap_replay.c $(filter $(BUILD)/src/heap/%,$(LIB_OBJS))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -lm -o $@

# The JSON parsers Debian packages, each parsing the same big DHAT file.
$(BUILD)/bench/parse_yajl: tests/bench/parse_yajl.c $(filter $(BUILD)/src/in/% $(BUILD)/src/util/%,$(LIB_OBJS))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -lyajl -lz -o $@

$(BUILD)/bench/parse_jansson: tests/bench/parse_jansson.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -ljansson -o $@

$(BUILD)/bench/parse_json_c: tests/bench/parse_json_c.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -ljson-c -o $@

bench: deps
	$(MAKE) all $(BENCH_BINS) $(BUILD)/tests/test_cfi $(BUILD)/progs/t_exec_target \
		$(BUILD)/progs/t_spin
	tools/bench.py

# The fuzz target for the readers of saved profiles (libFuzzer, with
# address and undefined-behaviour checks): the readers' sources, built
# with clang. New inputs go to build/fuzz/corpus, next to the seeds.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := $(wildcard src/in/*.c src/util/*.c) src/out/collapsed.c src/out/intern.c \
	     src/analysis/plumbing.c
FUZZ_BIN  := $(BUILD)/fuzz/fuzz_dhat_read

$(FUZZ_BIN): tests/fuzz/fuzz_dhat_read.c $(FUZZ_SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(filter %.c,$^) -lyajl -lz -lpthread -o $@

fuzz: deps
	$(MAKE) $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 \
		-dict=tests/fuzz/dhat.dict $(BUILD)/fuzz/corpus tests/fuzz/corpus

vmlinux:
	tools/gen-vmlinux.sh

clean:
	rm -rf $(BUILD)
