// Reductions over chosen axes (negative axes count from the end; an empty axes list means all).
//   sum:  dx = broadcast(g)
//   mean: dx = broadcast(g) / n
//   max:  dx = g at the first position of the maximum along the axis, 0 elsewhere
//   var:  dx = broadcast(g) * 2 (x - mean) / (n - correction)
// Summation order is fixed by the shape, never by the thread count.
#pragma once
#include <vector>
#include "autograd/tensor.h"

namespace dl {

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);
// correction 1 is the unbiased estimator (PyTorch's default); 0 the population variance
Tensor var(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false,
           int64_t correction = 1);

}  // namespace dl
