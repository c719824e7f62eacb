# make demo      install missing Debian packages, build, train and compare a Transformer and a
#                DAT on a relational game (DEMO_FLAGS='--help' lists the options)
# make test      install missing Debian packages, build, run the Catch2 suite
# make tour      build and run the guided tour of attention and autograd (examples/tour.cpp)
# make bench     the training-step benchmark of docs/bench.md, every model and size
# make sanitize  the suite under ASan + UBSan + LeakSanitizer
# make fuzz      libFuzzer on the checkpoint and config loaders, FUZZ_SECONDS each
# make leakcheck valgrind memcheck over a 100-step training run
# make mutate    plant each bug of mutations/ in a scratch copy, rebuild, run the suite: caught or
#                SURVIVED per mutation (MUTATIONS='regex' picks some)
# make -j2       build the library, the tests and every program in examples/
CXX      ?= g++
BUILD    ?= build
OPT      ?= -O3 -march=native
# -fno-math-errno lets sqrt vectorize (with errno, GCC guards every sqrt with a call for x < 0).
# -fno-trapping-math lets a loop holding a select (fast_exp's clamp, erf's two ranges, min/max)
# vectorize on CPUs without AVX-512: GCC rewrites (c ? a : lo) * k as c ? a * k : lo * k, and
# under the default -ftrapping-math a multiply done for some elements only may not be done for
# all, so without AVX-512's masked arithmetic the whole loop stayed scalar (10x slower erf and
# GELU on AVX2 or SSE). This program never unmasks floating-point exceptions, so no result
# changes. The rest of IEEE arithmetic stays as is: no -ffast-math, masked softmax needs real
# infinities.
CXXFLAGS += -std=c++17 $(OPT) -Wall -Wextra -fno-fast-math -fno-math-errno -fno-trapping-math
CPPFLAGS += -I. -MMD -MP
LDLIBS   += -lopenblas -ltbb -lpthread
JOBS     ?= $(shell nproc)

LIB_SRCS  := $(wildcard autograd/*.cpp ops/*.cpp nn/*.cpp models/*.cpp)
LIB_OBJS  := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
TEST_SRCS ?= $(wildcard tests/*.cpp)
TEST_OBJS := $(TEST_SRCS:%.cpp=$(BUILD)/%.o)
LIB       := $(BUILD)/libdl.a
EX_SRCS   := $(wildcard examples/common/*.cpp)
EX_OBJS   := $(EX_SRCS:%.cpp=$(BUILD)/%.o)
EX_LIB    := $(BUILD)/libexamples.a
TEST_BIN  := $(BUILD)/run_tests
# the distributed layer (nn/distributed, README "Distributed"): its own library, the only code
# compiled with MPI's flags; the programs in DIST_PROGRAMS link it and libmpi
# (OMPI_SKIP_MPICXX: the C API only; OpenMPI's deprecated C++ bindings warn under -Wextra)
MPI_CPPFLAGS := $(shell mpicxx --showme:compile 2>/dev/null) -DOMPI_SKIP_MPICXX
MPI_LDLIBS   := $(shell mpicxx --showme:link 2>/dev/null)
DIST_SRCS := $(wildcard nn/distributed/*.cpp)
DIST_OBJS := $(DIST_SRCS:%.cpp=$(BUILD)/%.o)
DIST_LIB  := $(BUILD)/libdist.a
DIST_PROGRAMS := $(BUILD)/bin/train_steps
EXAMPLES  := $(patsubst examples/%.cpp,$(BUILD)/bin/%,$(wildcard examples/*.cpp))

# keep the programs' object files (they are intermediates of a pattern chain), so a finished
# build stays finished
.SECONDARY:
.PHONY: all deps test build-tests demo tour bench sanitize fuzz leakcheck mutate clean
all: $(LIB) $(DIST_LIB) $(TEST_BIN) $(EXAMPLES)

deps:
	@./scripts/deps.sh

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(DIST_OBJS): CPPFLAGS += $(MPI_CPPFLAGS)

$(DIST_LIB): $(DIST_OBJS)
	@rm -f $@
	ar rcs $@ $^

# examples/common: task generators, plots, run folders; used by the programs and their tests
$(EX_LIB): $(EX_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(TEST_BIN): $(TEST_OBJS) $(EX_LIB) $(LIB)
	$(CXX) $(CXXFLAGS) $(TEST_OBJS) $(EX_LIB) $(LIB) $(LDLIBS) -o $@

$(BUILD)/bin/%: $(BUILD)/examples/%.o $(EX_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $< $(EX_LIB) $(LIB) $(LDLIBS) -o $@

$(DIST_PROGRAMS): $(BUILD)/bin/%: $(BUILD)/examples/%.o $(DIST_LIB) $(EX_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $< $(DIST_LIB) $(EX_LIB) $(LIB) $(MPI_LDLIBS) $(LDLIBS) -o $@

# the suite runs the program binaries too (tests/programs.h), so it builds them
build-tests:
	@$(MAKE) --no-print-directory -j$(JOBS) $(TEST_BIN) $(EXAMPLES)

# TESTS selects Catch2 test cases, e.g. make test TESTS='[softmax]'
test: deps build-tests
	OPENBLAS_NUM_THREADS=1 ./$(TEST_BIN) $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/bin/demo
	./$(BUILD)/bin/demo $(DEMO_FLAGS)

# the guided tour: tiny attention examples step by step; writes tour_tape.dot (and .svg)
tour: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/bin/tour
	./$(BUILD)/bin/tour

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/bin/bench
	./$(BUILD)/bin/bench $(BENCH_FLAGS)

# AddressSanitizer + UndefinedBehaviorSanitizer (with LeakSanitizer) over the whole suite.
SAN_OPT := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
sanitize: deps
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-sanitize OPT="$(SAN_OPT)" build-tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=tests/lsan.supp OPENBLAS_NUM_THREADS=1 ./build-sanitize/run_tests $(TESTS)

# libFuzzer (clang) on the checkpoint loader and the model-config loader; new inputs go to
# build-fuzz/corpus/<target>, a crashing input to build-fuzz/crash-*.
FUZZ_OPT     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60
fuzz:
	@DEPS_EXTRA="clang libclang-rt-14-dev" ./scripts/deps.sh
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-fuzz CXX=clang++ OPT="$(FUZZ_OPT) -fsanitize=fuzzer-no-link" build-fuzz/libdl.a
	@set -e; for t in safetensors config; do \
	  clang++ -std=c++17 $(FUZZ_OPT) -fsanitize=fuzzer -I. tests/fuzz/fuzz_$$t.cpp build-fuzz/libdl.a $(LDLIBS) -o build-fuzz/fuzz_$$t; \
	  mkdir -p build-fuzz/corpus/$$t; \
	  ./build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=build-fuzz/ \
	    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t; \
	done

# valgrind memcheck over a 100-step training run; built without -march=native (valgrind cannot
# run AVX-512)
leakcheck:
	@DEPS_EXTRA=valgrind ./scripts/deps.sh
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-valgrind OPT="-O1 -g" build-valgrind/bin/train_steps
	DL_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	  --suppressions=tests/valgrind.supp --error-exitcode=1 build-valgrind/bin/train_steps --steps 100

# mutation testing (scripts/mutate.sh; the list and its format in mutations/)
mutate: deps
	@JOBS=$(JOBS) ./scripts/mutate.sh

clean:
	rm -rf $(BUILD) build-*

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d)
