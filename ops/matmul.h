// Matrix products.
//   C = A B        A: (..., M, K)  B: (..., K, N)  C: (..., M, N)
//   dA = dC B^T,   dB = A^T dC     (summed over the batch when B is a shared 2-D matrix)
// Batch dims of A and B must be equal, or B may be 2-D (one matrix applied to every batch item,
// as a Linear layer does). trans_a / trans_b use the transpose of the last two axes, without a
// copy; a transposed view (transpose(x, -1, -2)) is also passed to BLAS without a copy.
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace dl
