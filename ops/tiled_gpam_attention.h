// Tiled daGPAM (docs/gpam.md): the same function as gpam_attention (ops/gpam_attention.h), with
// the two softmaxes run by the tiled kernels of ops/tiled_sdpa.h, so no (T, S) matrix is built.
//
// The dense op mixes the two attention matrices before the values, A = (1 + lam_h) Ap - lam_h An,
// O = A V. The product distributes over the mix, so the tiled op mixes the two outputs instead:
//   forward:   R  = relu(Qp),  Qn = R Wneg^h            gpam_negative_query, as the dense op
//              Op, Lp = tiled attention of (Qp, K, V)   Op = Ap V: an online softmax over the key
//              On, Ln = tiled attention of (Qn, K, V)   tiles for each query, with its own m and l
//              O  = (1 + lam_h) Op - lam_h On           mix_probs on (B, H, T, dv) outputs
//   backward (each line the chain rule through one line above, last line first):
//              dOp = (1 + lam_h) dO,  dOn = -lam_h dO   mix_probs_backward
//              dlam_h = sum_{b,i} dO_i . (Op_i - On_i)  = the dense sum dA * (Ap - An), because
//                                                       sum_j dA_ij A_ij = dO_i . (A V)_i
//              dQp, dK, dV  from (dOp, Op, Lp)          tiled_attention_backward: P recomputed
//              dQn, dK, dV += from (dOn, On, Ln)         tile by tile from Q, K and L
//              dWneg^h = sum_b R^T dQn,  dQp += (dQn Wneg^h^T) * [Qp > 0]
// Each softmax needs its own running max and sum, so the key tiles are walked once per softmax.
//
// Kept for the backward: Qp, R, Qn, K, V, Op, On and Lp, Ln (B, H, T): O(T dh) per head. A query
// with every key masked gets Op = On = 0: a zero row, no gradient.
#pragma once
#include "ops/tiled_sdpa.h"

namespace dl {

// Inputs and output as gpam_attention. probs, when given, is the dense A, computed only inside an
// AttentionMapsGuard (for a heatmap), else left undefined (see tiled_sdpa.h).
Tensor tiled_gpam_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg,
                            const Tensor& lam, const AttentionMask& mask, Tensor* probs = nullptr,
                            int64_t tile = kAttentionTile);

}  // namespace dl
