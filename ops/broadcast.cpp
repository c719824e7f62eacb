#include "ops/broadcast.h"

#include "ops/loops.h"

namespace dl {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    DL_CHECK(da == db || da == 1 || db == 1, op,
             "shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Tensor& t, const Shape& shape, const char* op) {
  DL_CHECK(t.shape().size() <= shape.size(), op,
           "cannot broadcast " + shape_str(t.shape()) + " to " + shape_str(shape));
  const size_t lead = shape.size() - t.shape().size();
  Shape st(shape.size(), 0);
  for (size_t i = 0; i < t.shape().size(); ++i) {
    const int64_t d = t.shape()[i];
    DL_CHECK(d == shape[lead + i] || d == 1, op,
             "cannot broadcast " + shape_str(t.shape()) + " to " + shape_str(shape));
    st[lead + i] = d == 1 ? 0 : t.strides()[i];
  }
  return st;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  Tensor out = Tensor::zeros(shape, g.dtype());
  const Shape so = broadcast_strides(out, g.shape(), "sum_to");
  const Shape sg = g.strides();
  dispatch_float(g.dtype(), "sum_to", [&](auto zero) {
    using T = decltype(zero);
    const T* pg = g.data<T>();
    T* po = out.data<T>();
    // sequential: several gradient elements land on one output element
    broadcast_loop_serial(g.shape(), sg, so, [&](int64_t, int64_t og, int64_t oo) { po[oo] += pg[og]; });
  });
  return out;
}

}  // namespace dl
