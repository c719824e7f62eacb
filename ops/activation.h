// Activations, each y = f(x) elementwise with dx = g * f'(x):
//   relu     f = max(x, 0)                      f' = [x > 0]
//   gelu     f = x Phi(x)  (erf form)           f' = Phi(x) + x phi(x)
//            f = x/2 (1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3)  (tanh form)
//                                               f' = (1 + t)/2 + x/2 (1 - t^2) u'(x)
//   silu     f = x s(x)                         f' = s (1 + x (1 - s))
//   sigmoid  s = 1 / (1 + e^-x)                 f' = s (1 - s)
//   tanh     t                                  f' = 1 - t^2
#pragma once
#include "autograd/tensor.h"

namespace dl {

enum class GeluApprox { Erf, Tanh };

Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x, GeluApprox approx = GeluApprox::Erf);
Tensor silu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);

}  // namespace dl
