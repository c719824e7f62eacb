#include "autograd/kernels.h"

#include "autograd/parallel.h"

namespace dl {

// out = a + b over dense, equal-shape tensors; out may be a.
static void add_dense(const Tensor& a, const Tensor& b, const Tensor& out) {
  DL_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), "gradient accumulation",
           "cannot add " + a.str() + " and " + b.str());
  const Tensor x = a.contiguous(), y = b.contiguous();
  dispatch_float(a, "gradient accumulation", [&](auto zero) {
    using T = decltype(zero);
    const T *px = x.data<T>(), *py = y.data<T>();
    T* po = out.data<T>();
    parallel_for(0, out.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) po[i] = px[i] + py[i];
    });
  });
}

Tensor add_kernel(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::uninitialized(a.shape(), a.dtype());
  add_dense(a, b, out);
  return out;
}

void add_into(const Tensor& acc, const Tensor& b) {
  DL_CHECK(acc.is_contiguous(), "gradient accumulation", "the sum " + acc.str() + " must be dense");
  add_dense(acc, b, acc);
}

}  // namespace dl
