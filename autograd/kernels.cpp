#include "autograd/kernels.h"

#include "autograd/parallel.h"

namespace dl {

Tensor add_kernel(const Tensor& a, const Tensor& b) {
  DL_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), "gradient accumulation",
           "cannot add " + a.str() + " and " + b.str());
  Tensor x = a.contiguous(), y = b.contiguous();
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  dispatch_float(a.dtype(), "gradient accumulation", [&](auto zero) {
    using T = decltype(zero);
    const T *px = x.data<T>(), *py = y.data<T>();
    T* po = out.data<T>();
    parallel_for(0, out.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) po[i] = px[i] + py[i];
    });
  });
  return out;
}

}  // namespace dl
