#include "nn/differential_attention.h"

#include <cmath>
#include "nn/init.h"
#include "ops/attention_select.h"
#include "ops/ops.h"

namespace dl {

// The two halves of every head of x (B, H, T, 2 dh), each (B, H, T, dh).
static std::vector<Tensor> split_halves(const Tensor& x) {
  const int64_t dh = x.size(3) / 2;
  return split(x, {dh, dh}, 3);
}

DifferentialAttention::DifferentialAttention(const DifferentialAttentionOptions& o, Generator& gen, DType dtype)
    : d(o.d), heads(o.heads), head_dim(head_size("DifferentialAttention", o.d, o.heads) / 2),
      lam_init(0.8 - 0.6 * std::exp(-0.3 * static_cast<double>(o.layer))) {
  DL_CHECK(o.layer >= 0, "DifferentialAttention", "layer must not be negative, got " + std::to_string(o.layer));
  DL_CHECK((d / heads) % 2 == 0, "DifferentialAttention",
           "each of the " + std::to_string(heads) + " heads needs an even size to split in two halves, got d = " +
               std::to_string(d));
  wq = register_module("wq", std::make_shared<Linear>(d, d, gen, true, dtype));
  wk = register_module("wk", std::make_shared<Linear>(d, d, gen, true, dtype));
  wv = register_module("wv", std::make_shared<Linear>(d, d, gen, true, dtype));
  wo = register_module("wo", std::make_shared<Linear>(d, d, gen, true, dtype));
  auto vector = [&](const char* name) {
    Tensor t = Tensor::empty({head_dim}, dtype);  // (dh)
    init::normal_(t, gen, 0.0, 0.1);
    return register_parameter(name, t);
  };
  lq1 = vector("lq1");
  lk1 = vector("lk1");
  lq2 = vector("lq2");
  lk2 = vector("lk2");
  subln = register_module("subln", std::make_shared<RMSNorm>(2 * head_dim, 1e-5, dtype));
}

Tensor DifferentialAttention::lam() const {
  return exp(sum(lq1 * lk1)) - exp(sum(lq2 * lk2)) + lam_init;
}

Tensor DifferentialAttention::forward(const Tensor& x, const Tensor& y, AttentionMask mask, KVCache* cache) {
  check_module_inputs("DifferentialAttention", x, y, d);
  std::vector<Tensor> q = split_halves(split_heads(wq->forward(x), heads));  // 2 x (B, H, T, dh)
  Tensor keys = split_heads(wk->forward(y), heads);                           // (B, H, S, 2 dh), both halves
  Tensor v = split_heads(wv->forward(y), heads);                              // (B, H, S, 2 dh)
  if (cache) mask = cache->append(keys, v, mask);
  std::vector<Tensor> k = split_halves(keys);  // 2 x (B, H, S, dh)
  Tensor o = differential_dense_or_tiled(q[0], k[0], q[1], k[1], v, lam(), mask, &last_attention_);
  return wo->forward(merge_heads(subln->forward(o) * (1 - lam_init)));  // o (B, H, T, 2 dh)
}

}  // namespace dl
