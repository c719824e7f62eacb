// Tiled differential attention (docs/differential.md): the same function as differential_attention
// (ops/differential_attention.h), with both softmaxes run by the tiled kernels of
// ops/tiled_sdpa.h, so no (T, S) matrix is built. As for daGPAM (ops/tiled_gpam_attention.h), the
// values product distributes over the difference, A V = P1 V - lam P2 V:
//   forward:   O1, L1 = tiled attention of (Q1, K1, V)
//              O2, L2 = tiled attention of (Q2, K2, V)
//              O  = O1 - lam O2                         mix_probs on (B, H, T, dv) outputs
//   backward:  dO1 = dO,  dO2 = -lam dO                 mix_probs_backward
//              dlam = -sum dO * O2                      = the dense -sum dA * P2
//              dQ1, dK1, dV  from (dO1, O1, L1)         tiled_attention_backward
//              dQ2, dK2, dV += from (dO2, O2, L2)
// The per-head RMSNorm stays in the module, on O. Kept for the backward: the inputs, O1, O2 and
// L1, L2 (B, H, T). A query with every key masked gets a zero row and no gradient.
#pragma once
#include "ops/tiled_sdpa.h"

namespace dl {

// Inputs and output as differential_attention. probs, when given, is the dense A, computed only
// inside an AttentionMapsGuard (for a heatmap), else left undefined.
Tensor tiled_differential_attention(const Tensor& q1, const Tensor& k1, const Tensor& q2, const Tensor& k2,
                                    const Tensor& v, const Tensor& lam, const AttentionMask& mask,
                                    Tensor* probs = nullptr, int64_t tile = kAttentionTile);

}  // namespace dl
