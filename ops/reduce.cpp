#include "ops/reduce.h"

#include <cmath>
#include <limits>
#include <utility>
#include "autograd/graph.h"
#include "ops/elementwise.h"
#include "ops/loops.h"

namespace dl {

// Flags for the reduced axes of x (all of them when axes is empty); rejects bad and repeated axes.
static std::vector<bool> reduced_axes(const char* op, const Tensor& x, const std::vector<int64_t>& axes) {
  const int64_t nd = x.dim();
  std::vector<bool> reduced(nd, axes.empty());
  for (int64_t a : axes) {
    DL_CHECK(a >= -nd && a < nd, op, "axis " + std::to_string(a) + " out of range for " + x.str());
    const int64_t d = a < 0 ? a + nd : a;
    DL_CHECK(!reduced[d], op, "axis " + std::to_string(a) + " given twice for " + x.str());
    reduced[d] = true;
  }
  return reduced;
}

// sum_d k_d * strides[d] for every index k of dims, in row-major order.
static std::vector<int64_t> offsets_of(const Shape& dims, const Shape& strides) {
  std::vector<int64_t> off{0};
  for (size_t d = 0; d < dims.size(); ++d) {
    std::vector<int64_t> next;
    next.reserve(off.size() * dims[d]);
    for (int64_t o : off)
      for (int64_t k = 0; k < dims[d]; ++k) next.push_back(o + k * strides[d]);
    off.swap(next);
  }
  return off;
}

// How a reduction walks a contiguous x. Output element o = m * inner + i combines the elements
// x[base[m] + roff[q] + k * inner + i] over q and k (k along the last reduced axis, q over the
// others). inner spans the kept axes after the last reduced one, so the innermost loop is
// unit-stride whether the reduced axes lead (a block of outputs at a time) or trail (one output).
struct ReducePlan {
  Shape out_shape;
  Shape grad_strides;  // strides reading an output-shaped gradient as x's shape (0 on reduced axes)
  int64_t inner = 1, steps = 1;
  std::vector<int64_t> base;  // (M) offsets of the kept axes before the last reduced one
  std::vector<int64_t> roff;  // (Q) offsets of the reduced axes before the last one
  int64_t count() const { return static_cast<int64_t>(roff.size()) * steps; }
};

static ReducePlan make_plan(const Shape& shape, const std::vector<bool>& reduced, bool keepdim) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const Shape strides = contiguous_strides(shape);
  int64_t last = nd - 1;
  while (last >= 0 && !reduced[last]) --last;
  ReducePlan p;
  Shape keep_shape, outer, outer_strides, red, red_strides;
  for (int64_t d = 0; d < nd; ++d) {
    keep_shape.push_back(reduced[d] ? 1 : shape[d]);
    if (!reduced[d] || keepdim) p.out_shape.push_back(keep_shape.back());
    if (d > last) {
      p.inner *= shape[d];
    } else if (d == last) {
      p.steps = shape[d];
    } else if (reduced[d]) {
      red.push_back(shape[d]);
      red_strides.push_back(strides[d]);
    } else {
      outer.push_back(shape[d]);
      outer_strides.push_back(strides[d]);
    }
  }
  p.grad_strides = contiguous_strides(keep_shape);
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d]) p.grad_strides[d] = 0;
  p.base = offsets_of(outer, outer_strides);
  p.roff = offsets_of(red, red_strides);
  return p;
}

// For every output o: a = init, then a = step(a, v, r) over its elements v in a fixed order
// (r = their position among the reduced elements, ascending), then emit(o, a). Parallel over
// blocks of outputs only, so the result never depends on the thread count.
template <class A, class T, class Step, class Emit>
static void reduce_kernel(const ReducePlan& p, const T* x, A init, Step step, Emit emit) {
  constexpr int64_t kBlock = 256;  // outputs along inner per task
  const int64_t M = static_cast<int64_t>(p.base.size()), Q = static_cast<int64_t>(p.roff.size());
  const int64_t K = p.steps, inner = p.inner, blocks = (inner + kBlock - 1) / kBlock;
  const int64_t work = std::max<int64_t>(1, p.count() * std::min(inner, kBlock));
  parallel_for(0, M * blocks, std::max<int64_t>(1, kElementGrain / work), [&](int64_t t0, int64_t t1) {
    std::vector<A> acc(kBlock);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t m = t / blocks, i0 = t % blocks * kBlock, n = std::min(inner - i0, kBlock);
      const T* xm = x + p.base[m] + i0;
      if (n == 1) {  // one output (the reduced axes trail): a local accumulator stays in a register
        A a = init;
        for (int64_t q = 0; q < Q; ++q)
          for (int64_t k = 0; k < K; ++k) a = step(a, xm[p.roff[q] + k * inner], q * K + k);
        emit(m * inner + i0, a);
        continue;
      }
      std::fill(acc.begin(), acc.begin() + n, init);
      for (int64_t q = 0; q < Q; ++q)
        for (int64_t k = 0; k < K; ++k) {
          const T* xr = xm + p.roff[q] + k * inner;
          for (int64_t i = 0; i < n; ++i) acc[i] = step(acc[i], xr[i], q * K + k);
        }
      for (int64_t i = 0; i < n; ++i) emit(m * inner + i0 + i, acc[i]);
    }
  });
}

