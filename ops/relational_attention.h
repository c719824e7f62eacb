// Relational attention (docs/relational.md): every relational head of a layer as ONE recorded op.
//
// Per batch item, with T queries, S keys, H heads of size dh, d_r relations of projection size dp:
//
//   alpha^h  = softmax_j( q_attn^h k_attn^h^T / sqrt(dh) + M )      (T, S)  attention_probs
//   r_ijl    = < q_rel_i^l , k_rel_j^l > / sqrt(dp)                 (T, S, d_r)   not masked
//   abar^h   = sum_j alpha^h_ij r_ij                                 (T, d_r)
//   a^h      = abar^h Wr^h + beta^h sv^h                             (T, dh)
//
// Wr^h = wr[h]^T: wr is (H, dh, d_r), each head stored (out, in) like a Linear weight. Computing
// abar first means no (T, S, H, dh) tensor is ever built. beta^h, the weights each query gives
// the symbol values (an attention or bin matrix, not a parameter), comes in two forms:
//   per position:  sv (B, H, S, dh), or (1, H, S, dh) when every batch item shares the symbols;
//                  beta^h = alpha^h, i.e. a_i^h gets sum_j alpha_ij sv^h_j.
//   position-relative: sv (H, 2D+1, dh), a table indexed by c(i, j) = clip(j - i', -D, D) + D
//                  (i' = i + mask.query_offset is the query's position among the keys);
//                  beta^h = bins^h (T, 2D+1), bins_im = sum of alpha_ij over the j with c(i, j) = m,
//                  so a_i^h gets sum_j alpha_ij sv^h_c(i,j) without a (T, S, dh) tensor.
// Relational cross-attention (the Abstractor's RCA) drops the relation term: pass q_rel, k_rel
// and wr undefined, and a^h = beta^h sv^h. The symbol term beta^h sv^h and its backward are
// attention_values (ops/sdpa.h). Kept for the backward: alpha, r, abar (and the bins).
//
// Backward, given g = da (B, H, T, dh). Each line is the chain rule through one product above:
//   dwr[h]   = sum_b g^h^T abar^h                         (dh, d_r)   from a = abar wr^T
//   dabar^h  = g^h wr[h]                                  (T, d_r)
//   dbeta^h  = g^h sv^h^T                                 (T, S) or (T, 2D+1)
//   dsv^h    = beta^h^T g^h                               (summed over b when sv is shared)
//   dalpha^h_ij = sum_l dabar^h_il r_ijl + dbeta^h_ij     per position
//              = sum_l dabar^h_il r_ijl + dbeta^h_i,c(i,j) position-relative (bins_im is a sum
//                                                          of alpha_ij, so each alpha_ij gets
//                                                          the gradient of its bin)
//   dr_ijl   = sum_h alpha^h_ij dabar^h_il                (abar sums alpha r over j, every head)
//   dq_rel_i^l = sum_j dr_ijl k_rel_j^l / sqrt(dp)
//   dk_rel_j^l = sum_i dr_ijl q_rel_i^l / sqrt(dp)
//   dq_attn, dk_attn: the softmax Jacobian dZ = alpha * (dalpha - rowsum(dalpha * alpha)), then
//              dq = dZ k / sqrt(dh), dk = dZ^T q / sqrt(dh)   (attention_probs_backward)
// Symmetric relations pass the same tensor as q_rel and k_rel; the tape sums both gradients,
// giving dq_rel_i^l = sum_j (dr_ijl + dr_jil) q_rel_j^l / sqrt(dp).
//
// A query whose keys are all masked has alpha = 0 there, hence a = 0 and no gradient.
#pragma once
#include "ops/attention_probs.h"

namespace dl {

// q_attn (B, H, T, dh), k_attn (B, H, S, dh); q_rel (B, T, d_r, dp), k_rel (B, S, d_r, dp) and wr
// (H, dh, d_r), or all three undefined (RCA); sv as above. Returns a (B, H, T, dh).
// If given, *alpha receives the attention matrix (B, H, T, S) and *r the relations (B, T, S, d_r)
// (a strided view; undefined for RCA), both detached, for inspection.
Tensor relational_attention(const Tensor& q_attn, const Tensor& k_attn, const Tensor& q_rel,
                            const Tensor& k_rel, const Tensor& wr, const Tensor& sv,
                            const AttentionMask& mask = AttentionMask(), Tensor* alpha = nullptr,
                            Tensor* r = nullptr);

}  // namespace dl
