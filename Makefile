# make test    install missing Debian packages, build, run the Catch2 suite
# make demo    (see README) train and compare models on a relational task
# make -j2     build the library and the test binary
CXX      ?= g++
BUILD    ?= build
OPT      ?= -O2 -march=native
CXXFLAGS ?= -std=c++17 $(OPT) -Wall -Wextra -fno-fast-math
CPPFLAGS += -I. -MMD -MP
LDLIBS   += -lopenblas -ltbb -lpthread
JOBS     ?= $(shell nproc)

LIB_SRCS  := $(wildcard autograd/*.cpp ops/*.cpp nn/*.cpp models/*.cpp)
LIB_OBJS  := $(LIB_SRCS:%.cpp=$(BUILD)/%.o)
TEST_SRCS ?= $(wildcard tests/*.cpp)
TEST_OBJS := $(TEST_SRCS:%.cpp=$(BUILD)/%.o)
LIB       := $(BUILD)/libdl.a
TEST_BIN  := $(BUILD)/run_tests
EXAMPLES  := $(patsubst examples/%.cpp,$(BUILD)/bin/%,$(wildcard examples/*.cpp))

.PHONY: all deps test build-tests clean
all: $(LIB) $(TEST_BIN) $(EXAMPLES)

deps:
	@./scripts/deps.sh

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(TEST_BIN): $(TEST_OBJS) $(LIB)
	$(CXX) $(CXXFLAGS) $(TEST_OBJS) $(LIB) $(LDLIBS) -o $@

$(BUILD)/bin/%: $(BUILD)/examples/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $< $(LIB) $(LDLIBS) -o $@

build-tests:
	@$(MAKE) --no-print-directory -j$(JOBS) $(TEST_BIN)

# TESTS selects Catch2 test cases, e.g. make test TESTS='[softmax]'
test: deps build-tests
	OPENBLAS_NUM_THREADS=1 ./$(TEST_BIN) $(TESTS)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*/*.d)
