// The attention matrix that every attention variant shares, as raw kernels (not recorded; each
// variant's op calls them from its own forward and backward). Notation: docs/attention.md.
//
//   forward:   Z = scale * Q K^T + M                      the scores (T, S), never stored
//              P = softmax_j(Z)                           per (batch, head)
//   backward:  given dP,  dZ = P * (dP - rowsum(dP * P))   (softmax Jacobian, row by row)
//              dQ = scale * dZ K,   dK = scale * dZ^T Q
// The scores are Z, not S: S is the number of keys. M is -inf where the mask says so. A row with
// every key masked has P = 0 and so dZ = 0: no NaN.
//
// Layout: P and dP (B, H, T, S) contiguous; Q (B, H, T, dh) and K (B, H, S, dh) any 4-D views
// with a dense last axis (BLAS reads their heads in place, ops/head_layout.h); dQ and dK are laid
// out as Q and K, packed or dense.
#pragma once
#include "autograd/tensor.h"

namespace dl {

struct AttentionMask {
  bool causal = false;      // query i may not see key j > i + query_offset
  int64_t query_offset = 0; // position of query 0 among the keys (decoding with a key cache)
  Tensor key_padding;       // bool (B, S), true = padded key; undefined = none

  bool masked(int64_t b, int64_t i, int64_t j, int64_t S) const {
    if (causal && j > i + query_offset) return true;
    return key_padding.defined() && key_padding.data<bool>()[b * S + j];
  }
  // Throws, naming op and shapes, unless key_padding is bool (B, S).
  void check(const char* op, int64_t B, int64_t S) const;
};

Tensor attention_probs(const Tensor& q, const Tensor& k, const AttentionMask& mask, double scale);

// Sets dq (B, H, T, dh) and dk (B, H, S, dh) to fresh tensors.
void attention_probs_backward(const Tensor& dP, const Tensor& P, const Tensor& q, const Tensor& k,
                              double scale, Tensor& dq, Tensor& dk);

}  // namespace dl
