#include "ops/shape.h"

#include <cstring>
#include <numeric>
#include "autograd/graph.h"
#include "ops/broadcast.h"
#include "ops/loops.h"

namespace dl {

static int64_t norm_axis(const char* op, int64_t axis, const Tensor& x) {
  const int64_t n = x.dim();
  DL_CHECK(axis >= -n && axis < n, op, "axis " + std::to_string(axis) + " out of range for " + x.str());
  return axis < 0 ? axis + n : axis;
}

// Product of shape[begin, end).
static int64_t span(const Shape& s, int64_t begin, int64_t end) {
  int64_t n = 1;
  for (int64_t d = begin; d < end; ++d) n *= s[d];
  return n;
}

// Copies dense src, seen as (outer, n, inner) with n = its size along axis, into the entries
// [start, start + n) of that axis of dense dst, seen as (outer, N, inner). Any dtype (bytes).
static void copy_into_axis(const Tensor& src, const Tensor& dst, int64_t axis, int64_t start) {
  const Shape& s = src.shape();
  const int64_t outer = span(s, 0, axis), inner = span(s, axis + 1, src.dim());
  const int64_t row = s[axis] * inner, N = dst.shape()[axis];  // row: elements per outer index
  const size_t es = dtype_size(src.dtype());
  const char* ps = static_cast<const char*>(src.raw_data());
  char* pd = static_cast<char*>(dst.raw_data());
  const int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(row, 1));
  parallel_for(0, outer, grain, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      std::memcpy(pd + (o * N + start) * inner * es, ps + o * row * es, row * es);
  });
}

Tensor reshape(const Tensor& x, const Shape& shape_in) {
  Shape shape = shape_in;
  int64_t infer = -1, known = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      DL_CHECK(infer < 0, "reshape", "more than one -1 in " + shape_str(shape_in));
      infer = static_cast<int64_t>(d);
    } else {
      DL_CHECK(shape[d] >= 0, "reshape", "negative size in " + shape_str(shape_in));
      known *= shape[d];
    }
  }
  if (infer >= 0 && known > 0) shape[infer] = x.numel() / known;
  DL_CHECK((infer < 0 || known > 0) && shape_numel(shape) == x.numel(), "reshape",
           "cannot reshape " + x.str() + " to " + shape_str(shape_in));
  // A strided input is copied first; the copy is internal, so the tape keeps x as the input.
  const Tensor dense = x.is_contiguous() ? x : x.detach().contiguous();
  Tensor out = make_view(dense, shape, contiguous_strides(shape), dense.offset());
  const Shape in_shape = x.shape();
  return record("reshape", out, {x}, [in_shape](const Tensor& g, const Needs&) {
    return Grads{reshape(g, in_shape)};
  });
}

// order[i] is the input axis that becomes output axis i.
static Tensor permuted(const char* op, const Tensor& x, const std::vector<int64_t>& order_in) {
  const int64_t n = x.dim();
  DL_CHECK(static_cast<int64_t>(order_in.size()) == n, op,
           "order " + shape_str(order_in) + " does not list the " + std::to_string(n) + " axes of " + x.str());
  std::vector<int64_t> order(n), inverse(n, -1);
  Shape shape(n), strides(n);
  for (int64_t i = 0; i < n; ++i) {
    order[i] = norm_axis(op, order_in[i], x);
    DL_CHECK(inverse[order[i]] < 0, op, "axis repeated in order " + shape_str(order_in) + " for " + x.str());
    inverse[order[i]] = i;
    shape[i] = x.shape()[order[i]];
    strides[i] = x.strides()[order[i]];
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  return record(op, out, {x}, [inverse](const Tensor& g, const Needs&) { return Grads{permute(g, inverse)}; });
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) { return permuted("permute", x, order); }

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  std::vector<int64_t> order(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) order[i] = i;
  std::swap(order[norm_axis("transpose", axis0, x)], order[norm_axis("transpose", axis1, x)]);
  return permuted("transpose", x, order);
}

Tensor slice(const Tensor& x, int64_t axis_in, int64_t start, int64_t end) {
  const int64_t axis = norm_axis("slice", axis_in, x), n = x.shape()[axis];
  if (start < 0) start += n;
  if (end < 0) end += n;
  DL_CHECK(0 <= start && start <= end && end <= n, "slice",
           "range [" + std::to_string(start) + ", " + std::to_string(end) + ") out of bounds for axis " +
               std::to_string(axis) + " of " + x.str());
  Shape shape = x.shape();
  shape[axis] = end - start;
  Tensor out = make_view(x, shape, x.strides(), x.offset() + start * x.strides()[axis]);
  const Shape in_shape = x.shape();
  return record("slice", out, {x}, [in_shape, axis, start](const Tensor& g, const Needs&) {
    Tensor dx = Tensor::zeros(in_shape, g.dtype());
    copy_into_axis(g, dx, axis, start);
    return Grads{dx};
  });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis_in) {
  DL_CHECK(!xs.empty(), "concat", "needs at least one tensor");
  const Tensor& x0 = xs[0];
  const int64_t axis = norm_axis("concat", axis_in, x0);
  auto other_axes = [axis](const Tensor& t) { Shape s = t.shape(); s[axis] = 0; return s; };
  std::vector<int64_t> sizes;
  for (const Tensor& x : xs) {
    DL_CHECK(x.dim() == x0.dim() && x.dtype() == x0.dtype() && other_axes(x) == other_axes(x0), "concat",
             "cannot join " + x.str() + " to " + x0.str() + " along axis " + std::to_string(axis));
    sizes.push_back(x.shape()[axis]);
  }
  Shape shape = x0.shape();
  shape[axis] = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  Tensor out = Tensor::uninitialized(shape, x0.dtype());
  int64_t start = 0;
  for (size_t i = 0; i < xs.size(); start += sizes[i++])
    copy_into_axis(xs[i].detach().contiguous(), out, axis, start);
  return record("concat", out, xs, [sizes, axis](const Tensor& g, const Needs& needs) {
    Grads grads(sizes.size());
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); start += sizes[i++])
      if (needs[i]) grads[i] = slice(g, axis, start, start + sizes[i]);
    return grads;
  });
}

