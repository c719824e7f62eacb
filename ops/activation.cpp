#include "ops/activation.h"

#include <cmath>
#include "ops/fast_math.h"
#include "ops/unary.h"

namespace dl {

constexpr double kInvSqrt2 = 0.70710678118654752440;     // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

// The scalar functions, templated so float stays float (std::erf(float) is erff).
// sigmoid through e = exp(-|x|) <= 1, which fast_exp takes and which never overflows:
// x >= 0: 1 / (1 + e),  x < 0: e / (1 + e)
template <class T> static T sigmoid_of(T x) {
  const T e = fast_exp(-std::fabs(x));
  return (x >= 0 ? T(1) : e) / (T(1) + e);
}
// (fast_erf and fast_exp vectorize for float and are libm's for double: ops/fast_math.h)
template <class T> static T normal_cdf(T x) { return T(0.5) * (T(1) + fast_erf(x * T(kInvSqrt2))); }
template <class T> static T normal_pdf(T x) { return T(kInvSqrt2Pi) * fast_exp(T(-0.5) * x * x); }

// u(x) of the tanh form, and that form's derivative
template <class T> static T gelu_u(T x) { return T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x); }
template <class T> static T gelu_tanh_grad(T x) {
  const T t = std::tanh(gelu_u(x));
  const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
  return (T(1) + t) / 2 + x / 2 * (T(1) - t * t) * du;
}

Tensor relu(const Tensor& x) {
  return map_unary("relu", x, [](auto v) { return v > 0 ? v : v * 0; },
                   [](auto v, auto, auto g) { return v > 0 ? g : g * 0; });
}

Tensor gelu(const Tensor& x, GeluApprox approx) {
  if (approx == GeluApprox::Tanh) {
    return map_unary("gelu", x, [](auto v) { return v / 2 * (1 + std::tanh(gelu_u(v))); },
                     [](auto v, auto, auto g) { return g * gelu_tanh_grad(v); });
  }
  return map_unary("gelu", x, [](auto v) { return v * normal_cdf(v); },
                   [](auto v, auto, auto g) { return g * (normal_cdf(v) + v * normal_pdf(v)); });
}

Tensor silu(const Tensor& x) {
  return map_unary("silu", x, [](auto v) { return v * sigmoid_of(v); },
                   [](auto v, auto, auto g) {
                     const auto s = sigmoid_of(v);
                     return g * s * (1 + v * (1 - s));
                   });
}

Tensor sigmoid(const Tensor& x) {
  return map_unary("sigmoid", x, [](auto v) { return sigmoid_of(v); },
                   [](auto, auto s, auto g) { return g * s * (1 - s); });
}

Tensor tanh(const Tensor& x) {
  return map_unary("tanh", x, [](auto v) { return std::tanh(v); },
                   [](auto, auto t, auto g) { return g * (1 - t * t); });
}

}  // namespace dl
