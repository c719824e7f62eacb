#include "ops/broadcast.h"

#include <algorithm>
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

bool is_trailing(const Shape& inner, const Shape& shape) {
  size_t lead = 0;
  while (lead < inner.size() && inner[lead] == 1) ++lead;
  const size_t n = inner.size() - lead;
  return n <= shape.size() && std::equal(inner.begin() + lead, inner.end(), shape.end() - n);
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  Tensor out = Tensor::zeros(shape, g.dtype());
  const Shape so = broadcast_strides(out, g.shape(), "sum_to");
  const Shape sg = g.strides();
  dispatch_float(g, "sum_to", [&](auto zero) {
    using T = decltype(zero);
    const T* pg = g.data<T>();
    T* po = out.data<T>();
    if (g.is_contiguous() && is_trailing(shape, g.shape())) {
      // column sums of g seen as (rows, n), each over the rows in order, columns in parallel
      const int64_t n = out.numel(), rows = g.numel() / std::max<int64_t>(n, 1);
      const int64_t grain = (std::max<int64_t>(1, kElementGrain / std::max<int64_t>(rows, 1)) + 15) / 16 * 16;
      parallel_for(0, n, grain, [&](int64_t j0, int64_t j1) {
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = j0; j < j1; ++j) po[j] += pg[r * n + j];
      });
      return;
    }
    // sequential: several gradient elements land on one output element
    broadcast_loop_serial(g.shape(), sg, so, [&](int64_t, int64_t og, int64_t oo) { po[oo] += pg[og]; });
  });
  return out;
}

}  // namespace dl
