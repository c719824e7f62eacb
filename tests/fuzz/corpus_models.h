// The modules behind the safetensors fuzz corpus, defined once: make_corpus.cpp writes their
// checkpoints, and fuzz_safetensors.cpp and tests/test_checkpoint_fuzz_regressions.cpp load files
// into them, so all three must build exactly the same parameters.
#pragma once
#include <memory>
#include "models/lm.h"
#include "nn/linear.h"
#include "nn/module.h"

namespace dl::fuzz {

// The module of the corpus's plain checkpoints: one Linear 2 -> 2.
struct Net : Module {
  explicit Net(Generator& gen) { fc = register_module("fc", std::make_shared<Linear>(2, 2, gen)); }
  std::shared_ptr<Linear> fc;
};

// The tiny causal LM of the corpus's whole-model checkpoints (with their stored config).
inline LMConfig tiny_lm() {
  LMConfig c;
  c.vocab = 3;
  c.max_len = 2;
  c.layers = 1;
  c.block = {4, 4, FFNKind::GELU, true, 0.0, bench_attention("transformer", 1)};
  return c;
}

}  // namespace dl::fuzz
