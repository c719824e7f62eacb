// Loop skeletons shared by the elementwise kernels (internal to ops/).
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include "autograd/parallel.h"
#include "autograd/tensor.h"

namespace dl {

// Items per task for a parallel loop whose items cost about `work` multiply-adds each (per-head
// products, per-query rows): at least kTaskWork a task, so tiny items (size S) are not one task
// each. A function of the sizes only, like every chunking here.
constexpr int64_t kTaskWork = 1 << 16;
inline int64_t grain_for(int64_t work) { return std::max<int64_t>(1, kTaskWork / std::max<int64_t>(1, work)); }

// Visit every element of `shape` in row-major order as f(i, offset_a, offset_b), where the
// offsets follow strides sa and sb (0 on broadcast axes). Rows (the last axis) run in sequence.
template <class F>
void broadcast_rows(const Shape& shape, const Shape& sa, const Shape& sb, int64_t row0,
                    int64_t row1, F&& f) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t inner = nd ? shape[nd - 1] : 1;
  const int64_t ia = nd ? sa[nd - 1] : 0, ib = nd ? sb[nd - 1] : 0;
  for (int64_t r = row0; r < row1; ++r) {
    int64_t oa = 0, ob = 0, rest = r;
    for (int64_t d = nd - 2; d >= 0; --d) {
      const int64_t k = rest % shape[d];
      rest /= shape[d];
      oa += k * sa[d];
      ob += k * sb[d];
    }
    for (int64_t j = 0; j < inner; ++j) f(r * inner + j, oa + j * ia, ob + j * ib);
  }
}

template <class F>
void broadcast_loop_serial(const Shape& shape, const Shape& sa, const Shape& sb, F&& f) {
  const int64_t inner = shape.empty() ? 1 : shape.back();
  if (inner == 0) return;
  broadcast_rows(shape, sa, sb, 0, shape_numel(shape) / inner, f);
}

// As broadcast_loop_serial, with rows spread over the thread pool; f must write only to element i.
template <class F>
void broadcast_loop(const Shape& shape, const Shape& sa, const Shape& sb, F&& f) {
  const int64_t inner = shape.empty() ? 1 : shape.back();
  if (inner == 0) return;
  const int64_t rows = shape_numel(shape) / inner;
  const int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(inner, 1));
  parallel_for(0, rows, grain, [&](int64_t r0, int64_t r1) { broadcast_rows(shape, sa, sb, r0, r1, f); });
}

// sum of f(j) over j in [0, n) as kLanes interleaved running sums, added up in lane order at the
// end: a single running sum is a chain of dependent adds that the compiler must keep in order,
// lanes vectorize. The order of the additions depends on n only. lane_max is the same for the
// largest f(j) (-inf for n = 0; a NaN f(j) is skipped, as std::max skips it).
constexpr int64_t kLanes = 8;
template <class T, class F, class Op>
T lane_fold(int64_t n, T init, F&& f, Op op) {
  T lane[kLanes];
  std::fill(lane, lane + kLanes, init);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lane[k] = op(lane[k], f(j + k));
  for (int64_t k = 0; j + k < n; ++k) lane[k] = op(lane[k], f(j + k));
  T total = init;
  for (int64_t k = 0; k < kLanes; ++k) total = op(total, lane[k]);
  return total;
}
template <class T, class F>
T lane_sum(int64_t n, F&& f) {
  return lane_fold<T>(n, T(0), f, [](T a, T b) { return a + b; });
}
template <class T, class F>
T lane_max(int64_t n, F&& f) {
  return lane_fold<T>(n, -std::numeric_limits<T>::infinity(), f, [](T a, T b) { return std::max(a, b); });
}

// out[i] = f(i) over a dense range, in parallel chunks.
template <class T, class F>
void map_dense(int64_t n, T* out, F&& f) {
  parallel_for(0, n, kElementGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = f(i);
  });
}

// out[i] = f(a[i], b[i], ...) over dense arrays, in parallel chunks. Each chunk's loop gets the
// arrays as restrict parameters: through pointers captured by reference (map_dense) GCC versions
// a long body (erf, exp) on an alias test and ran the scalar copy, 10x slower.
template <class T, class F, class... In>
void chunk_map(int64_t n, T* __restrict out, F f, const In* __restrict... in) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(f(in[i]...));
}

template <class T, class F, class... In>
void map_dense_arrays(int64_t n, T* out, F f, const In*... in) {
  parallel_for(0, n, kElementGrain, [&](int64_t i0, int64_t i1) {
    chunk_map(i1 - i0, out + i0, f, (in + i0)...);
  });
}

}  // namespace dl
