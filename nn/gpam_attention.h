// daGPAM attention layer (docs/gpam.md): multi-head attention whose attention matrix per head,
// A = (1 + lam_h) Ap - lam_h An, may hold negative weights while each row sums to 1. The op
// (ops/gpam_attention.h, a reconstruction from the paper's description) does the heads' work.
//
//   Q = x Wq + bq,  K = y Wk + bk,  V = y Wv + bv       (Linear wq, wk, wv: d -> d)
//   O = gpam_attention(Q_h, K_h, V_h, wneg, lam, M)     wneg (H, dh, dh), init -I plus noise
//   out = concat_h(O_h) Wo + bo                          (Linear wo: d -> d)
//
// lam is fixed (default 0.2), or trainable per head as lam_h = lam_max sigmoid(theta_h) with
// theta initialised so that lam_h starts at lam. Parameter names: wq, wk, wv, wo, wneg, theta.
#pragma once
#include <memory>
#include "nn/attention.h"

namespace dl {

// Set by name (GPAMOptions().with_lam(0.3).with_trainable(true)); not an aggregate, so lam and
// lam_max cannot be swapped silently in a positional {...}.
struct GPAMOptions {
  explicit GPAMOptions() = default;
  double lam = 0.2;        // the fixed lam, or every lam_h's initial value when trainable
  bool trainable = false;  // learn theta (H), lam_h = lam_max * sigmoid(theta_h)
  double lam_max = 1.0;
  GPAMOptions& with_lam(double v) { lam = v; return *this; }
  GPAMOptions& with_trainable(bool v) { trainable = v; return *this; }
  GPAMOptions& with_lam_max(double v) { lam_max = v; return *this; }
};

class GPAMAttention : public Module {
 public:
  GPAMAttention(int64_t d, int64_t heads, Generator& gen, GPAMOptions options = GPAMOptions(),
                DType dtype = DType::F32);

  // x (B, T, d), y (B, S, d) -> (B, T, d); a KVCache works as in MultiHeadAttention
  Tensor forward(const Tensor& x, const Tensor& y, AttentionMask mask = AttentionMask(),
                 KVCache* cache = nullptr);
  // self-attention: forward(x, x, mask, cache)
  Tensor forward(const Tensor& x, const AttentionMask& mask = AttentionMask(), KVCache* cache = nullptr) {
    return forward(x, x, mask, cache);
  }
  Tensor lam() const;  // (H), differentiable in theta when trainable
  // A (B, H, T, S) of the last forward, detached, for heatmaps
  const Tensor& last_attention() const { return last_attention_; }

  int64_t d, heads, head_dim;
  GPAMOptions options;
  std::shared_ptr<Linear> wq, wk, wv, wo;
  Tensor wneg;   // (H, dh, dh)
  Tensor theta;  // (H), only when trainable

 private:
  Tensor last_attention_;
};

}  // namespace dl
