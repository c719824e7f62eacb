// Dense or tiled: which form of an attention op runs (docs/attention.md, Tiled attention). The two
// compute the same function; the dense form (ops/sdpa.h) keeps the whole (T, S) matrix P for its
// backward, the tiled form (ops/tiled_sdpa.h) only O(T dh) per head. Measured with
// scripts/bench_long_context.sh (forward + backward, float32, causal, 8 heads of 32, 2 threads),
// causal tiled is slower at T = S = 256 (10.5 ms against 6.8) and faster from T = S = 512 (12.5
// against 24.6), where the dense P of one head is already 512 x 512 entries, 16 times its
// output's. Unmasked, the two take about the same time there: the tiled form wins on memory.
// Relational attention (bench_attention --op relational, same sizes, d_r = 8 relations of 32):
// tiled 28.9 ms against dense 55.6 at T = S = 512, so the same threshold serves it
// (bench/RESULTS.md, Tiled relational attention).
#pragma once
#include "ops/differential_attention.h"
#include "ops/gpam_attention.h"
#include "ops/relational_attention.h"
#include "ops/sdpa.h"
#include "ops/tiled_differential_attention.h"
#include "ops/tiled_gpam_attention.h"
#include "ops/tiled_relational_attention.h"

namespace dl {

// Score entries per (batch, head), T * S, from which the tiled form is used.
constexpr int64_t kTiledFromScores = 512 * 512;

// Whether T queries against S keys run tiled.
inline bool use_tiled_attention(int64_t T, int64_t S) { return T * S >= kTiledFromScores; }

// scaled_dot_product_attention or tiled_scaled_dot_product_attention, by use_tiled_attention.
// probs as each of them: below the threshold always P; above it, P only inside an
// AttentionMapsGuard (drawing a heatmap), so a training step never holds a (T, S) matrix.
Tensor sdpa_dense_or_tiled(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask,
                           Tensor* probs = nullptr);

// gpam_attention or tiled_gpam_attention, by the same rule and with the same probs.
Tensor gpam_dense_or_tiled(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg, const Tensor& lam,
                           const AttentionMask& mask, Tensor* probs = nullptr);

// differential_attention or tiled_differential_attention, by the same rule and with the same probs.
Tensor differential_dense_or_tiled(const Tensor& q1, const Tensor& k1, const Tensor& q2, const Tensor& k2,
                                   const Tensor& v, const Tensor& lam, const AttentionMask& mask,
                                   Tensor* probs = nullptr);

// relational_attention or tiled_relational_attention, by the same rule. alpha and r as probs: the
// dense ones always below the threshold, above it only inside an AttentionMapsGuard.
Tensor relational_dense_or_tiled(const Tensor& q_attn, const Tensor& k_attn, const Tensor& q_rel, const Tensor& k_rel,
                                 const Tensor& wr, const Tensor& sv, const AttentionMask& mask,
                                 Tensor* alpha = nullptr, Tensor* r = nullptr);

}  // namespace dl
