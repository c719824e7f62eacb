// Softmax and log-softmax over the last axis, with an optional boolean mask broadcastable to x
// (true = excluded: its logit counts as -inf). A row with every entry masked gives all zeros,
// never NaN, and passes no gradient.
//   p = softmax(x):      dx = p * (g - rowsum(g * p))
//   l = log_softmax(x):  dx = g - softmax(x) * rowsum(g)      (masked entries: l = -inf, dx = 0)
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor softmax(const Tensor& x, const Tensor& mask = Tensor());
Tensor log_softmax(const Tensor& x, const Tensor& mask = Tensor());

}  // namespace dl
