#include "nn/attention.h"

#include "ops/ops.h"
#include "ops/attention_select.h"

namespace dl {

int64_t head_size(const char* module, int64_t d, int64_t heads) {
  DL_CHECK(d > 0 && heads > 0 && d % heads == 0, module,
           std::to_string(heads) + " heads do not divide d = " + std::to_string(d));
  return d / heads;
}

void check_module_inputs(const char* module, const Tensor& x, const Tensor& y, int64_t d) {
  DL_CHECK((x.dim() == 3 && y.dim() == 3 && x.size(0) == y.size(0) && x.size(2) == d && y.size(2) == d),
           module, "expected x (B, T, " + std::to_string(d) + ") and y (B, S, " + std::to_string(d) +
                       "), got " + x.str() + " and " + y.str());
}

Tensor split_heads(const Tensor& x, int64_t heads) {
  const int64_t B = x.size(0), T = x.size(1);
  return permute(reshape(x, {B, T, heads, x.size(2) / heads}), {0, 2, 1, 3});
}

Tensor merge_heads(const Tensor& x) {
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), dh = x.size(3);
  return reshape(permute(x, {0, 2, 1, 3}), {B, T, H * dh});
}

AttentionMask KVCache::append(Tensor& k_step, Tensor& v_step, AttentionMask mask) {
  mask.query_offset = length();
  if (k.defined()) {
    const bool fits = k_step.dim() == 4 && k_step.size(0) == k.size(0) && k_step.size(1) == k.size(1) &&
                      k_step.size(3) == k.size(3);
    DL_CHECK(fits, "KVCache", "this step's keys " + k_step.str() + " do not continue the cached " + k.str() +
                                  " (same batch, heads and head size); start a new KVCache per sequence");
    k_step = concat({k, k_step}, 2);
    v_step = concat({v, v_step}, 2);
  }
  k = k_step;
  v = v_step;
  return mask;
}

MultiHeadAttention::MultiHeadAttention(int64_t d_, int64_t heads_, Generator& gen, DType dtype)
    : MultiHeadAttention(MultiHeadAttentionOptions().with_d(d_).with_heads(heads_), gen, dtype) {}

MultiHeadAttention::MultiHeadAttention(const MultiHeadAttentionOptions& o, Generator& gen, DType dtype)
    : d(o.d), heads(o.heads), head_dim(o.head_dim != 0 ? o.head_dim : head_size("MultiHeadAttention", o.d, o.heads)) {
  DL_CHECK(d > 0 && heads > 0 && head_dim > 0, "MultiHeadAttention",
           "sizes must be positive, got d " + std::to_string(d) + ", heads " + std::to_string(heads) +
               ", head_dim " + std::to_string(head_dim));
  const int64_t inner = heads * head_dim;
  wq = register_module("wq", std::make_shared<Linear>(d, inner, gen, true, dtype));
  wk = register_module("wk", std::make_shared<Linear>(d, inner, gen, true, dtype));
  wv = register_module("wv", std::make_shared<Linear>(d, inner, gen, true, dtype));
  wo = register_module("wo", std::make_shared<Linear>(inner, inner, gen, true, dtype));
}

Tensor MultiHeadAttention::forward(const Tensor& x, const Tensor& y, AttentionMask mask,
                                   KVCache* cache) {
  check_module_inputs("MultiHeadAttention", x, y, d);
  if (!cache && !use_tiled_attention(x.size(1), y.size(1))) {
    // speed only: the heads stay in the projections' (B, T, H*dh) layout, forward and backward
    Tensor o = packed_scaled_dot_product_attention(wq->forward(x), wk->forward(y), wv->forward(y), heads, mask,
                                                   &last_attention_);  // (B, T, H*dh)
    return wo->forward(o);
  }
  Tensor q = split_heads(wq->forward(x), heads);  // (B, H, T, dh)
  Tensor k = split_heads(wk->forward(y), heads);  // (B, H, S, dh)
  Tensor v = split_heads(wv->forward(y), heads);  // (B, H, S, dh)
  if (cache) mask = cache->append(k, v, mask);
  Tensor o = sdpa_dense_or_tiled(q, k, v, mask, &last_attention_);  // (B, H, T, dh)
  return wo->forward(merge_heads(o));
}

}  // namespace dl
