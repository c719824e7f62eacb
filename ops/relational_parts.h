// The pieces of relational attention (ops/relational_attention.h) that its dense op and its tiled
// op (ops/tiled_relational_attention.h) share: the sizes and input checks, and the per-head
// products with wr, which are the same in both forms since neither touches a (T, S) matrix.
// Raw kernels on contiguous tensors, not recorded.
#pragma once
#include <algorithm>
#include "ops/attention_probs.h"

namespace dl::relational {

// Sizes shared by the forward and backward kernels. Buffers (all contiguous):
//   P (B, H, T, S) alpha;  rt (B, d_r, T, S) relations, one (T, S) matrix per relation l;
//   abar (B, H, T, d_r);   beta (B, H, T, W) the weights of the symbol values: P itself, or the
//   offset bins (docs/relational.md).
struct Dims {
  int64_t B, H, T, S, dh;
  int64_t dr = 0, dp = 0;  // 0: no relation term (RCA)
  int64_t D = 0;           // offset clip of position-relative symbols
  int64_t W = 0;           // columns of beta: S per position, 2D+1 position-relative
  int64_t query_offset = 0;
  bool relative = false;

  bool has_relations() const { return dr > 0; }
  // bin of the pair (i, j) in the position-relative table
  int64_t bin(int64_t i, int64_t j) const { return std::clamp(j - (i + query_offset), -D, D) + D; }
};

// Checks the inputs as documented at relational_attention, naming op in every error.
Dims check_inputs(const char* op, const Tensor& q_attn, const Tensor& k_attn, const Tensor& q_rel,
                  const Tensor& k_rel, const Tensor& wr, const Tensor& sv, const AttentionMask& mask);

// sv with one copy per batch item, (B, H, W, dh): sv itself unless the batch shares it.
Tensor per_batch_symbols(const Dims& d, const Tensor& sv);

// a^h += abar^h wr[h]^T;  a (B, H, T, dh), abar (B, H, T, d_r).
void add_relation_term(const Dims& d, const Tensor& abar, const Tensor& wr, Tensor& a);

// dwr[h] = sum_b g^h^T abar^h  (H, dh, d_r), summed over b in order for any thread count.
Tensor relation_weights_grad(const Dims& d, const Tensor& g, const Tensor& abar);

// dabar^h = g^h wr[h]  (B, H, T, d_r).
Tensor abar_grad(const Dims& d, const Tensor& g, const Tensor& wr);

}  // namespace dl::relational
