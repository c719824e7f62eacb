// Rank-collapse diagnostics (docs/tasks.md, the rank-collapse study) of a layer's token matrix X (T, d), or their mean
// over the batch for a (B, T, d) tensor. Read-outs in double, not recorded.
//   relative_residual:       ||X - 1 mean_rows(X)||_F / ||X||_F   0 when every token is the same
//   mean_cosine_similarity:  the mean over pairs i != j of cos(x_i, x_j)   1 when collapsed
// A zero matrix has residual 0; a zero row has cosine 0 with every other row.
#pragma once
#include "autograd/tensor.h"

namespace dl {

double relative_residual(const Tensor& x);
double mean_cosine_similarity(const Tensor& x);  // needs T >= 2

}  // namespace dl
