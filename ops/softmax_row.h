// The row kernels of softmax, shared by ops/softmax.cpp and every attention variant
// (ops/attention_probs.cpp), so the masking and stability rules live in one place (internal).
//   forward:  p_j = exp(x_j - max) / sum_k exp(x_k - max) over kept j; excluded j get 0 (or -inf
//             for log-softmax); a row with nothing kept is all zeros.
//   backward: dx_j = p_j (g_j - sum_k g_k p_k)
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include "ops/fast_math.h"
#include "ops/loops.h"

namespace dl {

// kept(j) says whether entry j takes part. out may alias x when !take_log.
template <class T, class Kept>
void softmax_row(const T* x, int64_t C, Kept kept, bool take_log, T* out) {
  const T inf = std::numeric_limits<T>::infinity();
  const T mx = lane_max<T>(C, [&](int64_t j) { return kept(j) ? x[j] : -inf; });
  if (mx == -inf) {
    std::fill(out, out + C, T(0));
    return;
  }
  // subtracting the row max keeps every exponent <= 0: no overflow (and fast_exp's domain)
  if (take_log) {
    const T total = lane_sum<T>(C, [&](int64_t j) { return kept(j) ? fast_exp(x[j] - mx) : T(0); });
    const T log_total = std::log(total);
    for (int64_t j = 0; j < C; ++j) out[j] = kept(j) ? x[j] - mx - log_total : -inf;
    return;
  }
  for (int64_t j = 0; j < C; ++j) out[j] = kept(j) ? fast_exp(x[j] - mx) : T(0);
  const T inv = T(1) / lane_sum<T>(C, [&](int64_t j) { return out[j]; });
  for (int64_t j = 0; j < C; ++j) out[j] *= inv;
}

// The same rule in place, for a row whose kept entries are its first n (a causal or unmasked
// attention row): no per-entry test, and one pointer, so the loops vectorize (through two
// pointers that may alias, GCC falls back to scalar code). Same sums as softmax_row: the lanes
// see the same entries, without the zeros.
template <class T>
void softmax_prefix_inplace(T* row, int64_t n, int64_t C) {
  const T inf = std::numeric_limits<T>::infinity();
  const T mx = lane_max<T>(n, [&](int64_t j) { return row[j]; });
  if (mx == -inf) n = 0;
  for (int64_t j = 0; j < n; ++j) row[j] = fast_exp(row[j] - mx);
  const T inv = n ? T(1) / lane_sum<T>(n, [&](int64_t j) { return row[j]; }) : T(0);
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  std::fill(row + n, row + C, T(0));
}

template <class T>
void softmax_row_backward(const T* p, const T* g, int64_t C, T* dx) {
  const T dot = lane_sum<T>(C, [&](int64_t j) { return g[j] * p[j]; });
  for (int64_t j = 0; j < C; ++j) dx[j] = p[j] * (g[j] - dot);
}

}  // namespace dl
