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

// A Linear layer's product with its bias fused in, as PyTorch's addmm: x (..., in), w (out, in),
// b (out) -> y = x w^T + b (..., out). The output starts as copies of b and one gemm adds x w^T
// to it (BLAS would otherwise clear it first), so the bias costs no pass of its own.
//   dx = dy w,   dw = dy^T x (every row of the batch),   db = column sums of dy
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

}  // namespace dl
