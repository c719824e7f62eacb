#include "ops/matmul.h"

#include <algorithm>
#include <string>
#include <utility>
#include "autograd/graph.h"
#include "ops/blas.h"
#include "ops/broadcast.h"
#include "ops/loops.h"

namespace dl {

namespace {

// One side of a product as BLAS reads it, in place: the matrix op(x) (rows x cols) of every batch
// item, stored row-major with leading dimension ld and transposed when trans is set.
struct Operand {
  Tensor t;  // detached; dense, or a transposed view of dense storage
  bool trans;
  int64_t rows, cols;
  int64_t ld;
  int64_t stride;  // elements between batch items; 0 for a 2-D matrix shared by the whole batch

  Operand T() const { return {t, !trans, cols, rows, ld, stride}; }
};

// True when x (..., R, C) is the transpose of the last two axes of a dense (..., C, R) tensor.
bool is_transposed_view(const Tensor& x) {
  Shape shape = x.shape(), strides = x.strides();
  const size_t n = shape.size();
  std::swap(shape[n - 1], shape[n - 2]);
  std::swap(strides[n - 1], strides[n - 2]);
  return !x.is_contiguous() && make_view(x, shape, strides, x.offset()).is_contiguous();
}

// op(x) = x, or x^T over the last two axes when trans; x is dense or a transposed view.
Operand operand(const Tensor& x, bool trans) {
  const int64_t R = x.size(-2), C = x.size(-1);
  const bool stored_t = !x.is_contiguous();  // memory holds x^T, (C, R) per item
  return {x.detach(), trans != stored_t, trans ? C : R, trans ? R : C,
          std::max<int64_t>(1, stored_t ? R : C), x.dim() > 2 ? R * C : 0};
}

// op(X) op(Y) for each item of the batch: (batch..., M, N); with sum_batch (both sides batched),
// the (M, N) sum over the batch items. Sums over the batch and products with a shared Y run as one
// gemm where the memory allows it.
Tensor product(const Operand& X, const Operand& Y, Shape batch_shape, bool sum_batch) {
  const int64_t M = X.rows, K = X.cols, N = Y.cols, batch = shape_numel(batch_shape);
  Shape shape = sum_batch ? Shape{M, N} : batch_shape;
  if (!sum_batch) shape.insert(shape.end(), {M, N});
  const bool accumulates = sum_batch && !(X.trans && !Y.trans);  // the loop below sums into C
  Tensor C = accumulates ? Tensor::empty(shape, X.t.dtype()) : Tensor::uninitialized(shape, X.t.dtype());
  dispatch_float(X.t, "matmul", [&](auto zero) {
    using T = decltype(zero);
    const T *x = X.t.data<T>(), *y = Y.t.data<T>();
    T* c = C.data<T>();
    if (sum_batch && X.trans && !Y.trans) {
      // sum_i X_i Y_i = [X_1 .. X_n] [Y_1; ..; Y_n]: the stored X_i^T and Y_i stack densely
      gemm<T>(true, false, M, N, batch * K, T(1), x, X.ld, y, Y.ld, T(0), c, N);
    } else if (accumulates) {
      for (int64_t i = 0; i < batch; ++i)  // in batch order, so the sum does not depend on threads
        gemm<T>(X.trans, Y.trans, M, N, K, T(1), x + i * X.stride, X.ld, y + i * Y.stride, Y.ld,
                T(1), c, N);
    } else if (Y.stride == 0 && X.stride != 0 && !X.trans) {
      // a shared Y: the dense batch of X is one tall (batch * M, K) matrix
      gemm<T>(false, Y.trans, batch * M, N, K, T(1), x, X.ld, y, Y.ld, T(0), c, N);
    } else {
      batched_gemm<T>(batch, X.trans, Y.trans, M, N, K, T(1), x, X.ld, X.stride, y, Y.ld, Y.stride,
                      T(0), c, N, M * N);
    }
  });
  return C;
}

std::string describe(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  return shape_str(a.shape()) + (trans_a ? "^T" : "") + " @ " + shape_str(b.shape()) + (trans_b ? "^T" : "");
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in, bool trans_a, bool trans_b) {
  auto shapes = [&] { return describe(a_in, b_in, trans_a, trans_b); };  // built only on failure
  DL_CHECK(a_in.dim() >= 2 && b_in.dim() >= 2, "matmul", "needs matrices of rank 2 or more: " + shapes());
  DL_CHECK(a_in.dtype() == b_in.dtype() && is_floating(a_in.dtype()), "matmul",
           "needs two float32 or two float64 tensors, got " + a_in.str() + " and " + b_in.str());
  const Shape batch_shape(a_in.shape().begin(), a_in.shape().end() - 2);
  DL_CHECK(b_in.dim() == 2 || Shape(b_in.shape().begin(), b_in.shape().end() - 2) == batch_shape,
           "matmul", "batch dimensions differ (b must match them or be 2-D): " + shapes());
  // a transposed view goes to BLAS as it is, with the transpose flag; other layouts are copied
  Tensor a = is_transposed_view(a_in) ? a_in : a_in.contiguous();
  Tensor b = is_transposed_view(b_in) ? b_in : b_in.contiguous();
  const Operand A = operand(a, trans_a), B = operand(b, trans_b);
  DL_CHECK(A.cols == B.rows, "matmul", "inner dimensions differ: " + shapes());

  Tensor out = product(A, B, batch_shape, false);
  const bool shared_b = b.dim() == 2 && !batch_shape.empty();  // one B for every batch item
  return record("matmul", out, {a, b}, [A, B, batch_shape, shared_b, trans_a, trans_b](const Tensor& g,
                                                                                        const Needs& needs) {
    const Operand G = operand(g, false);  // dC (batch..., M, N)
    Tensor da, db;
    // dA = dC op(B)^T, or its transpose op(B) dC^T when a entered transposed
    if (needs[0])
      da = trans_a ? product(B, G.T(), batch_shape, false) : product(G, B.T(), batch_shape, false);
    // dB = op(A)^T dC, or its transpose dC^T op(A); a shared B sums over the batch
    if (needs[1])
      db = trans_b ? product(G.T(), A, batch_shape, shared_b) : product(A.T(), G, batch_shape, shared_b);
    return Grads{da, db};
  });
}

Tensor linear(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in) {
  DL_CHECK((x_in.dim() >= 1 && w_in.dim() == 2 && b_in.dim() == 1 && w_in.size(1) == x_in.size(-1) &&
            b_in.size(0) == w_in.size(0) && x_in.dtype() == w_in.dtype() && w_in.dtype() == b_in.dtype() &&
            is_floating(x_in.dtype())),
           "linear", "expected float x (..., in), w (out, in) and b (out) of one dtype, got " + x_in.str() +
                         ", " + w_in.str() + " and " + b_in.str());
  const Tensor x = x_in.contiguous(), w = w_in.contiguous(), b = b_in.contiguous();
  const int64_t in = w.size(1), out = w.size(0), N = in ? x.numel() / in : 0;  // N rows of x
  Shape shape = x.shape();
  shape.back() = out;
  Tensor y = Tensor::uninitialized(shape, x.dtype());  // (..., out), seen as (N, out)
  dispatch_float(x, "linear", [&](auto zero) {
    using T = decltype(zero);
    const T* pb = b.data<T>();
    T* py = y.data<T>();
    parallel_for(0, N, std::max<int64_t>(1, kElementGrain / std::max<int64_t>(1, out)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::copy(pb, pb + out, py + r * out);
    });
    gemm<T>(false, true, N, out, in, T(1), x.data<T>(), in, w.data<T>(), in, T(1), py, out);
  });
  const Tensor xs = x.detach(), ws = w.detach();
  return record("linear", y, {x, w, b}, [xs, ws, N, in, out](const Tensor& g, const Needs& needs) {
    Tensor dx = needs[0] ? Tensor::uninitialized(xs.shape(), xs.dtype()) : Tensor();  // (..., in)
    Tensor dw = needs[1] ? Tensor::uninitialized(ws.shape(), ws.dtype()) : Tensor();  // (out, in)
    dispatch_float(g, "linear", [&](auto zero) {
      using T = decltype(zero);
      const T* pg = g.data<T>();
      if (needs[0]) gemm<T>(false, false, N, in, out, T(1), pg, out, ws.data<T>(), in, T(0), dx.data<T>(), in);
      if (needs[1]) gemm<T>(true, false, out, in, N, T(1), pg, out, xs.data<T>(), in, T(0), dw.data<T>(), in);
    });
    return Grads{dx, dw, needs[2] ? sum_to(g, {out}) : Tensor()};
  });
}

}  // namespace dl
