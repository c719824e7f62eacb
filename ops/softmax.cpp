#include "ops/softmax.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/broadcast.h"
#include "ops/fast_math.h"
#include "ops/loops.h"
#include "ops/softmax_row.h"

namespace dl {

// The mask as dense bools of x's shape (undefined when there is no mask), so row kernels can
// index it like x and log_softmax's backward can keep it.
static Tensor dense_mask(const char* op, const Tensor& x, const Tensor& mask) {
  if (!mask.defined()) return Tensor();
  DL_CHECK(mask.dtype() == DType::Bool, op, "mask must be bool, got " + mask.str() + " for x " + x.str());
  const Shape sm = broadcast_strides(mask, x.shape(), op);
  if (mask.shape() == x.shape() && mask.is_contiguous()) return mask;
  Tensor dense = Tensor::empty(x.shape(), DType::Bool);
  const bool* pm = mask.data<bool>();
  bool* pd = dense.data<bool>();
  broadcast_loop(x.shape(), sm, sm, [&](int64_t i, int64_t im, int64_t) { pd[i] = pm[im]; });
  return dense;
}

// f(o) for the start o of every row (last axis, length C) of a dense tensor of shape, in parallel.
template <class F>
static void for_each_row(const Shape& shape, F&& f) {
  const int64_t C = std::max<int64_t>(shape.back(), 1);
  parallel_for(0, shape_numel(shape) / C, std::max<int64_t>(1, kElementGrain / C), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) f(r * C);
  });
}

// f(kept) with kept(i) = !excluded[i], or kept(i) = true when there is no mask: the rows of an
// unmasked softmax then run loops without a per-entry test, which vectorize (speed only: the
// test of a null mask inside the loop is control flow GCC leaves scalar without AVX-512).
template <class F>
static void with_kept(const bool* excluded, F&& f) {
  if (excluded) f([excluded](int64_t i) { return !excluded[i]; });
  else f([](int64_t) { return true; });
}

// softmax (or log-softmax when take_log) of every row; the row rules are in ops/softmax_row.h.
static Tensor softmax_forward(const char* op, const Tensor& x, const Tensor& excluded, bool take_log) {
  const int64_t C = x.size(-1);
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  dispatch_float(x, op, [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    const bool* pe = excluded.defined() ? excluded.data<bool>() : nullptr;
    T* po = out.data<T>();
    with_kept(pe, [&](auto kept) {
      for_each_row(x.shape(), [&](int64_t o) {
        softmax_row(px + o, C, [&](int64_t j) { return kept(o + j); }, take_log, po + o);
      });
    });
  });
  return out;
}

static void check_logits(const char* op, const Tensor& x) {
  DL_CHECK(x.dim() >= 1 && is_floating(x.dtype()), op, "expected float logits (..., C), got " + x.str());
}

Tensor softmax(const Tensor& x_in, const Tensor& mask) {
  check_logits("softmax", x_in);
  Tensor x = x_in.contiguous();
  Tensor p = softmax_forward("softmax", x, dense_mask("softmax", x, mask), false);
  // excluded entries have p = 0, so dx = p (g - rowsum(g p)) is 0 there without the mask
  return record("softmax", p, {x}, [ps = p.detach()](const Tensor& g, const Needs&) {
    Tensor dx = Tensor::uninitialized(ps.shape(), ps.dtype());
    const int64_t C = ps.size(-1);
    dispatch_float(ps, "softmax", [&](auto zero) {
      using T = decltype(zero);
      const T *pp = ps.data<T>(), *pg = g.data<T>();
      T* pd = dx.data<T>();
      for_each_row(ps.shape(), [&](int64_t o) { softmax_row_backward(pp + o, pg + o, C, pd + o); });
    });
    return Grads{dx};
  });
}

Tensor log_softmax(const Tensor& x_in, const Tensor& mask) {
  check_logits("log_softmax", x_in);
  Tensor x = x_in.contiguous();
  Tensor excluded = dense_mask("log_softmax", x, mask);
  Tensor l = softmax_forward("log_softmax", x, excluded, true);
  // dx = g - p rowsum(g) over kept entries only; excluded entries and empty rows get 0
  return record("log_softmax", l, {x}, [ls = l.detach(), excluded](const Tensor& g, const Needs&) {
    Tensor dx = Tensor::uninitialized(ls.shape(), ls.dtype());
    const int64_t C = ls.size(-1);
    dispatch_float(ls, "log_softmax", [&](auto zero) {
      using T = decltype(zero);
      const T *pl = ls.data<T>(), *pg = g.data<T>();
      const bool* pe = excluded.defined() ? excluded.data<bool>() : nullptr;
      T* pd = dx.data<T>();
      with_kept(pe, [&](auto kept) {
        for_each_row(ls.shape(), [&](int64_t o) {
          const T total = lane_sum<T>(C, [&](int64_t j) { return kept(o + j) ? pg[o + j] : T(0); });
          for (int64_t j = o; j < o + C; ++j) pd[j] = kept(j) ? pg[j] - fast_exp(pl[j]) * total : T(0);
        });
      });
    });
    return Grads{dx};
  });
}

}  // namespace dl
