// exp and erf for the float kernels as plain branch-free arithmetic, so that loops over them
// vectorize: libm's expf and erff are calls, which no compiler vectorizes. The double overloads
// are std::exp and std::erf, so float64 gradient checks see libm's precision.
//
//   fast_exp(float x), x <= 0:  e^x within 2 ulp; 0 below ln(FLT_MIN) (no subnormal results),
//                               NaN for NaN. Every caller's exponent is <= 0 by construction
//                               (softmax's x - max, the normal density's -x^2 / 2).
//   fast_erf(float x):          erf(x) within 3 ulp (1e-7 absolute).
//
// e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln(2) / 2; e^r is a polynomial, 2^n is built
// in the exponent bits. erf(x) = x P(x^2) for |x| < 0.93, else sign(x) (1 - e^Q(|x|)) with
// Q(t) ~ log erfc(t) up to t = 4, past which float erf is 1. The polynomials are minimax fits
// (reweighted least squares at Chebyshev nodes, in double) of degree 6, 5 and 8.
//
// The selects (the clamp, erf's two ranges) vectorize on AVX-512 with any flags, but on AVX2 or
// SSE only with -fno-trapping-math (the Makefile's CXXFLAGS say why); without it GCC leaves every
// loop over these functions scalar, 10-60x slower. bench_kernels shows which case a build is in.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace dl {

inline float fast_exp(float x) {
  constexpr float lo = -87.336544f;              // ln(FLT_MIN)
  // Every value below is computed for every x and the result is picked at the end, so that a
  // loop over fast_exp is straight-line code the compiler can vectorize.
  const bool normal = x >= lo, tiny = x < lo;    // both false for NaN
  const float xc = normal ? x : lo;
  const float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;  // adding 1.5 * 2^23 rounds
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;   // ln 2 in two parts, so r is exact
  const float p = 1.0f + r * (1.0f + r * (0.49999991f + r * (0.16666420f + r * (0.041668225f +
                  r * (0.0083748158f + r * 0.0013836776f)))));
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;     // 2^n, n in [-126, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float e = p * scale;
  return normal ? e : (tiny ? 0.0f : x);
}

inline float fast_erf(float x) {
  const float t = std::fabs(x), s = x * x;
  const float small = x * (1.1283791f + s * (-0.37612480f + s * (0.11281683f + s * (-0.026761713f +
                      s * (0.0049859309f + s * -0.00059536967f)))));
  const float u = std::min(t, 4.0f);
  const float q = 0.00029436508f + u * (-1.1301318f + u * (-0.63199472f + u * (-0.10992570f +
                  u * (0.026335822f + u * (-0.0047303773f + u * (0.00059073482f +
                  u * (-4.5356821e-05f + u * 1.6025991e-06f)))))));
  const float large = std::copysign(1.0f - fast_exp(q), x);
  return t < 0.93f ? small : large;
}

inline double fast_exp(double x) { return std::exp(x); }
inline double fast_erf(double x) { return std::erf(x); }

}  // namespace dl
