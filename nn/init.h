// Parameter initialisers, as in torch.nn.init. Each fills t in place, in row-major order, from gen
// (so a seed fixes every initial weight), and is not recorded on the tape.
//
// Fans follow PyTorch: for a weight of shape (out, in, k...), fan_in = in * prod(k) and
// fan_out = out * prod(k) (a Linear weight is (out, in)).
//   xavier_uniform:  U(-b, b),  b = gain * sqrt(6 / (fan_in + fan_out))
//   xavier_normal:   N(0, s),   s = gain * sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform: U(-b, b),  b = sqrt(2 / (1 + a^2)) * sqrt(3 / fan_in)
//   kaiming_normal:  N(0, s),   s = sqrt(2 / (1 + a^2)) / sqrt(fan_in)
// kaiming_uniform with a = sqrt(5) gives b = 1 / sqrt(fan_in): PyTorch's default Linear weight.
#pragma once
#include <utility>
#include "autograd/random.h"
#include "autograd/tensor.h"

namespace dl::init {

std::pair<int64_t, int64_t> fan_in_fan_out(const Shape& shape);  // needs at least 2 dims

void uniform_(const Tensor& t, Generator& gen, double lo = 0.0, double hi = 1.0);
void normal_(const Tensor& t, Generator& gen, double mean = 0.0, double stddev = 1.0);
void xavier_uniform_(const Tensor& t, Generator& gen, double gain = 1.0);
void xavier_normal_(const Tensor& t, Generator& gen, double gain = 1.0);
void kaiming_uniform_(const Tensor& t, Generator& gen, double a = 0.0);
void kaiming_normal_(const Tensor& t, Generator& gen, double a = 0.0);

}  // namespace dl::init
