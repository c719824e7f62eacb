#include "ops/gpam_attention.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/blas.h"
#include "ops/elementwise.h"
#include "ops/loops.h"
#include "ops/sdpa.h"

namespace dl {

static void check_mix(const char* op, const Tensor& P1, const Tensor& P2, const std::vector<double>& a,
                      const std::vector<double>& b) {
  DL_CHECK((P1.dim() == 4 && P1.shape() == P2.shape() && P1.dtype() == P2.dtype() &&
            P1.is_contiguous() && P2.is_contiguous() && static_cast<int64_t>(a.size()) == P1.size(1) &&
            a.size() == b.size()),
           op, "expected contiguous P1, P2 (B, H, T, S) of one shape and H coefficients, got " +
                   P1.str() + ", " + P2.str() + " and " + std::to_string(a.size()));
}

Tensor mix_probs(const Tensor& P1, const Tensor& P2, const std::vector<double>& a,
                 const std::vector<double>& b) {
  check_mix("mix_probs", P1, P2, a, b);
  const int64_t H = P1.size(1), n = P1.size(2) * P1.size(3);  // n: entries of one (T, S) matrix
  Tensor A = Tensor::uninitialized(P1.shape(), P1.dtype());    // (B, H, T, S)
  dispatch_float(P1, "mix_probs", [&](auto zero) {
    using T = decltype(zero);
    const T *p1 = P1.data<T>(), *p2 = P2.data<T>();
    T* pa = A.data<T>();
    parallel_for(0, P1.size(0) * H, grain_for(n), [&](int64_t bh0, int64_t bh1) {
      for (int64_t bh = bh0; bh < bh1; ++bh) {
        const T ca = static_cast<T>(a[bh % H]), cb = static_cast<T>(b[bh % H]);
        chunk_map(n, pa + bh * n, [ca, cb](T x, T y) { return ca * x - cb * y; }, p1 + bh * n, p2 + bh * n);
      }
    });
  });
  return A;
}

void mix_probs_backward(const Tensor& dA, const Tensor& P1, const Tensor& P2,
                        const std::vector<double>& a, const std::vector<double>& b, Tensor& dP1,
                        Tensor& dP2, std::vector<double>& s1, std::vector<double>& s2) {
  check_mix("mix_probs_backward", P1, P2, a, b);
  DL_CHECK(dA.shape() == P1.shape() && dA.is_contiguous(), "mix_probs_backward",
           "dA " + dA.str() + " must match P1 " + P1.str());
  const int64_t H = P1.size(1), BH = P1.size(0) * H, n = P1.size(2) * P1.size(3);
  dP1 = Tensor::uninitialized(P1.shape(), P1.dtype());  // (B, H, T, S)
  dP2 = Tensor::uninitialized(P1.shape(), P1.dtype());  // (B, H, T, S)
  // one partial sum per (b, h), added over b afterwards in a fixed order (determinism)
  std::vector<double> part1(BH), part2(BH);
  dispatch_float(P1, "mix_probs_backward", [&](auto zero) {
    using T = decltype(zero);
    const T *pg = dA.data<T>(), *p1 = P1.data<T>(), *p2 = P2.data<T>();
    T *d1 = dP1.data<T>(), *d2 = dP2.data<T>();
    parallel_for(0, BH, grain_for(2 * n), [&](int64_t bh0, int64_t bh1) {
      for (int64_t bh = bh0; bh < bh1; ++bh) {
        const T ca = static_cast<T>(a[bh % H]), cb = static_cast<T>(b[bh % H]);
        double acc1 = 0, acc2 = 0;
        for (int64_t i = bh * n; i < (bh + 1) * n; ++i) {
          d1[i] = ca * pg[i];
          d2[i] = -cb * pg[i];
          acc1 += static_cast<double>(pg[i]) * p1[i];
          acc2 += static_cast<double>(pg[i]) * p2[i];
        }
        part1[bh] = acc1;
        part2[bh] = acc2;
      }
    });
  });
  s1.assign(H, 0.0);
  s2.assign(H, 0.0);
  for (int64_t bh = 0; bh < BH; ++bh) {
    s1[bh % H] += part1[bh];
    s2[bh % H] += part2[bh];
  }
}

// x (B, H, T, dh) times w^h or (w^h)^T per head, w (H, dh, dh): (B, H, T, dh).
static Tensor per_head_matmul(const Tensor& x, const Tensor& w, bool trans_w) {
  const int64_t H = x.size(1), T_ = x.size(2), dh = x.size(3);
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());  // (B, H, T, dh)
  dispatch_float(x, "gpam_attention", [&](auto zero) {
    using T = decltype(zero);
    const T *px = x.data<T>(), *pw = w.data<T>();
    T* po = out.data<T>();
    parallel_for(0, x.size(0) * H, grain_for(T_ * dh * dh), [&](int64_t bh0, int64_t bh1) {
      for (int64_t bh = bh0; bh < bh1; ++bh)
        gemm<T>(false, trans_w, T_, dh, dh, T(1), px + bh * T_ * dh, dh, pw + (bh % H) * dh * dh, dh,
                T(0), po + bh * T_ * dh, dh);
    });
  });
  return out;
}

// dW^h = sum_b x[b, h]^T g[b, h]: (H, dh, dh); the sum over b runs in order, per head.
static Tensor per_head_weight_grad(const Tensor& x, const Tensor& g) {
  const int64_t B = x.size(0), H = x.size(1), T_ = x.size(2), dh = x.size(3);
  Tensor dw = Tensor::empty({H, dh, dh}, x.dtype());  // (H, dh, dh)
  dispatch_float(x, "gpam_attention", [&](auto zero) {
    using T = decltype(zero);
    const T *px = x.data<T>(), *pg = g.data<T>();
    T* pdw = dw.data<T>();
    parallel_for(0, H, 1, [&](int64_t h0, int64_t h1) {
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t b = 0; b < B; ++b) {
          const int64_t at = (b * H + h) * T_ * dh;
          gemm<T>(true, false, dh, dh, T_, T(1), px + at, dh, pg + at, dh, T(b == 0 ? 0 : 1),
                  pdw + h * dh * dh, dh);
        }
    });
  });
  return dw;
}

