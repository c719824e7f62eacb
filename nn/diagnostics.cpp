#include "nn/diagnostics.h"

#include <cmath>
#include <vector>

namespace dl {

// f(X, T, d) for every (T, d) matrix X of x (read as doubles), averaged over the batch.
template <class F>
static double mean_over_batch(const char* op, const Tensor& x, int64_t min_rows, F f) {
  DL_CHECK((x.dim() == 2 || x.dim() == 3) && is_floating(x.dtype()) && x.size(-2) >= min_rows, op,
           "expected a float X (T, d) or (B, T, d) with T >= " + std::to_string(min_rows) + ", got " + x.str());
  const int64_t B = x.dim() == 3 ? x.size(0) : 1, T = x.size(-2), d = x.size(-1);
  const std::vector<double> v = x.to_vector();
  double total = 0;
  for (int64_t b = 0; b < B; ++b) total += f(v.data() + b * T * d, T, d);
  return total / static_cast<double>(B);
}

double relative_residual(const Tensor& x) {
  return mean_over_batch("relative_residual", x, 1, [](const double* X, int64_t T, int64_t d) {
    std::vector<double> mean(d, 0.0);  // (d)
    for (int64_t i = 0; i < T; ++i)
      for (int64_t c = 0; c < d; ++c) mean[c] += X[i * d + c] / static_cast<double>(T);
    double residual = 0, norm = 0;
    for (int64_t i = 0; i < T; ++i)
      for (int64_t c = 0; c < d; ++c) {
        const double e = X[i * d + c];
        residual += (e - mean[c]) * (e - mean[c]);
        norm += e * e;
      }
    return norm == 0 ? 0.0 : std::sqrt(residual / norm);  // a NaN anywhere stays NaN
  });
}

double mean_cosine_similarity(const Tensor& x) {
  return mean_over_batch("mean_cosine_similarity", x, 2, [](const double* X, int64_t T, int64_t d) {
    std::vector<double> norm(T, 0.0);  // (T)
    for (int64_t i = 0; i < T; ++i)
      for (int64_t c = 0; c < d; ++c) norm[i] += X[i * d + c] * X[i * d + c];
    for (double& n : norm) n = std::sqrt(n);
    double total = 0;
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = i + 1; j < T; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += X[i * d + c] * X[j * d + c];
        if (norm[i] != 0 && norm[j] != 0) total += dot / (norm[i] * norm[j]);  // NaN stays NaN
      }
    return total / static_cast<double>(T * (T - 1) / 2);  // cos is symmetric: pairs i < j suffice
  });
}

}  // namespace dl