// Each piece is a slice, so its gradient lands in its own range of dx; the engine sums them.
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis_in) {
  const int64_t axis = norm_axis("split", axis_in, x);
  int64_t total = 0;
  for (int64_t s : sizes) {
    DL_CHECK(s >= 0, "split", "negative size in " + shape_str(sizes));
    total += s;
  }
  DL_CHECK(total == x.shape()[axis], "split",
           "sizes " + shape_str(sizes) + " do not sum to axis " + std::to_string(axis) + " of " + x.str());
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(slice(x, axis, start, start + s));
    start += s;
  }
  return pieces;
}

// The backward of index_select: zeros of in_shape, seen as (outer, A, inner), with g (outer, n,
// inner) added at the indexed entries of the axis, so repeated indices accumulate.
static Tensor index_add(const Tensor& g, const Tensor& index, const Shape& in_shape, int64_t axis) {
  const int64_t A = in_shape[axis], n = index.numel();
  const int64_t outer = span(in_shape, 0, axis), inner = span(in_shape, axis + 1, in_shape.size());
  const int32_t* idx = index.data<int32_t>();
  Tensor dx = Tensor::zeros(in_shape, g.dtype());
  dispatch_float(g, "index_select", [&](auto zero) {
    using T = decltype(zero);
    const T* pg = g.data<T>();
    T* pd = dx.data<T>();
    // Chunks are ranges of lanes (o, c); no two lanes share an output element and each sums
    // over i in order, so the result does not depend on the thread count.
    const int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(n, 1));
    parallel_for(0, outer * inner, grain, [&](int64_t l0, int64_t l1) {
      for (int64_t l = l0; l < l1;) {
        const int64_t o = l / inner, c0 = l % inner, c1 = std::min(inner, c0 + (l1 - l));
        for (int64_t i = 0; i < n; ++i) {
          const T* src = pg + (o * n + i) * inner;
          T* dst = pd + (o * A + idx[i]) * inner;
          for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
        }
        l += c1 - c0;
      }
    });
  });
  return dx;
}

Tensor index_select(const Tensor& x_in, int64_t axis_in, const Tensor& index_in) {
  const int64_t axis = norm_axis("index_select", axis_in, x_in), A = x_in.shape()[axis];
  DL_CHECK(index_in.dtype() == DType::I32 && index_in.dim() == 1, "index_select",
           "index must be int32 (n), got " + index_in.str() + " for " + x_in.str());
  const Tensor x = x_in.detach().contiguous(), index = index_in.contiguous();
  const int32_t* idx = index.data<int32_t>();
  const int64_t n = index.numel();
  for (int64_t i = 0; i < n; ++i)
    DL_CHECK(idx[i] >= 0 && idx[i] < A, "index_select",
             "index " + std::to_string(idx[i]) + " out of range for axis " + std::to_string(axis) +
                 " of " + x.str());
  const int64_t outer = span(x.shape(), 0, axis), inner = span(x.shape(), axis + 1, x.dim());
  Shape shape = x.shape();
  shape[axis] = n;
  Tensor out = Tensor::uninitialized(shape, x.dtype());  // (outer, n, inner)
  const size_t es = dtype_size(x.dtype());
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  const int64_t grain = std::max<int64_t>(1, kElementGrain / std::max<int64_t>(inner, 1));
  parallel_for(0, outer * n, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)  // r = o * n + i
      std::memcpy(po + r * inner * es, px + ((r / n) * A + idx[r % n]) * inner * es, inner * es);
  });
  const Shape in_shape = x.shape();
  return record("index_select", out, {x_in}, [index, in_shape, axis](const Tensor& g, const Needs&) {
    return Grads{index_add(g, index, in_shape, axis)};
  });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  DL_CHECK(mask.dtype() == DType::Bool, "masked_fill",
           "mask must be bool, got " + mask.str() + " for " + x.str());
  const Shape sm = broadcast_strides(mask, x.shape(), "masked_fill");
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x, "masked_fill", [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    const bool* pm = mask.data<bool>();
    T* po = out.data<T>();
    broadcast_loop(x.shape(), x.strides(), sm, [&](int64_t i, int64_t ix, int64_t im) {
      po[i] = pm[im] ? static_cast<T>(value) : px[ix];
    });
  });
  const Tensor ms = mask.detach();
  return record("masked_fill", out, {x}, [ms](const Tensor& g, const Needs&) {
    return Grads{masked_fill(g, ms, 0.0)};
  });
}

}  // namespace dl
