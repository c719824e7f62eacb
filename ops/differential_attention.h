// Differential attention (docs/differential.md), the attention part as one recorded op. Per (batch,
// head), with the query and key split in halves Q1, Q2 and K1, K2 of size dh, s = 1 / sqrt(dh):
//
//   forward:   P1 = softmax(s Q1 K1^T + M)        P2 = softmax(s Q2 K2^T + M)
//              A  = P1 - lam P2                   (the shared mix of ops/gpam_attention.h)
//              O  = A V
//   backward:  dV = A^T dO                        dA = dO V^T
//              dP1 = dA                           dP2 = -lam dA
//              dlam = -sum dA * P2                (over every batch item, head and entry)
//              dQ1, dK1 and dQ2, dK2: softmax backward of P1 and P2  (attention_probs_backward)
//
// The rest of the layer is ordinary ops in the module (nn/differential_attention.h):
// lam = exp(lq1 . lk1) - exp(lq2 . lk2) + lam_init, and out = (1 - lam_init) RMSNorm(O) per head.
// A query with every key masked gives a zero row and no gradient.
#pragma once
#include "ops/attention_probs.h"

namespace dl {

// q1, q2 (B, H, T, dh), k1, k2 (B, H, S, dh), v (B, H, S, dv), lam one element -> (B, H, T, dv).
// When probs is given it receives A (B, H, T, S), detached.
Tensor differential_attention(const Tensor& q1, const Tensor& k1, const Tensor& q2,
                              const Tensor& k2, const Tensor& v, const Tensor& lam,
                              const AttentionMask& mask, Tensor* probs = nullptr);

// Throws, naming op and the shapes, unless the inputs fit as above (shared with the tiled form,
// ops/tiled_differential_attention.h).
void check_differential_inputs(const char* op, const Tensor& q1, const Tensor& k1, const Tensor& q2,
                               const Tensor& k2, const Tensor& v, const Tensor& lam, const AttentionMask& mask);

}  // namespace dl
