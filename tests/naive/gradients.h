// How a fused op is checked against its naive reference (tests/naive/attention.h): the same
// inputs through both; the outputs must agree, and so must the gradient of every input that
// requires grad, for one random output weighting w.
//
// The reference's gradient is the central finite difference, in float64, of <w, naive(x)>:
//     d<w, naive>/dx_k ~ (<w, naive(x + eps e_k)> - <w, naive(x - eps e_k)>) / (2 eps)
// Finite differences rather than a second, hand-written backward: the reference then needs only
// its forward formula, which is short enough to check by reading, and cannot repeat a mistake
// of the fused op's derivation. At test sizes (a few hundred inputs) it costs milliseconds. Its
// error is about eps^2 (truncation) plus 1e-16 / eps (rounding) relative: near 1e-10, far below
// the 1e-6 the comparison allows and far above nothing a real bug would produce.
#pragma once
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>
#include "autograd/gradcheck.h"
#include "autograd/graph.h"
#include "autograd/random.h"

namespace dl::naive {

struct Agreement {
  double forward = 0;   // largest |fused - naive| over the outputs
  double gradient = 0;  // largest |fused - naive| / (1 + |naive|) over every input's gradient
  std::string worst;    // where the largest gradient difference is
};

inline Agreement compare_with_naive(const TensorFn& fused, const TensorFn& naive,
                                    const std::vector<Tensor>& inputs, uint64_t seed = 99,
                                    double eps = 1e-6) {
  Agreement a;
  for (const Tensor& x : inputs) x.zero_grad();
  Tensor y = fused(inputs);
  Generator gen(seed);
  const std::vector<double> w = randn(y.shape(), gen, 0.0, 1.0, DType::F64).to_vector();
  y.backward(Tensor::from_vector(w, y.shape(), y.dtype()));

  NoGradGuard no_grad;
  auto weighted = [&] {
    const std::vector<double> out = naive(inputs).to_vector();
    double s = 0;
    for (size_t e = 0; e < out.size(); ++e) s += w[e] * out[e];
    return s;
  };
  const std::vector<double> yf = y.to_vector(), yn = naive(inputs).to_vector();
  for (size_t e = 0; e < yf.size(); ++e) {
    const double d = std::fabs(yf[e] - yn[e]);
    if (!(d <= a.forward)) a.forward = d;  // a NaN becomes the difference
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.requires_grad()) continue;
    const std::vector<double> g = x.grad().defined() ? x.grad().to_vector() : std::vector<double>(x.numel(), 0.0);
    double* px = x.data<double>();  // a contiguous float64 leaf, perturbed in place
    for (int64_t k = 0; k < x.numel(); ++k) {
      const double orig = px[k];
      px[k] = orig + eps;
      const double plus = weighted();
      px[k] = orig - eps;
      const double minus = weighted();
      px[k] = orig;
      const double numeric = (plus - minus) / (2 * eps);
      const double d = std::fabs(g[k] - numeric) / (1 + std::fabs(numeric));
      if (!(d <= a.gradient)) {
        a.gradient = d;
        std::ostringstream os;
        os << "input " << i << " element " << k << ": fused " << g[k] << ", naive " << numeric;
        a.worst = os.str();
      }
    }
  }
  return a;
}

}  // namespace dl::naive

// The fused op and its naive reference agree: outputs within 1e-12, every gradient within 1e-6.
#define REQUIRE_EQUALS_NAIVE(fused, naive_fn, inputs)                          \
  do {                                                                       \
    ::dl::naive::Agreement agreement_ = ::dl::naive::compare_with_naive((fused), (naive_fn), (inputs)); \
    INFO("forward differs by " << agreement_.forward << "; worst gradient " << agreement_.worst); \
    REQUIRE(agreement_.forward < 1e-12);                                     \
    REQUIRE(agreement_.gradient < 1e-6);                                     \
  } while (0)
