// The attention ops composed from primitive ops (matmul, softmax with a dense mask, relu, mul,
// sub, reshape, permute, index_select), so the tape differentiates them: the fused ops' twins in
// examples/bench_attention.cpp, which times both. Same arguments and results as the fused ops;
// probs, when given, receives the attention matrix. They build what the fused ops avoid: a dense
// mask, the scores, one tape node per step and, for position-relative symbols, a (H, T, S, dh)
// tensor of per-pair symbol values. The tests check the fused ops against the naive references
// of tests/naive/ instead, which share no kernel with them.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops/attention_probs.h"
#include "ops/ops.h"
#include "tests/attention_reference.h"  // dense_attention_mask

namespace dl::testing {

// softmax_j(q k^T / sqrt(dh) + M) per (batch, head): (B, H, T, S)
inline Tensor attention_probs_composed(const Tensor& q, const Tensor& k, const AttentionMask& mask) {
  const double scale = 1 / std::sqrt(static_cast<double>(q.size(3)));
  return softmax(matmul(q, k, false, true) * scale,
                 dense_attention_mask(mask, q.size(0), q.size(2), k.size(2)));
}

inline Tensor sdpa_composed(const Tensor& q, const Tensor& k, const Tensor& v,
                            const AttentionMask& mask, Tensor* probs = nullptr) {
  Tensor P = attention_probs_composed(q, k, mask);
  if (probs) *probs = P.detach();
  return matmul(P, v);
}

inline Tensor gpam_composed(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg,
                            const Tensor& lam, const AttentionMask& mask, Tensor* probs = nullptr) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), dh = q.size(3);
  // relu(q) Wneg^h: heads first, so wneg (H, dh, dh) is one matrix per batch entry of matmul
  Tensor r = reshape(permute(relu(q), {1, 0, 2, 3}), {H, B * T, dh});           // (H, B T, dh)
  Tensor qn = permute(reshape(matmul(r, wneg), {H, B, T, dh}), {1, 0, 2, 3});   // (B, H, T, dh)
  Tensor l = reshape(lam, {1, H, 1, 1});
  Tensor A = (1.0 + l) * attention_probs_composed(q, k, mask) - l * attention_probs_composed(qn, k, mask);
  if (probs) *probs = A.detach();
  return matmul(A, v);
}

inline Tensor differential_composed(const Tensor& q1, const Tensor& k1, const Tensor& q2,
                                    const Tensor& k2, const Tensor& v, const Tensor& lam,
                                    const AttentionMask& mask, Tensor* probs = nullptr) {
  Tensor A = attention_probs_composed(q1, k1, mask) - lam * attention_probs_composed(q2, k2, mask);
  if (probs) *probs = A.detach();
  return matmul(A, v);
}

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

}  // namespace dl::testing
