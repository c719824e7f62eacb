// Multi-head attention (docs/attention.md), and the head bookkeeping every attention module shares.
//
//   Q = x Wq + bq,  K = y Wk + bk,  V = y Wv + bv       (Linear wq, wk, wv: d -> H dh)
//   O = SDPA(Q_h, K_h, V_h, M) for every head h         (ops/sdpa.h; tiled for long sequences,
//                                                        ops/attention_select.h)
//   out = concat_h(O_h) Wo + bo                         (Linear wo: H dh -> H dh)
//
// Its three uses: global self-attention forward(x) (= forward(x, x)), causal self-attention
// forward(x, {causal}), cross-attention forward(x, encoder_out, {key padding of the source}).
//
// Incremental (greedy) decoding: pass a KVCache with x = y = the new positions only. Their keys
// and values are appended to the cache, the queries attend to every cached position, and the
// mask's query_offset is set to the number of positions cached before this step, so a causal
// mask lets query i see keys up to its own position. The result equals the matching rows of a
// full causal pass.
#pragma once
#include <memory>
#include <vector>
#include "nn/linear.h"
#include "ops/attention_probs.h"

namespace dl {

// d / heads; throws, naming the module and both sizes, unless heads divides d.
int64_t head_size(const char* module, int64_t d, int64_t heads);
// Throws, naming the module and shapes, unless x is (B, T, d) and y is (B, S, d).
void check_module_inputs(const char* module, const Tensor& x, const Tensor& y, int64_t d);
// (B, T, H dh) -> (B, H, T, dh), a strided view (the attention ops make it dense).
Tensor split_heads(const Tensor& x, int64_t heads);
// (B, H, T, dh) -> (B, T, H dh), i.e. concat_h.
Tensor merge_heads(const Tensor& x);

// The keys and values of every position decoded so far, for one attention layer.
struct KVCache {
  Tensor k, v;  // (B, H, S, dh)
  int64_t length() const { return k.defined() ? k.size(2) : 0; }
  // Appends this step's keys and values (B, H, t, dh) and replaces k_step and v_step with the
  // whole cache, which is what the step attends to. Returns mask with query_offset set to the
  // number of positions cached before this step.
  AttentionMask append(Tensor& k_step, Tensor& v_step, AttentionMask mask);
};

// Sizes by name, for heads narrower than d / heads (dual attention's sensory heads):
// MultiHeadAttentionOptions().with_d(64).with_heads(1).with_head_dim(32). Not an aggregate, so
// {64, 1, 32} cannot silently mean heads 32 of width 1.
struct MultiHeadAttentionOptions {
  explicit MultiHeadAttentionOptions() = default;
  int64_t d = 0, heads = 0;
  int64_t head_dim = 0;  // 0: d / heads
  MultiHeadAttentionOptions& with_d(int64_t v) { d = v; return *this; }
  MultiHeadAttentionOptions& with_heads(int64_t v) { heads = v; return *this; }
  MultiHeadAttentionOptions& with_head_dim(int64_t v) { head_dim = v; return *this; }
};

class MultiHeadAttention : public Module {
 public:
  // heads of d / heads each (a swap of d and heads fails the check that heads divide d)
  MultiHeadAttention(int64_t d, int64_t heads, Generator& gen, DType dtype = DType::F32);
  // heads of head_dim each, d -> heads * head_dim
  MultiHeadAttention(const MultiHeadAttentionOptions& options, Generator& gen, DType dtype = DType::F32);

  // x (B, T, d), y (B, S, d) -> (B, T, heads * head_dim)
  Tensor forward(const Tensor& x, const Tensor& y, AttentionMask mask = AttentionMask(),
                 KVCache* cache = nullptr);
  // self-attention: forward(x, x, mask, cache)
  Tensor forward(const Tensor& x, const AttentionMask& mask = AttentionMask(), KVCache* cache = nullptr) {
    return forward(x, x, mask, cache);
  }
  // P (B, H, T, S) of the last forward, detached, for heatmaps
  const Tensor& last_attention() const { return last_attention_; }

  int64_t d, heads, head_dim;
  std::shared_ptr<Linear> wq, wk, wv, wo;

 private:
  Tensor last_attention_;
};

}  // namespace dl
