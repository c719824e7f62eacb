include Makefile

# libFuzzer (clang) on the checkpoint loader and the model-config loader, FUZZ_SECONDS each; new
# inputs go to build-fuzz/corpus/<target>, a crashing input to build-fuzz/crash-*.
FUZZ_OPT     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: deps
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-fuzz CXX=clang++ OPT="$(FUZZ_OPT) -fsanitize=fuzzer-no-link" build-fuzz/libdl.a
	@set -e; for t in safetensors config; do \
	  clang++ -std=c++17 $(FUZZ_OPT) -fsanitize=fuzzer -I. tests/fuzz/fuzz_$$t.cpp build-fuzz/libdl.a $(LDLIBS) -o build-fuzz/fuzz_$$t; \
	  mkdir -p build-fuzz/corpus/$$t; \
	  ./build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -artifact_prefix=build-fuzz/ \
	    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t; \
	done
