#include "nn/gpam_attention.h"

#include <cmath>
#include "nn/init.h"
#include "ops/attention_select.h"
#include "ops/ops.h"

namespace dl {

GPAMAttention::GPAMAttention(int64_t d_, int64_t heads_, Generator& gen, GPAMOptions options_, DType dtype)
    : d(d_), heads(heads_), head_dim(head_size("GPAMAttention", d_, heads_)), options(options_) {
  DL_CHECK(!options.trainable || (0 < options.lam && options.lam < options.lam_max), "GPAMAttention",
           "a trainable lam must start inside (0, lam_max), got lam " + std::to_string(options.lam) +
               " and lam_max " + std::to_string(options.lam_max));
  wq = register_module("wq", std::make_shared<Linear>(d, d, gen, true, dtype));
  wk = register_module("wk", std::make_shared<Linear>(d, d, gen, true, dtype));
  wv = register_module("wv", std::make_shared<Linear>(d, d, gen, true, dtype));
  wo = register_module("wo", std::make_shared<Linear>(d, d, gen, true, dtype));
  // -I plus small noise: An starts as attention to the keys least aligned with relu(Qp)
  Tensor w = Tensor::empty({heads, head_dim, head_dim}, dtype);  // (H, dh, dh)
  init::normal_(w, gen, 0.0, 0.02);
  std::vector<double> values = w.to_vector();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < head_dim; ++i) values[(h * head_dim + i) * head_dim + i] -= 1.0;
  wneg = register_parameter("wneg", Tensor::from_vector(values, w.shape(), dtype));
  if (options.trainable) {
    const double r = options.lam / options.lam_max;  // sigmoid(theta) = r
    theta = register_parameter("theta", Tensor::full({heads}, std::log(r / (1 - r)), dtype));
  }
}

Tensor GPAMAttention::lam() const {
  if (theta.defined()) return sigmoid(theta) * options.lam_max;
  return Tensor::full({heads}, options.lam, wneg.dtype());
}

Tensor GPAMAttention::forward(const Tensor& x, const Tensor& y, AttentionMask mask, KVCache* cache) {
  check_module_inputs("GPAMAttention", x, y, d);
  Tensor q = split_heads(wq->forward(x), heads);  // (B, H, T, dh)
  Tensor k = split_heads(wk->forward(y), heads);  // (B, H, S, dh)
  Tensor v = split_heads(wv->forward(y), heads);  // (B, H, S, dh)
  if (cache) mask = cache->append(k, v, mask);
  Tensor o = gpam_dense_or_tiled(q, k, v, wneg, lam(), mask, &last_attention_);  // (B, H, T, dh)
  return wo->forward(merge_heads(o));
}

}  // namespace dl
