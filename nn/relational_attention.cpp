#include "nn/relational_attention.h"

#include <cmath>
#include "nn/attention.h"
#include "nn/init.h"
#include "ops/ops.h"
#include "ops/relational_attention.h"

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

Tensor RelationalAttention::forward(const Tensor& x, const Symbols& symbols,
                                    const AttentionMask& mask) {
  check_module_inputs("RelationalAttention", x, x, d);
  const int64_t B = x.size(0), T = x.size(1);
  Tensor q_rel, k_rel;  // (B, T, d_r, dp)
  if (!rca) {
    q_rel = reshape(wq_rel->forward(x), {B, T, n_relations, rel_dim});
    k_rel = symmetric ? q_rel : reshape(wk_rel->forward(x), {B, T, n_relations, rel_dim});
  }
  Tensor a = relational_attention(split_heads(wq_attn->forward(x), n_heads),
                                  split_heads(wk_attn->forward(x), n_heads), q_rel, k_rel, wr,
                                  symbol_values(symbols, *wv, n_heads), mask, &last_attention_,
                                  &last_relations_);  // (B, H, T, dh)
  return wo->forward(merge_heads(a));
}

}  // namespace dl
