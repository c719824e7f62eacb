#include "ops/norm.h"

#include <algorithm>
#include <cmath>
#include <string>
#include "autograd/graph.h"
#include "ops/loops.h"

namespace dl {

namespace {

void check_param(const char* op, const Tensor& x, const Tensor& p, const char* name) {
  if (!p.defined()) return;
  DL_CHECK(p.dim() == 1 && p.size(0) == x.size(-1) && p.dtype() == x.dtype(), op,
           std::string(name) + " must be " + dtype_name(x.dtype()) + "(" + std::to_string(x.size(-1)) +
               ") for x " + x.str() + ", got " + p.str());
}

// Rows per task, and per partial sum of the weight and bias gradients: depends on C only.
int64_t row_grain(int64_t C) { return std::max<int64_t>(1, kElementGrain / std::max<int64_t>(1, C)); }

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// layer_norm and rms_norm share one kernel: rms_norm is layer_norm without centring (mu = 0, and
// no mean(dxhat) term in the backward) and without a bias.
Tensor normalize(const char* op, bool center, const Tensor& x_in, const Tensor& w_in,
                 const Tensor& b_in, double eps) {
  DL_CHECK(x_in.dim() >= 1 && is_floating(x_in.dtype()), op,
           "needs a float tensor of rank 1 or more, got " + x_in.str());
  check_param(op, x_in, w_in, "weight");
  check_param(op, x_in, b_in, "bias");
  DL_CHECK(eps > 0, op, "eps must be positive, got " + std::to_string(eps));
  Tensor x = x_in.contiguous();
  Tensor w = w_in.defined() ? w_in.contiguous() : Tensor(), b = b_in.defined() ? b_in.contiguous() : Tensor();
  const int64_t C = x.size(-1), R = C ? x.numel() / C : 0;
  Tensor y = Tensor::uninitialized(x.shape(), x.dtype());                   // (..., C)
  Tensor mean = center ? Tensor::uninitialized({R}, x.dtype()) : Tensor();  // (R); rms_norm has none
  Tensor rstd = Tensor::uninitialized({R}, x.dtype());                      // (R), 1 / sqrt(var + eps)
  dispatch_float(x, op, [&](auto zero) {
    using T = decltype(zero);
    const T *px = x.data<T>(), *pw = data_or_null<T>(w), *pb = data_or_null<T>(b);
    T *py = y.data<T>(), *pm = center ? mean.data<T>() : nullptr, *pr = rstd.data<T>();
    parallel_for(0, R, row_grain(C), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * C;
        T* yr = py + r * C;
        const T mu = center ? lane_sum<T>(C, [&](int64_t c) { return xr[c]; }) / C : T(0);
        const T ss = lane_sum<T>(C, [&](int64_t c) { return (xr[c] - mu) * (xr[c] - mu); });
        const T rs = T(1) / std::sqrt(ss / C + T(eps));
        for (int64_t c = 0; c < C; ++c) {
          const T xhat = (xr[c] - mu) * rs;
          yr[c] = (pw ? xhat * pw[c] : xhat) + (pb ? pb[c] : T(0));
        }
        if (pm) pm[r] = mu;
        pr[r] = rs;
      }
    });
  });

  // x is held by the Node anyway; the row statistics are all the backward adds
  Tensor xs = x.detach(), ws = w.defined() ? w.detach() : Tensor();
  return record(op, y, {x, w, b}, [op, center, xs, ws, mean, rstd](const Tensor& g, const Needs& needs) {
    const int64_t C = xs.size(-1), R = C ? xs.numel() / C : 0, grain = row_grain(C);
    const int64_t blocks = (R + grain - 1) / grain;
    const bool affine = needs[1] || needs[2];
    Tensor dx = needs[0] ? Tensor::uninitialized(xs.shape(), xs.dtype()) : Tensor();  // (..., C)
    Tensor part = Tensor::empty({affine ? blocks : 0, 2, C}, xs.dtype());     // (blocks, 2, C)
    Tensor dw = needs[1] ? Tensor::empty({C}, xs.dtype()) : Tensor();          // (C)
    Tensor db = needs[2] ? Tensor::empty({C}, xs.dtype()) : Tensor();          // (C)
    dispatch_float(xs, op, [&](auto zero) {
      using T = decltype(zero);
      const T *px = xs.data<T>(), *pw = data_or_null<T>(ws), *pg = g.data<T>();
      const T *pm = center ? mean.data<T>() : nullptr, *pr = rstd.data<T>();
      T *pdx = needs[0] ? dx.data<T>() : nullptr, *pp = part.data<T>();
      // each block of `grain` rows sums its own share of dw and db into part[block]
      parallel_for(0, R, grain, [&](int64_t r0, int64_t r1) {
        T* pdw = affine ? pp + (r0 / grain) * 2 * C : nullptr;  // this block's dw row; db follows
        for (int64_t r = r0; r < r1; ++r) {
          const T *xr = px + r * C, *gr = pg + r * C;
          const T mu = pm ? pm[r] : T(0), rs = pr[r];
          auto xhat = [&](int64_t c) { return (xr[c] - mu) * rs; };
          auto dxhat = [&](int64_t c) { return pw ? gr[c] * pw[c] : gr[c]; };
          if (pdw)
            for (int64_t c = 0; c < C; ++c) {
              pdw[c] += gr[c] * xhat(c);
              pdw[C + c] += gr[c];
            }
          if (!pdx) continue;
          // the row means of dxhat and of dxhat * xhat
          const T m1 = center ? lane_sum<T>(C, dxhat) / C : T(0);
          const T m2 = lane_sum<T>(C, [&](int64_t c) { return dxhat(c) * xhat(c); }) / C;
          for (int64_t c = 0; c < C; ++c) pdx[r * C + c] = (dxhat(c) - m1 - xhat(c) * m2) * rs;
        }
      });
      // combine the block sums in block order: the result does not depend on the thread count
      auto column_sum = [&](int64_t c) {
        T s = 0;
        for (int64_t k = 0; k < blocks; ++k) s += pp[k * 2 * C + c];
        return s;
      };
      if (needs[1]) map_dense(C, dw.data<T>(), column_sum);
      if (needs[2]) map_dense(C, db.data<T>(), [&](int64_t c) { return column_sum(C + c); });
    });
    return Grads{dx, dw, db};
  });
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  return normalize("layer_norm", true, x, weight, bias, eps);
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  return normalize("rms_norm", false, x, weight, Tensor(), eps);
}

}  // namespace dl
