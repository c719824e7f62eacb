#include "models/blocks.h"

#include "ops/ops.h"

namespace dl {

std::shared_ptr<SymbolSource> make_symbol_source(const AttentionConfig& a, int64_t max_len, int64_t d,
                                                 Generator& gen, DType dtype) {
  return attention_kind(a.kind).symbols(a, max_len, {d, 0, dtype}, gen);
}

SelfAttention::SelfAttention(const AttentionConfig& a, const AttentionSite& site,
                             std::shared_ptr<SymbolSource> symbols, Generator& gen)
    : entry_(&attention_kind(a.kind)), symbols_from_stream_(a.official), symbols_(std::move(symbols)) {
  a.validate(site.d);
  module_ = entry_->build(a, site, gen);
}

Tensor SelfAttention::forward(const Tensor& x, const AttentionMask& mask, DecodingCache* cache,
                              const Tensor& stream) const {
  const Tensor& source = symbols_from_stream_ && stream.defined() ? stream : x;
  const Symbols symbols = symbols_ ? symbols_->forward(source, cache ? cache->length() : 0) : Symbols{};
  return entry_->forward(*module_, x, symbols, mask, cache);
}

namespace {

// One residual sublayer around f: x + drop(f(LN x)) pre-norm, LN(x + drop(f(x))) post-norm.
template <class F>
Tensor residual(const Tensor& x, bool pre_norm, const LayerNorm& norm, Dropout& dropout, F&& f) {
  if (pre_norm) return x + dropout.forward(f(norm.forward(x)));
  return norm.forward(x + dropout.forward(f(x)));
}

}  // namespace

EncoderBlock::EncoderBlock(const BlockConfig& c, int64_t layer, std::shared_ptr<SymbolSource> symbols,
                           Generator& gen, DType dtype)
    : pre_norm(c.pre_norm), self_attn(validated(c).attention, {c.d, layer, dtype}, std::move(symbols), gen) {
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d, 1e-5, dtype));
  register_module("self_attn", self_attn.module());
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d, 1e-5, dtype));
  ffn = register_module("ffn", std::make_shared<FeedForward>(c.d, c.d_ff, c.ffn, gen, true, dtype));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.dropout, gen.next_u64()));
}

Tensor EncoderBlock::forward(const Tensor& x, const AttentionMask& mask) {
  Tensor h = residual(x, pre_norm, *norm1, *dropout, [&](const Tensor& in) { return self_attn.forward(in, mask, nullptr, x); });
  return residual(h, pre_norm, *norm2, *dropout, [&](const Tensor& in) { return ffn->forward(in); });
}

EncoderStack::EncoderStack(const BlockConfig& c, int64_t layers, std::shared_ptr<SymbolSource> symbols,
                           Generator& gen, DType dtype, bool final_norm) {
  blocks = register_module("blocks", std::make_shared<ModuleList<EncoderBlock>>());
  for (int64_t l = 0; l < layers; ++l) blocks->push_back(std::make_shared<EncoderBlock>(c, l, symbols, gen, dtype));
  if (c.pre_norm && final_norm) norm = register_module("norm", std::make_shared<LayerNorm>(c.d, 1e-5, dtype));
}

Tensor EncoderStack::forward(const Tensor& x_in, const AttentionMask& mask) {
  Tensor x = x_in;
  for (const auto& block : *blocks) x = block->forward(x, mask);
  return norm ? norm->forward(x) : x;
}

DecoderBlock::DecoderBlock(const BlockConfig& c, int64_t layer, std::shared_ptr<SymbolSource> symbols,
                           Generator& gen, DType dtype)
    : pre_norm(c.pre_norm), self_attn(validated(c).attention, {c.d, layer, dtype}, std::move(symbols), gen) {
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d, 1e-5, dtype));
  register_module("self_attn", self_attn.module());
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d, 1e-5, dtype));
  cross_attn = register_module("cross_attn",
                               std::make_shared<MultiHeadAttention>(c.d, c.attention.total_heads(), gen, dtype));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(c.d, 1e-5, dtype));
  ffn = register_module("ffn", std::make_shared<FeedForward>(c.d, c.d_ff, c.ffn, gen, true, dtype));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.dropout, gen.next_u64()));
}

Tensor DecoderBlock::forward(const Tensor& x, const Tensor& memory, const Tensor& memory_padding,
                             DecoderCache* cache) {
  // speed only: with a cache, the memory's keys and values are projected once (see the header)
  const bool projected = cache && cache->cross.length() > 0;
  DL_CHECK(!projected || (memory.dim() == 3 && memory.size(0) == cache->cross.k.size(0) &&
                          memory.size(1) == cache->cross.length()),
           "DecoderBlock", "memory " + memory.str() + " is not the one whose keys are cached " + cache->cross.k.str() +
                               " (same batch and length); start a new DecoderCache per batch");  // before any cache grows
  const Tensor new_memory = projected ? slice(memory, 1, 0, 0) : memory;  // (B, S or 0, d)
  AttentionMask causal;
  causal.causal = true;
  AttentionMask padding;
  padding.key_padding = memory_padding;
  Tensor h = residual(x, pre_norm, *norm1, *dropout,
                      [&](const Tensor& in) { return self_attn.forward(in, causal, cache ? &cache->self : nullptr, x); });
  h = residual(h, pre_norm, *norm2, *dropout, [&](const Tensor& in) {
    return cross_attn->forward(in, new_memory, padding, cache ? &cache->cross : nullptr);
  });
  return residual(h, pre_norm, *norm3, *dropout, [&](const Tensor& in) { return ffn->forward(in); });
}

}  // namespace dl
