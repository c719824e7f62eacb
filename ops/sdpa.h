// Scaled dot-product attention as one recorded op (spec section 1), per (batch, head):
//
//   forward:   P = softmax_j( Q K^T / sqrt(dh) + M )        (ops/attention_probs.h)
//              O = P V
//   backward:  dV = P^T dO
//              dP = dO V^T
//              dQ, dK from dP through the softmax Jacobian  (attention_probs_backward)
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

// Throws, naming op and the shapes, unless q (B, H, T, dh), k (B, H, S, dh), v (B, H, S, dv) share
// one float dtype and the mask fits (B, S). Shared by every attention op.
void check_attention_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                            const AttentionMask& mask);

// Raw kernels (not recorded). A (B, H, T, S) and v (B, H, S, dv), both contiguous.
Tensor attention_values(const Tensor& A, const Tensor& v);  // O = A V: (B, H, T, dv)
// From dO (B, H, T, dv): dA = dO V^T when dA is given, dv = A^T dO when dv is given.
void attention_values_backward(const Tensor& dO, const Tensor& A, const Tensor& v, Tensor* dA,
                               Tensor* dv);

}  // namespace dl