static Tensor relu_kernel(const Tensor& x) {
  Tensor out = Tensor::uninitialized(x.shape(), x.dtype());
  dispatch_float(x, "gpam_attention", [&](auto zero) {
    using T = decltype(zero);
    map_dense_arrays(x.numel(), out.data<T>(), [](T v) { return v > 0 ? v : T(0); }, x.data<T>());
  });
  return out;
}

template <class T>
static void add_relu_grad_chunk(int64_t n, T* __restrict dq, const T* __restrict q, const T* __restrict dR) {
  for (int64_t i = 0; i < n; ++i) dq[i] += q[i] > 0 ? dR[i] : T(0);
}

// dq += dR * [q > 0], in place on the fresh gradient dq.
static void add_relu_grad(const Tensor& dq, const Tensor& q, const Tensor& dR) {
  dispatch_float(q, "gpam_attention", [&](auto zero) {
    using T = decltype(zero);
    const T *pq = q.data<T>(), *pr = dR.data<T>();
    T* pd = dq.data<T>();
    parallel_for(0, q.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
      add_relu_grad_chunk(i1 - i0, pd + i0, pq + i0, pr + i0);
    });
  });
}

void check_gpam_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg,
                       const Tensor& lam, const AttentionMask& mask) {
  check_attention_inputs(op, q, k, v, mask);
  const int64_t H = q.size(1), dh = q.size(3);
  DL_CHECK((wneg.shape() == Shape{H, dh, dh} && lam.shape() == Shape{H} && wneg.dtype() == q.dtype() &&
            lam.dtype() == q.dtype()),
           op, "expected wneg (H, dh, dh) = " + shape_str({H, dh, dh}) + " and lam (H) = " + shape_str({H}) +
                   " of q's dtype for q " + q.str() + ", got wneg " + wneg.str() + " and lam " + lam.str());
}

std::vector<double> gpam_positive_coefficients(const std::vector<double>& lam) {
  std::vector<double> a(lam.size());
  for (size_t h = 0; h < lam.size(); ++h) a[h] = 1.0 + lam[h];
  return a;
}

Tensor gpam_lam_grad(const std::vector<double>& s1, const std::vector<double>& s2, DType dtype) {
  std::vector<double> d(s1.size());
  for (size_t h = 0; h < s1.size(); ++h) d[h] = s1[h] - s2[h];
  return Tensor::from_vector(d, {static_cast<int64_t>(d.size())}, dtype);
}

Tensor gpam_negative_query(const Tensor& q, const Tensor& wneg, Tensor& R) {
  R = relu_kernel(q);                     // (B, H, T, dh)
  return per_head_matmul(R, wneg, false);  // (B, H, T, dh)
}

void gpam_negative_query_backward(const Tensor& dQn, const Tensor& q, const Tensor& R, const Tensor& wneg,
                                  Tensor* dq, Tensor* dw) {
  if (dq) add_relu_grad(*dq, q, per_head_matmul(dQn, wneg, true));
  if (dw) *dw = per_head_weight_grad(R, dQn);
}

Tensor gpam_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                      const Tensor& wneg_in, const Tensor& lam_in, const AttentionMask& mask,
                      Tensor* probs) {
  const char* op = "gpam_attention";
  check_gpam_inputs(op, q_in, k_in, v_in, wneg_in, lam_in, mask);
  const int64_t dh = q_in.size(3);
  Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  Tensor wneg = wneg_in.contiguous(), lam_t = lam_in.contiguous();
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  const std::vector<double> lam = lam_t.to_vector();
  const std::vector<double> a = gpam_positive_coefficients(lam);

  Tensor R;
  Tensor Qn = gpam_negative_query(q, wneg, R);       // (B, H, T, dh)
  Tensor Ap = attention_probs(q, k, mask, scale);    // (B, H, T, S)
  Tensor An = attention_probs(Qn, k, mask, scale);   // (B, H, T, S)
  Tensor A = mix_probs(Ap, An, a, lam);              // (B, H, T, S)
  Tensor out = attention_values(A, v);               // (B, H, T, dv)
  if (probs) *probs = A;

  Tensor qs = q.detach(), ks = k.detach(), vs = v.detach(), ws = wneg.detach();
  return record(op, out, {q, k, v, wneg, lam_t},
                [qs, ks, vs, ws, R, Qn, Ap, An, A, a, lam, scale](const Tensor& g, const Needs& needs) {
    Tensor dq, dk, dv, dw, dlam, dA, dAp, dAn, dQn, dk_n;
    attention_values_backward(g, A, vs, &dA, needs[2] ? &dv : nullptr);
    std::vector<double> s1, s2;
    mix_probs_backward(dA, Ap, An, a, lam, dAp, dAn, s1, s2);
    attention_probs_backward(dAp, Ap, qs, ks, scale, dq, dk);
    attention_probs_backward(dAn, An, Qn, ks, scale, dQn, dk_n);
    dk = add(dk, dk_n);
    gpam_negative_query_backward(dQn, qs, R, ws, needs[0] ? &dq : nullptr, needs[3] ? &dw : nullptr);
    if (needs[4]) dlam = gpam_lam_grad(s1, s2, qs.dtype());
    return Grads{dq, dk, dv, dw, dlam};
  });
}

}  // namespace dl
