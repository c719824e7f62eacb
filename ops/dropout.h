// Inverted dropout: in training, each element is kept with probability 1 - p and scaled by
// 1 / (1 - p), so eval mode is the identity. The keep mask is drawn from gen (seeded, drawn in
// row-major order, independent of the thread count) and reused by the backward: dx = g * mask.
#pragma once
#include "autograd/random.h"
#include "autograd/tensor.h"

namespace dl {

Tensor dropout(const Tensor& x, double p, Generator& gen, bool training);

}  // namespace dl
