#include "nn/init.h"

#include <cmath>
#include <vector>

namespace dl::init {

std::pair<int64_t, int64_t> fan_in_fan_out(const Shape& shape) {
  DL_CHECK(shape.size() >= 2, "init", "fan in and fan out need at least 2 dims, got " + shape_str(shape));
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

// Draws every element with draw() in row-major order and writes it into t.
template <class Draw>
static void fill(const Tensor& t, Draw&& draw) {
  DL_CHECK(is_floating(t.dtype()), "init", "can only fill a float tensor, got " + t.str());
  std::vector<double> v(t.numel());
  for (double& x : v) x = draw();
  Tensor(t).copy_(Tensor::from_vector(v, t.shape(), t.dtype()));
}

void uniform_(const Tensor& t, Generator& gen, double lo, double hi) {
  fill(t, [&] { return gen.uniform(lo, hi); });
}

void normal_(const Tensor& t, Generator& gen, double mean, double stddev) {
  fill(t, [&] { return mean + stddev * gen.normal(); });
}

void xavier_uniform_(const Tensor& t, Generator& gen, double gain) {
  auto [fan_in, fan_out] = fan_in_fan_out(t.shape());
  const double b = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(t, gen, -b, b);
}

void xavier_normal_(const Tensor& t, Generator& gen, double gain) {
  auto [fan_in, fan_out] = fan_in_fan_out(t.shape());
  normal_(t, gen, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

static double leaky_relu_gain(double a) { return std::sqrt(2.0 / (1.0 + a * a)); }

void kaiming_uniform_(const Tensor& t, Generator& gen, double a) {
  const double b = leaky_relu_gain(a) * std::sqrt(3.0 / static_cast<double>(fan_in_fan_out(t.shape()).first));
  uniform_(t, gen, -b, b);
}

void kaiming_normal_(const Tensor& t, Generator& gen, double a) {
  normal_(t, gen, 0.0, leaky_relu_gain(a) / std::sqrt(static_cast<double>(fan_in_fan_out(t.shape()).first)));
}

}  // namespace dl::init
