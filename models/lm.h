// Decoder-only causal language model: docs/bench.md's benchmark model when config.block is
// pre-norm, GELU, dropout 0 (LMConfig's defaults and bench_lm_config()):
//
//   x = drop(embed(tokens) + pos[:T])          token table (V, d), learned positions (T, d)
//   x = EncoderBlock(x, causal mask), L times  x + Attn(LN1 x);  x + W2 gelu(W1 LN2 x + b1) + b2
//   logits = head(LN_f x)                      Linear d -> V with bias; not tied to the embedding
//
// (A decoder-only block has no cross-attention: it is an encoder block with a causal mask, and
// the L blocks with LN_f are an EncoderStack.)
// The attention of every block is config.block.attention: standard (docs/bench.md's transformer),
// dual (dat; its positional symbols shared by every layer), daGPAM (gpam) or differential (diff):
// any kind of models/registry.h.
// Parameter names: embed, pos, symbols (dual only), stack.blocks.<l>.*, stack.norm, head.
#pragma once
#include <memory>
#include "models/blocks.h"
#include "nn/positional.h"

namespace dl {

class CausalLM : public Module {
 public:
  using Config = LMConfig;
  CausalLM(const LMConfig& config, Generator& gen, DType dtype = DType::F32);  // dtype of the parameters

  Tensor forward(const Tensor& tokens);  // (B, T) int32, T <= max_len -> logits (B, T, V)
  // Mean cross-entropy over all B T positions; targets (B, T) int32 holds the token that follows
  // each input position.
  Tensor loss(const Tensor& tokens, const Tensor& targets);

  // From the last forward, for heatmaps.
  AttentionMaps attention_maps(size_t layer) const { return stack->attention_maps(layer); }

  const LMConfig config;
  std::shared_ptr<Embedding> embed;
  std::shared_ptr<LearnedPositionalEncoding> pos;
  std::shared_ptr<SymbolSource> symbols;  // dual only, else null
  std::shared_ptr<EncoderStack> stack;
  std::shared_ptr<Linear> head;
  std::shared_ptr<Dropout> dropout;       // on the embeddings
};

}  // namespace dl
