// Elementwise arithmetic with NumPy broadcasting, and the unary math functions.
//   z = a + b:  da = sum_to(g),        db = sum_to(g)
//   z = a - b:  da = sum_to(g),        db = -sum_to(g)
//   z = a * b:  da = sum_to(g * b),    db = sum_to(g * a)
//   z = a / b:  da = sum_to(g / b),    db = -sum_to(g * a / b^2)
//   exp: g * z   log: g / x   sqrt: g / (2 z)   pow(x, p): g * p x^(p-1)
//   abs: g * sign(x)   clamp(x, lo, hi): g where lo < x < hi, else 0   neg: -g
#pragma once
#include "autograd/tensor.h"

namespace dl {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor rdiv(double s, const Tensor& a);  // s / a
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor pow(const Tensor& a, double p);
Tensor abs(const Tensor& a);
Tensor clamp(const Tensor& a, double lo, double hi);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }

}  // namespace dl
