#include "models/blocks.h"

#include "ops/ops.h"

namespace dl {

std::shared_ptr<SymbolSource> make_symbol_source(const AttentionConfig& a, int64_t max_len, int64_t d,
                                                 Generator& gen) {
  if (a.kind != AttentionKind::Dual || a.n_ra == 0) return nullptr;
  switch (a.symbols) {
    case SymbolKind::Positional: return std::make_shared<PositionalSymbols>(max_len, d, gen);
    case SymbolKind::Relative: return std::make_shared<PositionRelativeSymbols>(a.max_offset, d, gen);
    case SymbolKind::Symbolic: return std::make_shared<SymbolicAttention>(d, a.n_symbols, a.symbol_heads, gen);
  }
  return nullptr;
}

SelfAttention::SelfAttention(const AttentionConfig& a, int64_t d, std::shared_ptr<SymbolSource> symbols,
                             Generator& gen)
    : symbols_(std::move(symbols)) {
  a.validate(d);
  switch (a.kind) {
    case AttentionKind::Standard:
      module_ = mha_ = std::make_shared<MultiHeadAttention>(d, a.heads, gen);
      break;
    case AttentionKind::Dual: {
      RelationalAttentionOptions o;
      o.n_relations = a.n_relations;
      o.rel_dim = a.rel_dim;
      o.symmetric = a.symmetric;
      DL_CHECK(a.n_ra == 0 || symbols_, "SelfAttention", "relational heads need a symbol source");
      module_ = dual_ = std::make_shared<DualAttention>(d, a.n_sa, a.n_ra, gen, o);
      break;
    }
    case AttentionKind::GPAM:
      module_ = gpam_ = std::make_shared<GPAMAttention>(d, a.heads, gen, GPAMOptions{a.lam, a.lam_trainable, a.lam_max});
      break;
  }
}

Tensor SelfAttention::forward(const Tensor& x, const AttentionMask& mask, KVCache* cache) const {
  DL_CHECK(!cache || supports_cache(), "SelfAttention",
           "dual attention keeps no key/value cache (input " + x.str() + ")");
  if (mha_) return mha_->forward(x, x, mask, cache);
  if (gpam_) return gpam_->forward(x, x, mask, cache);
  return dual_->forward(x, symbols_ ? symbols_->forward(x) : Symbols{}, mask);
}

AttentionMaps SelfAttention::maps() const {
  if (mha_) return {mha_->last_attention(), {}, {}};
  if (gpam_) return {gpam_->last_attention(), {}, {}};
  AttentionMaps m;
  if (dual_->sa) m.attention = dual_->sa->last_attention();
  if (dual_->ra) {
    m.relational = dual_->ra->last_attention();
    m.relations = dual_->ra->last_relations();
  }
  return m;
}

namespace {

// One residual sublayer around f: x + drop(f(LN x)) pre-norm, LN(x + drop(f(x))) post-norm.
template <class F>
Tensor residual(const Tensor& x, bool pre_norm, const LayerNorm& norm, Dropout& dropout, F&& f) {
  if (pre_norm) return x + dropout.forward(f(norm.forward(x)));
  return norm.forward(x + dropout.forward(f(x)));
}

}  // namespace

EncoderBlock::EncoderBlock(const BlockConfig& c, std::shared_ptr<SymbolSource> symbols, Generator& gen)
    : pre_norm(c.pre_norm), self_attn(validated(c).attention, c.d, std::move(symbols), gen) {
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d));
  register_module("self_attn", self_attn.module());
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d));
  ffn = register_module("ffn", std::make_shared<FeedForward>(c.d, c.d_ff, c.ffn, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.dropout, gen.next_u64()));
}

Tensor EncoderBlock::forward(const Tensor& x, const AttentionMask& mask) {
  Tensor h = residual(x, pre_norm, *norm1, *dropout, [&](const Tensor& in) { return self_attn.forward(in, mask); });
  return residual(h, pre_norm, *norm2, *dropout, [&](const Tensor& in) { return ffn->forward(in); });
}

EncoderStack::EncoderStack(const BlockConfig& c, int64_t layers, std::shared_ptr<SymbolSource> symbols,
                           Generator& gen) {
  blocks = register_module("blocks", std::make_shared<ModuleList<EncoderBlock>>());
  for (int64_t l = 0; l < layers; ++l) blocks->push_back(std::make_shared<EncoderBlock>(c, symbols, gen));
  if (c.pre_norm) norm = register_module("norm", std::make_shared<LayerNorm>(c.d));
}

Tensor EncoderStack::forward(const Tensor& x_in, const AttentionMask& mask) {
  Tensor x = x_in;
  for (const auto& block : *blocks) x = block->forward(x, mask);
  return norm ? norm->forward(x) : x;
}

DecoderBlock::DecoderBlock(const BlockConfig& c, std::shared_ptr<SymbolSource> symbols, Generator& gen)
    : pre_norm(c.pre_norm), self_attn(validated(c).attention, c.d, std::move(symbols), gen) {
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d));
  register_module("self_attn", self_attn.module());
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d));
  cross_attn = register_module("cross_attn", std::make_shared<MultiHeadAttention>(c.d, c.attention.total_heads(), gen));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(c.d));
  ffn = register_module("ffn", std::make_shared<FeedForward>(c.d, c.d_ff, c.ffn, gen));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.dropout, gen.next_u64()));
}

Tensor DecoderBlock::forward(const Tensor& x, const Tensor& memory, const Tensor& memory_padding, KVCache* cache) {
  AttentionMask causal;
  causal.causal = true;
  AttentionMask padding;
  padding.key_padding = memory_padding;
  Tensor h = residual(x, pre_norm, *norm1, *dropout,
                      [&](const Tensor& in) { return self_attn.forward(in, causal, cache); });
  h = residual(h, pre_norm, *norm2, *dropout,
               [&](const Tensor& in) { return cross_attn->forward(in, memory, padding); });
  return residual(h, pre_norm, *norm3, *dropout, [&](const Tensor& in) { return ffn->forward(in); });
}

}  // namespace dl
