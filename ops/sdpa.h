// Scaled dot-product attention as one recorded op (docs/attention.md), per (batch, head):
//
//   forward:   Z = Q K^T / sqrt(dh) + M                     the scores (T, S)
//              P = softmax_j(Z)                             (ops/attention_probs.h)
//              O = P V
//   backward:  dV = P^T dO
//              dP = dO V^T
//              dZ = P * (dP - rowsum(dP * P))               the softmax Jacobian, row by row
//              dQ = dZ K / sqrt(dh),  dK = dZ^T Q / sqrt(dh) (attention_probs_backward)
//
// Worked example: one query, two keys, dh = 2, no mask. q = (1, 0), k1 = (1, 0), k2 = (0, 1),
// v1 = (1, 2), v2 = (3, 4), dO = (1, 0):
//   Z  = (q.k1, q.k2) / sqrt(2)   = (0.7071, 0)
//   P  = softmax(Z)               = (0.6698, 0.3302)          e^0.7071 = 2.0281; 2.0281 / 3.0281
//   O  = 0.6698 v1 + 0.3302 v2    = (1.6605, 2.6605)
//   dV = P^T dO                   : dv1 = (0.6698, 0), dv2 = (0.3302, 0)
//   dP = (dO.v1, dO.v2)           = (1, 3)
//   dZ = P * (dP - 1.6605)        = (-0.4424, 0.4424)         rowsum(dP * P) = 1.6605
//   dQ = dZ K / sqrt(2)           = (-0.3128, 0.3128)         q moves toward k2, the key whose
//   dK = dZ^T q / sqrt(2)         : dk1 = (-0.3128, 0), dk2 = (0.3128, 0)   value dO rewards
//
// Only P (B, H, T, S) is kept for the backward: never the scores, never a mask tensor. A query
// whose keys are all masked has P = 0, so O = 0 and every gradient through that row is 0.
//
// The value side (O = A V and its backward) is exposed as raw kernels too: daGPAM and
// differential attention combine two attention matrices into one A and then share it.
#pragma once
#include "ops/attention_probs.h"

namespace dl {

// q (B, H, T, dh), k (B, H, S, dh), v (B, H, S, dv) -> (B, H, T, dv); multi-head attention has
// dv = dh. When probs is given it receives P (B, H, T, S), detached, for heatmaps.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionMask& mask, Tensor* probs = nullptr);

// The same function on the projections as their Linears make them, for multi-head attention:
// q (B, T, H*dh), k (B, S, H*dh), v (B, S, H*dv) -> (B, T, H*dv), equal to
// merge_heads(scaled_dot_product_attention(split_heads(q), split_heads(k), split_heads(v))).
// Speed only: BLAS reads each head where it is (row stride H*dh, ops/head_layout.h) and writes
// the output and the gradients the same way, so no head is copied to dense (B, H, T, dh) and back,
// in the forward or the backward. probs as above.
Tensor packed_scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads,
                                           const AttentionMask& mask, Tensor* probs = nullptr);

// Throws, naming op and the shapes, unless q (B, H, T, dh), k (B, H, S, dh), v (B, H, S, dv) share
// one float dtype and the mask fits (B, S). Shared by every attention op.
void check_attention_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                            const AttentionMask& mask);

// Raw kernels (not recorded). A (B, H, T, S) contiguous, v (B, H, S, dv) and dO with a dense last
// axis (ops/head_layout.h); O and dv are laid out as v, packed or dense.
Tensor attention_values(const Tensor& A, const Tensor& v);  // O = A V: (B, H, T, dv)
// From dO (B, H, T, dv): dA = dO V^T when dA is given, dv = A^T dO when dv is given.
void attention_values_backward(const Tensor& dO, const Tensor& A, const Tensor& v, Tensor* dA,
                               Tensor* dv);

}  // namespace dl
