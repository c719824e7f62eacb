// Differential attention layer (docs/differential.md). H heads; each head's query and key have two
// halves of size dh = d / (2 H), its value has 2 dh:
//
//   Q = x Wq + bq,  K = y Wk + bk,  V = y Wv + bv        (Linear wq, wk, wv: d -> d)
//   lam = exp(lq1 . lk1) - exp(lq2 . lk2) + lam_init,  lam_init = 0.8 - 0.6 exp(-0.3 layer)
//   O_h = differential_attention(Q1_h, K1_h, Q2_h, K2_h, V_h, lam, M)   (ops/, one op)
//   out = concat_h( (1 - lam_init) RMSNorm(O_h) ) Wo + bo
//
// RMSNorm is the official Differential Transformer's: per head over its 2 dh values, eps 1e-5,
// with a learnable elementwise weight (2 dh, ones at init) shared by the heads (`subln`).
// lam and the norm are ordinary ops, so the tape carries lam's gradient to lq1, lk1, lq2, lk2
// (vectors of size dh, N(0, 0.1) at init). layer counts from 0 (the paper's l - 1).
// Parameter names: wq, wk, wv, wo, lq1, lk1, lq2, lk2, subln.weight.
//
// Decoding: a KVCache as in MultiHeadAttention, holding each head's whole key (both halves,
// (B, H, S, 2 dh)) and its value; a step splits the cached keys into K1 and K2.
#pragma once
#include <memory>
#include "nn/attention.h"
#include "nn/layers.h"

namespace dl {

// Every size set by name (no positional {...}), e.g.
// DifferentialAttentionOptions().with_d(64).with_heads(2).with_layer(1).
struct DifferentialAttentionOptions {
  explicit DifferentialAttentionOptions() = default;
  int64_t d = 0;      // width
  int64_t heads = 0;  // H, each with two halves of dh = d / (2 H)
  int64_t layer = 0;  // depth from 0, for lam_init
  DifferentialAttentionOptions& with_d(int64_t v) { d = v; return *this; }
  DifferentialAttentionOptions& with_heads(int64_t v) { heads = v; return *this; }
  DifferentialAttentionOptions& with_layer(int64_t v) { layer = v; return *this; }
};

class DifferentialAttention : public Module {
 public:
  DifferentialAttention(const DifferentialAttentionOptions& options, Generator& gen, DType dtype = DType::F32);

  // x (B, T, d), y (B, S, d) -> (B, T, d)
  Tensor forward(const Tensor& x, const Tensor& y, AttentionMask mask = AttentionMask(), KVCache* cache = nullptr);
  // self-attention: forward(x, x, mask, cache)
  Tensor forward(const Tensor& x, const AttentionMask& mask = AttentionMask(), KVCache* cache = nullptr) {
    return forward(x, x, mask, cache);
  }
  Tensor lam() const;  // one element, differentiable in lq1, lk1, lq2, lk2
  // A = P1 - lam P2 (B, H, T, S) of the last forward, detached, for heatmaps
  const Tensor& last_attention() const { return last_attention_; }

  int64_t d, heads, head_dim;  // head_dim: the size dh of each half
  double lam_init;
  std::shared_ptr<Linear> wq, wk, wv, wo;
  Tensor lq1, lk1, lq2, lk2;       // (dh)
  std::shared_ptr<RMSNorm> subln;  // the per-head norm: weight (2 dh), eps 1e-5

 private:
  Tensor last_attention_;
};

}  // namespace dl
