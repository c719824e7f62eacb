#include "ops/loss.h"

#include <algorithm>
#include <cmath>
#include "autograd/graph.h"
#include "ops/fast_math.h"
#include "ops/loops.h"

namespace dl {

// The number of rows that count (target != ignore_index); throws for a target outside [0, C).
static int64_t count_targets(const Tensor& targets, int64_t C, int32_t ignore_index, const Tensor& logits) {
  const int32_t* pt = targets.data<int32_t>();
  int64_t n = 0;
  for (int64_t r = 0; r < targets.numel(); ++r) {
    if (pt[r] == ignore_index) continue;
    DL_CHECK(pt[r] >= 0 && pt[r] < C, "cross_entropy",
             "target " + std::to_string(pt[r]) + " at position " + std::to_string(r) +
                 " is out of range for " + std::to_string(C) + " classes of logits " + logits.str());
    ++n;
  }
  return n;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets_in, int32_t ignore_index) {
  DL_CHECK(logits.dim() >= 1 && logits.size(-1) > 0, "cross_entropy",
           "logits must be (..., C) with C > 0, got " + logits.str());
  const Shape rows_shape(logits.shape().begin(), logits.shape().end() - 1);  // (...)
  DL_CHECK(targets_in.dtype() == DType::I32 && targets_in.shape() == rows_shape, "cross_entropy",
           "targets must be int32 " + shape_str(rows_shape) + " for logits " + logits.str() + ", got " +
               targets_in.str());
  // z: (..., C), read as N rows of C
  const Tensor z = logits.detach().contiguous(), targets = targets_in.contiguous();
  const int64_t C = z.size(-1), N = targets.numel();
  const int64_t n = count_targets(targets, C, ignore_index, logits);
  Tensor lse = Tensor::uninitialized({N}, z.dtype());  // (N) log-sum-exp of each row
  Tensor loss = Tensor::uninitialized({}, z.dtype());
  dispatch_float(z, "cross_entropy", [&](auto zero) {
    using T = decltype(zero);
    const T* pz = z.data<T>();
    const int32_t* pt = targets.data<int32_t>();
    T* pl = lse.data<T>();
    std::vector<T> nll(N);  // (N) per-row loss, summed in order below for determinism
    parallel_for(0, N, std::max<int64_t>(1, kElementGrain / C), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = pz + r * C;
        const T mx = *std::max_element(row, row + C);  // shift so exp never overflows
        const T total = lane_sum<T>(C, [&](int64_t c) { return fast_exp(row[c] - mx); });
        pl[r] = mx + std::log(total);
        nll[r] = pt[r] == ignore_index ? T(0) : pl[r] - row[pt[r]];
      }
    });
    T sum = 0;
    for (T v : nll) sum += v;
    loss.data<T>()[0] = n ? sum / static_cast<T>(n) : T(0);
  });
  auto backward = [z, targets, lse, n, ignore_index](const Tensor& g, const Needs&) {
    Tensor dz = Tensor::zeros(z.shape(), z.dtype());  // (N, C)
    if (n == 0) return Grads{dz};
    dispatch_float(z, "cross_entropy", [&](auto zero) {
      using T = decltype(zero);
      const T *pz = z.data<T>(), *pl = lse.data<T>();
      const int32_t* pt = targets.data<int32_t>();
      const T scale = g.data<T>()[0] / static_cast<T>(n);
      T* pd = dz.data<T>();
      const int64_t C = z.size(-1);
      parallel_for(0, targets.numel(), std::max<int64_t>(1, kElementGrain / C), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          if (pt[r] == ignore_index) continue;
          for (int64_t c = 0; c < C; ++c) pd[r * C + c] = scale * fast_exp(pz[r * C + c] - pl[r]);  // exponent <= 0
          pd[r * C + pt[r]] -= scale;
        }
      });
    });
    return Grads{dz};
  };
  return record("cross_entropy", loss, {logits}, backward);
}

}  // namespace dl
