#include "nn/relational_attention.h"

#include <cmath>
#include "nn/attention.h"
#include "nn/init.h"
#include "ops/attention_select.h"
#include "ops/ops.h"

namespace dl {

RelationalAttention::RelationalAttention(int64_t d_, int64_t n_heads_, Generator& gen,
                                         const RelationalAttentionOptions& o, DType dtype)
    : d(d_),
      n_heads(n_heads_),
      head_dim(o.head_dim > 0 ? o.head_dim : head_size("RelationalAttention", d_, n_heads_)),
      n_relations(o.n_relations > 0 ? o.n_relations : n_heads_),
      rel_dim(o.rel_dim > 0 ? o.rel_dim : head_dim),
      symmetric(o.symmetric),
      rca(o.rca) {
  DL_CHECK(
      d > 0 && n_heads > 0, "RelationalAttention",
      "sizes must be positive, got d " + std::to_string(d) + ", n_heads " + std::to_string(n_heads));
  const int64_t width = n_heads * head_dim;
  auto linear = [&](const char* name, int64_t in, int64_t out) {
    return register_module(name, std::make_shared<Linear>(in, out, gen, o.bias, dtype));
  };
  wq_attn = linear("wq_attn", d, width);
  wk_attn = linear("wk_attn", d, width);
  if (!rca) {
    wq_rel = linear("wq_rel", d, n_relations * rel_dim);
    // symmetric: wk_rel is wq_rel, registered under both names, so the state dict holds
    // wk_rel.* too (as a PyTorch module with self.wk_rel = self.wq_rel would) and the
    // parameters hold it once
    wk_rel = symmetric ? register_module("wk_rel", wq_rel) : linear("wk_rel", d, n_relations * rel_dim);
  }
  wv = linear("wv", d, width);
  if (!rca) {
    // as PyTorch's Linear(d_r, H dh, bias=False) weight, which wr is, reshaped
    wr = register_parameter("wr", Tensor::empty({n_heads, head_dim, n_relations}, dtype));
    const double bound = 1 / std::sqrt(double(n_relations) * (o.wr_fan_in ? head_dim : 1));
    init::uniform_(wr, gen, -bound, bound);
  }
  wo = linear("wo", width, width);
}

// sv = s Ws in head layout: (H, 2D+1, dh) for a relative table, else (1 or B, H, T, dh).
static Tensor symbol_values(const Symbols& symbols, const Linear& wv, int64_t heads) {
  const Tensor& s = symbols.s;
  DL_CHECK(s.defined() && (s.dim() == 2 || s.dim() == 3), "RelationalAttention",
           "symbols must be (S, d), (B, S, d) or a (2D+1, d) table, got " +
               (s.defined() ? s.str() : std::string("none (no SymbolSource output was passed)")));
  if (s.dim() != 2) return split_heads(wv.forward(s), heads);
  Tensor sv = split_heads(wv.forward(reshape(s, {1, s.size(0), s.size(1)})), heads);
  return symbols.relative ? reshape(sv, {heads, s.size(0), sv.size(3)}) : sv;
}

// Throws unless step continues cached along dim (every other size equal): a cache holds one
// batch of sequences of one layer.
static void check_continues(const char* what, const Tensor& cached, const Tensor& step, int64_t dim) {
  if (!cached.defined()) return;
  bool fits = step.defined() && step.dim() == cached.dim();
  for (int64_t i = 0; fits && i < cached.dim(); ++i) fits = i == dim || step.size(i) == cached.size(i);
  DL_CHECK(fits, "RelationalKVCache",
           std::string("this step's ") + what + " " + (step.defined() ? step.str() : std::string("(none)")) +
               " do not continue the cached " + cached.str() +
               " (same batch, heads and sizes); start a new RelationalKVCache per sequence");
}

// cached := concat(cached, step) along dim, and step := the same.
static void extend(Tensor& cached, Tensor& step, int64_t dim) {
  if (cached.defined()) step = concat({cached, step}, dim);
  cached = step;
}

AttentionMask RelationalKVCache::append(Tensor& k_attn_step, Tensor& k_rel_step, Tensor& sv_step, bool relative,
                                        AttentionMask mask) {
  // every check before any change: a refused step leaves the cache as it was
  check_continues("keys k_attn", k_attn, k_attn_step, 2);
  check_continues("relation keys k_rel", k_rel, k_rel_step, 1);
  DL_CHECK(!relative || !sv.defined(), "RelationalKVCache",
           "a step with position-relative symbols continues a cache of per-position symbol values " + sv.str());
  if (!relative) check_continues("symbol values sv", sv, sv_step, 2);
  mask.query_offset = length();
  extend(k_attn, k_attn_step, 2);
  if (k_rel_step.defined()) extend(k_rel, k_rel_step, 1);
  if (!relative) extend(sv, sv_step, 2);
  return mask;
}

Tensor RelationalAttention::forward(const Tensor& x, const Symbols& symbols, AttentionMask mask,
                                    RelationalKVCache* cache) {
  check_module_inputs("RelationalAttention", x, x, d);
  const int64_t B = x.size(0), T = x.size(1);
  Tensor q_rel, k_rel;  // (B, T, d_r, dp); with a cache, k_rel (B, S, d_r, dp)
  if (!rca) {
    q_rel = reshape(wq_rel->forward(x), {B, T, n_relations, rel_dim});
    k_rel = symmetric ? q_rel : reshape(wk_rel->forward(x), {B, T, n_relations, rel_dim});
  }
  Tensor k_attn = split_heads(wk_attn->forward(x), n_heads);  // (B, H, T, dh); with a cache (B, H, S, dh)
  Tensor sv = symbol_values(symbols, *wv, n_heads);
  if (cache) mask = cache->append(k_attn, k_rel, sv, symbols.relative, mask);
  Tensor a = relational_dense_or_tiled(split_heads(wq_attn->forward(x), n_heads), k_attn, q_rel, k_rel, wr, sv, mask,
                                       &last_attention_, &last_relations_);  // (B, H, T, dh)
  return wo->forward(merge_heads(a));
}

}  // namespace dl
