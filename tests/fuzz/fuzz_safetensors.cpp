// libFuzzer target: the checkpoint loader on arbitrary bytes (make fuzz; README, "Reliability").
//
// The bytes are written to a scratch file and read back three ways: read_safetensors,
// load_checkpoint into a small module and its Adam state, and load_model_into a tiny causal LM
// (which also parses the stored model config). Each must succeed or throw dl::Error; a crash, a
// sanitizer report or any other exception is a bug. A successful load must leave tensors whose
// bytes can all be read. Seeds: tests/fuzz/corpus/safetensors (made by tests/fuzz/make_corpus.cpp).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include "models/checkpoint.h"
#include "models/lm.h"
#include "nn/checkpoint.h"
#include "nn/linear.h"
#include "nn/optim.h"
#include "tests/fuzz/corpus_models.h"

namespace {

using dl::fuzz::Net;
using dl::fuzz::tiny_lm;

// Sum of every byte of every tensor: touches all the memory a loaded tensor claims to own.
unsigned touch(const std::map<std::string, dl::Tensor>& tensors) {
  unsigned sum = 0;
  for (const auto& [name, t] : tensors) {
    const auto* p = static_cast<const unsigned char*>(t.raw_data());
    for (int64_t i = 0; i < t.numel() * static_cast<int64_t>(dl::dtype_size(t.dtype())); ++i) sum += p[i];
  }
  return sum;
}

// The file each input is written to; removed when the fuzzer exits.
struct Scratch {
  std::string path = "/dev/shm/dl_fuzz_safetensors." + std::to_string(getpid());
  ~Scratch() { std::remove(path.c_str()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Scratch scratch;
  const std::string& path = scratch.path;
  static dl::Generator gen(0);
  static Net net(gen);
  static dl::Adam opt(net.named_parameters(), dl::AdamOptions{});
  static dl::CausalLM lm(tiny_lm(), gen);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  volatile unsigned sink = 0;
  try {
    sink = sink + touch(dl::read_safetensors(path).tensors);
  } catch (const dl::Error&) {
  }
  try {
    dl::load_checkpoint(path, net, &opt);
    sink = sink + touch(net.state_dict()) + touch(opt.state_dict());
  } catch (const dl::Error&) {
  }
  try {
    dl::load_model_into(path, lm);
  } catch (const dl::Error&) {
  }
  return 0;
}
