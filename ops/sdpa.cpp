#include "ops/sdpa.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/blas.h"

namespace dl {

void check_attention_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                            const AttentionMask& mask) {
  DL_CHECK((q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && k.size(0) == q.size(0) &&
            k.size(1) == q.size(1) && k.size(3) == q.size(3) && v.size(0) == q.size(0) &&
            v.size(1) == q.size(1) && v.size(2) == k.size(2)),
           op, "expected q (B, H, T, dh), k (B, H, S, dh), v (B, H, S, dv), got q " + q.str() +
                   ", k " + k.str() + ", v " + v.str());
  DL_CHECK(q.dtype() == k.dtype() && k.dtype() == v.dtype() && is_floating(q.dtype()), op,
           "q, k, v must share one float dtype, got " + q.str() + ", " + k.str() + ", " + v.str());
  mask.check(op, q.size(0), k.size(2));
}

static void check_values(const char* op, const Tensor& A, const Tensor& v) {
  DL_CHECK((A.dim() == 4 && v.dim() == 4 && A.size(0) == v.size(0) && A.size(1) == v.size(1) &&
            A.size(3) == v.size(2) && A.dtype() == v.dtype() && A.is_contiguous() && v.is_contiguous()),
           op, "expected contiguous A (B, H, T, S) and v (B, H, S, dv), got " + A.str() + " and " + v.str());
}

Tensor attention_values(const Tensor& A, const Tensor& v) {
  check_values("attention_values", A, v);
  const int64_t BH = v.size(0) * v.size(1), T_ = A.size(2), S = v.size(2), dv = v.size(3);
  Tensor out = Tensor::uninitialized({v.size(0), v.size(1), T_, dv}, v.dtype());  // (B, H, T, dv)
  dispatch_float(v, "attention_values", [&](auto zero) {
    using T = decltype(zero);
    batched_gemm<T>(BH, false, false, T_, dv, S, T(1), A.data<T>(), S, T_ * S, v.data<T>(), dv,
                    S * dv, T(0), out.data<T>(), dv, T_ * dv);
  });
  return out;
}

void attention_values_backward(const Tensor& dO, const Tensor& A, const Tensor& v, Tensor* grad_A,
                               Tensor* grad_v) {
  check_values("attention_values_backward", A, v);
  const int64_t BH = v.size(0) * v.size(1), T_ = A.size(2), S = v.size(2), dv = v.size(3);
  DL_CHECK((dO.shape() == Shape{v.size(0), v.size(1), T_, dv} && dO.is_contiguous()),
           "attention_values_backward", "dO " + dO.str() + " does not match A " + A.str() + " V " + v.str());
  dispatch_float(v, "attention_values_backward", [&](auto zero) {
    using T = decltype(zero);
    if (grad_A) {
      *grad_A = Tensor::uninitialized(A.shape(), A.dtype());  // (B, H, T, S) = dO V^T
      batched_gemm<T>(BH, false, true, T_, S, dv, T(1), dO.data<T>(), dv, T_ * dv, v.data<T>(), dv,
                      S * dv, T(0), grad_A->data<T>(), S, T_ * S);
    }
    if (grad_v) {
      *grad_v = Tensor::uninitialized(v.shape(), v.dtype());  // (B, H, S, dv) = A^T dO
      batched_gemm<T>(BH, true, false, S, dv, T_, T(1), A.data<T>(), S, T_ * S, dO.data<T>(), dv,
                      T_ * dv, T(0), grad_v->data<T>(), dv, S * dv);
    }
  });
}

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                    const AttentionMask& mask, Tensor* probs) {
  const char* op = "scaled_dot_product_attention";
  check_attention_inputs(op, q_in, k_in, v_in, mask);
  Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  Tensor P = attention_probs(q, k, mask, scale);  // (B, H, T, S)
  Tensor out = attention_values(P, v);             // (B, H, T, dh)
  if (probs) *probs = P;
  Tensor qs = q.detach(), ks = k.detach(), vs = v.detach();
  return record(op, out, {q, k, v}, [qs, ks, vs, P, scale](const Tensor& g, const Needs& needs) {
    Tensor dP, dq, dk, dv;
    const bool need_qk = needs[0] || needs[1];
    attention_values_backward(g, P, vs, need_qk ? &dP : nullptr, needs[2] ? &dv : nullptr);
    if (need_qk) attention_probs_backward(dP, P, qs, ks, scale, dq, dk);
    return Grads{dq, dk, dv};
  });
}

}  // namespace dl
