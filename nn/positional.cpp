#include "nn/positional.h"

#include <cmath>
#include <vector>
#include "nn/init.h"
#include "ops/ops.h"

namespace dl {

// x must be (..., T, d) with T <= max_len.
static void check_input(const Tensor& x, int64_t max_len, int64_t d, const char* op) {
  DL_CHECK(x.dim() >= 2 && x.size(-1) == d, op,
           "expected input (..., T, " + std::to_string(d) + "), got " + x.str());
  DL_CHECK(x.size(-2) <= max_len, op,
           "sequence length T = " + std::to_string(x.size(-2)) + " exceeds max_len = " +
               std::to_string(max_len) + " (input " + x.str() + ")");
}

SinusoidalPositionalEncoding::SinusoidalPositionalEncoding(int64_t max_len, int64_t d) {
  DL_CHECK(max_len > 0 && d > 0, "SinusoidalPositionalEncoding",
           "sizes must be positive, got max_len " + std::to_string(max_len) + ", d " + std::to_string(d));
  std::vector<double> pe(max_len * d);  // (max_len, d)
  for (int64_t pos = 0; pos < max_len; ++pos)
    for (int64_t j = 0; j < d; ++j) {
      const double angle = pos / std::pow(10000.0, static_cast<double>(j - j % 2) / d);
      pe[pos * d + j] = j % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  table_ = Tensor::from_vector(pe, {max_len, d}, DType::F64);
}

Tensor SinusoidalPositionalEncoding::encoding(int64_t T, DType dtype) const {
  DL_CHECK(T >= 0 && T <= table_.size(0), "SinusoidalPositionalEncoding",
           "sequence length T = " + std::to_string(T) + " exceeds max_len = " + std::to_string(table_.size(0)));
  return slice(table_, 0, 0, T).to(dtype);  // (T, d)
}

Tensor SinusoidalPositionalEncoding::forward(const Tensor& x) const {
  check_input(x, table_.size(0), table_.size(1), "SinusoidalPositionalEncoding");
  return x + encoding(x.size(-2), x.dtype());
}

LearnedPositionalEncoding::LearnedPositionalEncoding(int64_t max_len, int64_t d, Generator& gen, DType dtype) {
  DL_CHECK(max_len > 0 && d > 0, "LearnedPositionalEncoding",
           "sizes must be positive, got max_len " + std::to_string(max_len) + ", d " + std::to_string(d));
  weight = register_parameter("weight", Tensor::empty({max_len, d}, dtype));
  init::normal_(weight, gen);
}

Tensor LearnedPositionalEncoding::forward(const Tensor& x) const {
  check_input(x, weight.size(0), weight.size(1), "LearnedPositionalEncoding");
  return x + slice(weight, 0, 0, x.size(-2));  // (..., T, d) + (T, d)
}

}  // namespace dl
