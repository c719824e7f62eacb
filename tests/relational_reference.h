// Relational attention (ops/relational_attention.h) composed from primitive ops, so the tape
// differentiates it: the reference the fused op's forward and every gradient are checked
// against, and its twin in timing comparisons. Same arguments and result as relational_attention.
// It builds what the fused op avoids: the mask as a dense tensor, one tape node per step and, for
// position-relative symbols, a (H, T, S, dh) tensor of per-pair symbol values.
// relational_module_composed is RelationalAttention::forward on top of it.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>
#include "nn/relational_attention.h"
#include "ops/attention_probs.h"
#include "ops/ops.h"
#include "tests/attention_reference.h"  // dense_attention_mask

namespace dl::testing {

inline Tensor relational_attention_composed(const Tensor& q_attn, const Tensor& k_attn,
                                            const Tensor& q_rel, const Tensor& k_rel, const Tensor& wr,
                                            const Tensor& sv,
                                            const AttentionMask& mask = AttentionMask(),
                                            Tensor* alpha_out = nullptr, Tensor* r_out = nullptr) {
  const int64_t B = q_attn.size(0), H = q_attn.size(1), T = q_attn.size(2), S = k_attn.size(2),
                dh = q_attn.size(3);
  Tensor alpha = attention_probs_composed(q_attn, k_attn, mask);  // (B, H, T, S)
  if (alpha_out) *alpha_out = alpha.detach();

  Tensor out;  // (B, H, T, dh)
  if (sv.dim() == 4) {
    // sum_j alpha_ij sv_j; a batch-shared sv (1, H, S, dh) is broadcast by adding zeros
    out = matmul(alpha, sv + Tensor::zeros({B, H, S, dh}, sv.dtype()));
  } else {
    // sum_j alpha_ij sv[bin(i, j)], with the (H, T, S, dh) per-pair symbols spelled out
    const int64_t D = (sv.size(1) - 1) / 2;
    std::vector<int32_t> bins(T * S);
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < S; ++j)
        bins[i * S + j] = int32_t(std::clamp(j - (i + mask.query_offset), -D, D) + D);
    Tensor pair_sv = reshape(index_select(sv, 1, Tensor::from_ints(bins, {T * S})), {H, T, S, dh});
    Tensor per_query = matmul(permute(alpha, {1, 2, 0, 3}), pair_sv);  // (H, T, B, dh)
    out = permute(per_query, {2, 0, 1, 3});
  }
  if (q_rel.defined()) {
    const int64_t dr = q_rel.size(2), dp = q_rel.size(3);
    Tensor rt = matmul(permute(q_rel, {0, 2, 1, 3}), permute(k_rel, {0, 2, 1, 3}), false, true) *
                (1 / std::sqrt(double(dp)));  // (B, d_r, T, S)
    Tensor r = permute(rt, {0, 2, 3, 1});     // (B, T, S, d_r)
    if (r_out) *r_out = r.detach();
    Tensor abar = matmul(permute(alpha, {0, 2, 1, 3}), r);                   // (B, T, H, d_r)
    Tensor per_head = reshape(permute(abar, {2, 0, 1, 3}), {H, B * T, dr});  // (H, B T, d_r)
    Tensor rel = reshape(matmul(per_head, wr, false, true), {H, B, T, dh});  // (H, B, T, dh)
    out = out + permute(rel, {1, 0, 2, 3});
  }
  return out;
}

// RelationalAttention::forward (nn/relational_attention.h) with the composed op, the head split
// spelled out with reshape and permute.
inline Tensor relational_module_composed(const RelationalAttention& m, const Tensor& x,
                                         const Symbols& symbols, const AttentionMask& mask) {
  const int64_t B = x.size(0), T = x.size(1), H = m.n_heads, dh = m.head_dim;
  auto heads = [&](const Tensor& t) {  // (n, S, H dh) -> (n, H, S, dh)
    return permute(reshape(t, {t.size(0), t.size(1), H, dh}), {0, 2, 1, 3});
  };
  const Tensor& s = symbols.s;
  Tensor sv = symbols.relative ? permute(reshape(m.wv->forward(s), {s.size(0), H, dh}), {1, 0, 2})
                               : heads(m.wv->forward(s.dim() == 2 ? reshape(s, {1, T, m.d}) : s));
  Tensor q_rel, k_rel;
  if (!m.rca) {
    q_rel = reshape(m.wq_rel->forward(x), {B, T, m.n_relations, m.rel_dim});
    k_rel = m.symmetric ? q_rel : reshape(m.wk_rel->forward(x), {B, T, m.n_relations, m.rel_dim});
  }
  Tensor a = relational_attention_composed(heads(m.wq_attn->forward(x)), heads(m.wk_attn->forward(x)),
                                           q_rel, k_rel, m.wr, sv, mask);
  return m.wo->forward(reshape(permute(a, {0, 2, 1, 3}), {B, T, H * dh}));
}

}  // namespace dl::testing
