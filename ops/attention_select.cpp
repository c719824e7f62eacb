#include "ops/attention_select.h"

#include "ops/relational_parts.h"

namespace dl {

Tensor sdpa_dense_or_tiled(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask,
                           Tensor* probs) {
  check_attention_inputs("scaled_dot_product_attention", q, k, v, mask);  // one op in either form
  if (use_tiled_attention(q.size(2), k.size(2))) return tiled_scaled_dot_product_attention(q, k, v, mask, probs);
  return scaled_dot_product_attention(q, k, v, mask, probs);
}

Tensor gpam_dense_or_tiled(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg, const Tensor& lam,
                           const AttentionMask& mask, Tensor* probs) {
  check_gpam_inputs("gpam_attention", q, k, v, wneg, lam, mask);  // one op in either form
  if (use_tiled_attention(q.size(2), k.size(2))) return tiled_gpam_attention(q, k, v, wneg, lam, mask, probs);
  return gpam_attention(q, k, v, wneg, lam, mask, probs);
}

Tensor differential_dense_or_tiled(const Tensor& q1, const Tensor& k1, const Tensor& q2, const Tensor& k2,
                                   const Tensor& v, const Tensor& lam, const AttentionMask& mask, Tensor* probs) {
  check_differential_inputs("differential_attention", q1, k1, q2, k2, v, lam, mask);  // one op in either form
  if (use_tiled_attention(q1.size(2), k1.size(2)))
    return tiled_differential_attention(q1, k1, q2, k2, v, lam, mask, probs);
  return differential_attention(q1, k1, q2, k2, v, lam, mask, probs);
}

Tensor relational_dense_or_tiled(const Tensor& q_attn, const Tensor& k_attn, const Tensor& q_rel, const Tensor& k_rel,
                                 const Tensor& wr, const Tensor& sv, const AttentionMask& mask, Tensor* alpha,
                                 Tensor* r) {
  // one op in either form
  const relational::Dims d = relational::check_inputs("relational_attention", q_attn, k_attn, q_rel, k_rel, wr, sv, mask);
  if (use_tiled_attention(d.T, d.S)) return tiled_relational_attention(q_attn, k_attn, q_rel, k_rel, wr, sv, mask, alpha, r);
  return relational_attention(q_attn, k_attn, q_rel, k_rel, wr, sv, mask, alpha, r);
}

}  // namespace dl
