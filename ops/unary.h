// map_unary: the shared body of every elementwise op y = f(x) (math functions, activations,
// scalar arithmetic). fwd(x) gives y; bwd(x, y, g) gives dx. Both are generic lambdas so one
// definition serves float and double; the backward keeps only x and y (detached).
#pragma once
#include "autograd/graph.h"
#include "ops/loops.h"

namespace dl {

template <class Fwd, class Bwd>
Tensor map_unary(const char* op, const Tensor& x_in, Fwd fwd, Bwd bwd) {
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::uninitialized(x.shape(), x.dtype());
  dispatch_float(x, op, [&](auto zero) {
    using T = decltype(zero);
    map_dense_arrays(x.numel(), y.data<T>(), fwd, x.data<T>());
  });
  Tensor xs = x.detach(), ys = y.detach();
  return record(op, y, {x}, [xs, ys, bwd, op](const Tensor& g, const Needs&) {
    Tensor dx = Tensor::uninitialized(xs.shape(), xs.dtype());
    dispatch_float(xs, op, [&](auto zero) {
      using T = decltype(zero);
      map_dense_arrays(xs.numel(), dx.data<T>(), bwd,
                       xs.data<T>(), ys.data<T>(), g.data<T>());
    });
    return Grads{dx};
  });
}

}  // namespace dl
