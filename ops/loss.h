// Cross-entropy over class logits, fused log-softmax + negative log-likelihood, mean over the
// positions whose target is not ignore_index.
//   loss = -(1/n) sum_i log softmax(z_i)[t_i]
//   dz_i = g (softmax(z_i) - onehot(t_i)) / n     (0 for ignored rows)
// logits: (..., C) float; targets: int32 of shape (...), each in [0, C) or ignore_index.
// Every target ignored gives loss 0 and zero gradient.
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int32_t ignore_index = -100);

}  // namespace dl
