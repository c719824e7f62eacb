#include "models/lm.h"

#include "ops/ops.h"

namespace dl {

CausalLM::CausalLM(const LMConfig& c, Generator& gen, DType dtype) : config(validated(c)) {
  const int64_t d = c.block.d;
  embed = register_module("embed", std::make_shared<Embedding>(c.vocab, d, gen, dtype));
  pos = register_module("pos", std::make_shared<LearnedPositionalEncoding>(c.max_len, d, gen, dtype));
  symbols = make_symbol_source(c.block.attention, c.max_len, d, gen, dtype);
  if (symbols) register_module("symbols", symbols);
  stack = register_module("stack", std::make_shared<EncoderStack>(c.block, c.layers, symbols, gen, dtype));
  head = register_module("head", std::make_shared<Linear>(d, c.vocab, gen, true, dtype));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.block.dropout, gen.next_u64()));
}

Tensor CausalLM::forward(const Tensor& tokens) {
  DL_CHECK(tokens.dim() == 2 && tokens.dtype() == DType::I32, "CausalLM",
           "expected tokens (B, T) int32, got " + tokens.str());
  const Tensor x = dropout->forward(pos->forward(embed->forward(tokens)));  // (B, T, d)
  AttentionMask causal;
  causal.causal = true;
  return head->forward(stack->forward(x, causal));
}

Tensor CausalLM::loss(const Tensor& tokens, const Tensor& targets) {
  return cross_entropy(forward(tokens), targets);
}

}  // namespace dl