// sum, or mean (divided by the count): the same walk, the output and the gradient divided.
// float sums accumulate in double, which keeps long sums accurate in one fixed order.
static Tensor sum_divided(const char* op, const Tensor& x_in, const std::vector<int64_t>& axes,
                          bool keepdim, bool average) {
  Tensor x = x_in.contiguous();
  const ReducePlan p = make_plan(x.shape(), reduced_axes(op, x, axes), keepdim);
  const double divisor = average ? static_cast<double>(p.count()) : 1.0;
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  dispatch_float(x, op, [&](auto zero) {
    using T = decltype(zero);
    T* po = out.data<T>();
    reduce_kernel(p, x.data<T>(), 0.0, [](double a, T v, int64_t) { return a + v; },
                  [&](int64_t o, double a) { po[o] = static_cast<T>(a / divisor); });
  });
  const Shape shape = x.shape(), gs = p.grad_strides;
  return record(op, out, {x}, [shape, gs, divisor, op](const Tensor& g, const Needs&) {
    Tensor dx = Tensor::empty(shape, g.dtype());
    dispatch_float(g, op, [&](auto zero) {
      using T = decltype(zero);
      const T* pg = g.data<T>();
      T* pd = dx.data<T>();
      broadcast_loop(shape, gs, gs, [&](int64_t i, int64_t og, int64_t) { pd[i] = static_cast<T>(pg[og] / divisor); });
    });
    return Grads{dx};
  });
}

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  return sum_divided("sum", x, axes, keepdim, false);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  return sum_divided("mean", x, axes, keepdim, true);
}

Tensor max(const Tensor& x_in, int64_t axis, bool keepdim) {
  Tensor x = x_in.contiguous();
  const ReducePlan p = make_plan(x.shape(), reduced_axes("max", x, {axis}), keepdim);
  DL_CHECK(p.count() > 0, "max", "axis " + std::to_string(axis) + " of " + x.str() + " is empty");
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  Tensor arg = Tensor::empty(p.out_shape, DType::I32);  // position of the first maximum
  dispatch_float(x, "max", [&](auto zero) {
    using T = decltype(zero);
    using A = std::pair<T, int64_t>;  // (max so far, its position)
    T* po = out.data<T>();
    int32_t* pa = arg.data<int32_t>();
    // strict > keeps the first of equal maxima; a NaN wins, as in PyTorch
    reduce_kernel(p, x.data<T>(), A{-std::numeric_limits<T>::infinity(), 0},
                  [](const A& a, T v, int64_t r) {
                    return v > a.first || (std::isnan(v) && !std::isnan(a.first)) ? A{v, r} : a;
                  },
                  [&](int64_t o, const A& a) {
                    po[o] = a.first;
                    pa[o] = static_cast<int32_t>(a.second);
                  });
  });
  // element i of x lies at position (i / stride) % size along the axis
  const Shape shape = x.shape(), gs = p.grad_strides;
  const int64_t stride = p.inner, size = p.steps;
  return record("max", out, {x}, [shape, gs, stride, size, arg](const Tensor& g, const Needs&) {
    Tensor dx = Tensor::empty(shape, g.dtype());
    dispatch_float(g, "max", [&](auto zero) {
      using T = decltype(zero);
      const T* pg = g.data<T>();
      const int32_t* pa = arg.data<int32_t>();
      T* pd = dx.data<T>();
      broadcast_loop(shape, gs, gs, [&](int64_t i, int64_t og, int64_t) {
        pd[i] = i / stride % size == pa[og] ? pg[og] : T(0);
      });
    });
    return Grads{dx};
  });
}

// Composed from recorded ops, so autograd derives the backward. The path through the mean adds
// -mean(2 (x - mean) g) / (n - correction) = 0 (deviations sum to zero), leaving the header's formula.
Tensor var(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim, int64_t correction) {
  DL_CHECK(is_floating(x.dtype()), "var", "expected a float tensor, got " + x.str());
  const std::vector<bool> reduced = reduced_axes("var", x, axes);
  int64_t n = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (reduced[d]) n *= x.size(d);
  DL_CHECK(n > correction, "var", "needs more than " + std::to_string(correction) +
                                      " elements per output, got " + std::to_string(n) + " for " + x.str());
  Tensor d = x - mean(x, axes, true);
  return sum(d * d, axes, keepdim) / static_cast<double>(n - correction);
}

}  // namespace dl
