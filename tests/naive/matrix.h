// The naive float64 backend of the test references: one type, a dense row-major matrix, and the
// few operations attention is written with, each a plain loop. Nothing here calls the library's
// kernels (no BLAS, no ops/, no shared row kernels), so a bug in those cannot reappear in a
// reference and cancel out: the references are the formulas, spelled out the slowest clear way.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace dl::naive {

struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;  // (rows, cols), row-major
  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), v(r * c, 0.0) {}
  double& operator()(int64_t i, int64_t j) { return v[i * cols + j]; }
  double operator()(int64_t i, int64_t j) const { return v[i * cols + j]; }
};

// (n, m) x (m, p) -> (n, p): c_ik = sum_j a_ij b_jk
inline Matrix matmul(const Matrix& a, const Matrix& b) {
  Matrix c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t k = 0; k < b.cols; ++k) {
      double s = 0;
      for (int64_t j = 0; j < a.cols; ++j) s += a(i, j) * b(j, k);
      c(i, k) = s;
    }
  return c;
}

inline Matrix transpose(const Matrix& a) {
  Matrix t(a.cols, a.rows);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
  return t;
}

// ca a + cb b, elementwise
inline Matrix combine(double ca, const Matrix& a, double cb, const Matrix& b) {
  Matrix c(a.rows, a.cols);
  for (size_t e = 0; e < c.v.size(); ++e) c.v[e] = ca * a.v[e] + cb * b.v[e];
  return c;
}

inline Matrix scaled(const Matrix& a, double s) { return combine(s, a, 0, a); }

inline Matrix relu(const Matrix& a) {
  Matrix r = a;
  for (double& x : r.v) x = x > 0 ? x : 0;
  return r;
}

// Softmax of each row over the entries not hidden (hidden is (rows, cols), true = left out).
// Hidden entries get 0. The row maximum is subtracted first, so no exponent is positive; a row
// with nothing visible, or whose visible scores are all -inf, has no finite maximum and is all
// zeros (it attends to nothing).
inline Matrix softmax_rows(const Matrix& s, const std::vector<bool>& hidden) {
  Matrix p(s.rows, s.cols);
  for (int64_t i = 0; i < s.rows; ++i) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < s.cols; ++j)
      if (!hidden[i * s.cols + j] && s(i, j) > mx) mx = s(i, j);
    if (!std::isfinite(mx)) continue;
    double total = 0;
    for (int64_t j = 0; j < s.cols; ++j)
      if (!hidden[i * s.cols + j]) total += p(i, j) = std::exp(s(i, j) - mx);
    for (int64_t j = 0; j < s.cols; ++j) p(i, j) /= total;
  }
  return p;
}

// x (n, in) through a Linear layer stored like PyTorch's: weight (out, in), bias (out) or none
inline Matrix linear(const Matrix& x, const Matrix& weight, const std::vector<double>& bias) {
  Matrix y = matmul(x, transpose(weight));
  for (int64_t i = 0; i < y.rows; ++i)
    for (int64_t o = 0; o < y.cols; ++o) y(i, o) += bias.empty() ? 0.0 : bias[o];
  return y;
}

}  // namespace dl::naive
