#include "ops/elementwise.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/broadcast.h"
#include "ops/loops.h"
#include "ops/unary.h"

namespace dl {

// out = f(a, b) with broadcasting. Plain loops for a dense same-shape pair, and for a dense b
// repeated along a's leading axes (a bias row, a positional table).
template <class F>
static Tensor binary_forward(const char* op, const Tensor& a, const Tensor& b, F f) {
  DL_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch between " + a.str() + " and " + b.str());
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::uninitialized(shape, a.dtype());
  dispatch_float(a, op, [&](auto zero) {
    using T = decltype(zero);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* po = out.data<T>();
    const bool dense = a.is_contiguous() && b.is_contiguous();
    if (dense && a.shape() == b.shape()) {
      map_dense_arrays(out.numel(), po, f, pa, pb);
    } else if (dense && a.shape() == shape && is_trailing(b.shape(), shape) && b.numel() > 0) {
      const int64_t n = b.numel();
      parallel_for(0, out.numel() / n, std::max<int64_t>(1, kElementGrain / n), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) chunk_map(n, po + r * n, f, pa + r * n, pb);
      });
    } else {
      broadcast_loop(shape, broadcast_strides(a, shape, op), broadcast_strides(b, shape, op),
                     [&](int64_t i, int64_t ia, int64_t ib) { po[i] = f(pa[ia], pb[ib]); });
    }
  });
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("add", a, b, [](auto x, auto y) { return x + y; });
  Shape sa = a.shape(), sb = b.shape();
  return record("add", out, {a, b}, [sa, sb](const Tensor& g, const Needs&) {
    return Grads{sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("sub", a, b, [](auto x, auto y) { return x - y; });
  Shape sa = a.shape(), sb = b.shape();
  return record("sub", out, {a, b}, [sa, sb](const Tensor& g, const Needs& needs) {
    return Grads{sum_to(g, sa), needs[1] ? neg(sum_to(g, sb)) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("mul", a, b, [](auto x, auto y) { return x * y; });
  Tensor as = a.detach(), bs = b.detach();
  return record("mul", out, {a, b}, [as, bs](const Tensor& g, const Needs& needs) {
    return Grads{needs[0] ? sum_to(mul(g, bs), as.shape()) : Tensor(),
                 needs[1] ? sum_to(mul(g, as), bs.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("div", a, b, [](auto x, auto y) { return x / y; });
  Shape sa = a.shape();
  Tensor bs = b.detach(), outs = out.detach();
  return record("div", out, {a, b}, [sa, bs, outs](const Tensor& g, const Needs& needs) {
    // d(a/b)/db = -(a/b)/b, written with the saved output to avoid keeping a
    return Grads{needs[0] ? sum_to(div(g, bs), sa) : Tensor(),
                 needs[1] ? sum_to(neg(div(mul(g, outs), bs)), bs.shape()) : Tensor()};
  });
}

Tensor add(const Tensor& a, double s) {
  return map_unary("add_scalar", a, [s](auto x) { return x + s; }, [](auto, auto, auto g) { return g; });
}

Tensor mul(const Tensor& a, double s) {
  return map_unary("mul_scalar", a, [s](auto x) { return x * s; }, [s](auto, auto, auto g) { return g * s; });
}

Tensor rsub(double s, const Tensor& a) {
  return map_unary("rsub_scalar", a, [s](auto x) { return s - x; }, [](auto, auto, auto g) { return -g; });
}

Tensor rdiv(double s, const Tensor& a) {
  return map_unary("rdiv_scalar", a, [s](auto x) { return s / x; },
                   [](auto x, auto y, auto g) { return -g * y / x; });
}

Tensor neg(const Tensor& a) {
  return map_unary("neg", a, [](auto x) { return -x; }, [](auto, auto, auto g) { return -g; });
}

Tensor exp(const Tensor& a) {
  return map_unary("exp", a, [](auto x) { return std::exp(x); }, [](auto, auto y, auto g) { return g * y; });
}

Tensor log(const Tensor& a) {
  return map_unary("log", a, [](auto x) { return std::log(x); }, [](auto x, auto, auto g) { return g / x; });
}

Tensor sqrt(const Tensor& a) {
  return map_unary("sqrt", a, [](auto x) { return std::sqrt(x); },
                   [](auto, auto y, auto g) { return g / (2 * y); });
}

Tensor pow(const Tensor& a, double p) {
  return map_unary("pow", a, [p](auto x) { return std::pow(x, p); },
                   [p](auto x, auto, auto g) { return g * p * std::pow(x, p - 1); });
}

Tensor abs(const Tensor& a) {
  return map_unary("abs", a, [](auto x) { return std::fabs(x); },
                   [](auto x, auto, auto g) { return x > 0 ? g : (x < 0 ? -g : g * 0); });
}

Tensor clamp(const Tensor& a, double lo, double hi) {
  DL_CHECK(lo <= hi, "clamp", "lo " + std::to_string(lo) + " is above hi " + std::to_string(hi));
  return map_unary("clamp", a, [lo, hi](auto x) { return x < lo ? lo : (x > hi ? hi : x); },
                   [lo, hi](auto x, auto, auto g) { return (x >= lo && x <= hi) ? g : g * 0; });
}

}  // namespace dl
