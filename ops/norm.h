// Normalisation over the last axis (size C), fused with a hand-derived backward.
// layer_norm:  xhat = (x - mu) / sqrt(var + eps)  (biased var),  y = xhat * w + b
//   dxhat = g * w;  dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)
//   dw = sum over rows of g * xhat;  db = sum over rows of g
// rms_norm:    r = sqrt(mean(x^2) + eps),  y = x / r * w
//   dxn = g * w;  dx = (dxn - xn * mean(dxn * xn)) / r,  xn = x / r;  dw = sum of g * xn
// weight and bias are (C); either may be undefined (no affine term).
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps = 1e-6);

}  // namespace dl
