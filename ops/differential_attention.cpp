#include "ops/differential_attention.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/gpam_attention.h"
#include "ops/sdpa.h"

namespace dl {

void check_differential_inputs(const char* op, const Tensor& q1, const Tensor& k1, const Tensor& q2,
                               const Tensor& k2, const Tensor& v, const Tensor& lam, const AttentionMask& mask) {
  check_attention_inputs(op, q1, k1, v, mask);
  DL_CHECK(q2.shape() == q1.shape() && k2.shape() == k1.shape() && q2.dtype() == q1.dtype() &&
               k2.dtype() == k1.dtype(),
           op, "q2 " + q2.str() + " and k2 " + k2.str() + " must match q1 " + q1.str() + " and k1 " + k1.str());
  DL_CHECK(lam.numel() == 1 && lam.dtype() == q1.dtype(), op,
           "lam must be one element of q's dtype, got " + lam.str() + " for q " + q1.str());
}

Tensor differential_attention(const Tensor& q1_in, const Tensor& k1_in, const Tensor& q2_in,
                              const Tensor& k2_in, const Tensor& v_in, const Tensor& lam_in,
                              const AttentionMask& mask, Tensor* probs) {
  const char* op = "differential_attention";
  check_differential_inputs(op, q1_in, k1_in, q2_in, k2_in, v_in, lam_in, mask);
  Tensor q1 = q1_in.contiguous(), k1 = k1_in.contiguous(), q2 = q2_in.contiguous();
  Tensor k2 = k2_in.contiguous(), v = v_in.contiguous();
  const int64_t H = q1.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q1.size(3)));
  const std::vector<double> ones(H, 1.0), lam(H, lam_in.item());  // A = 1 P1 - lam P2, every head

  Tensor P1 = attention_probs(q1, k1, mask, scale);  // (B, H, T, S)
  Tensor P2 = attention_probs(q2, k2, mask, scale);  // (B, H, T, S)
  Tensor A = mix_probs(P1, P2, ones, lam);           // (B, H, T, S)
  Tensor out = attention_values(A, v);               // (B, H, T, dv)
  if (probs) *probs = A;

  Tensor q1s = q1.detach(), k1s = k1.detach(), q2s = q2.detach(), k2s = k2.detach(), vs = v.detach();
  const Shape lam_shape = lam_in.shape();
  return record(op, out, {q1, k1, q2, k2, v, lam_in},
                [q1s, k1s, q2s, k2s, vs, P1, P2, A, ones, lam, lam_shape, scale](const Tensor& g,
                                                                                  const Needs& needs) {
    Tensor dq1, dk1, dq2, dk2, dv, dA, dP1, dP2;
    attention_values_backward(g, A, vs, &dA, needs[4] ? &dv : nullptr);
    std::vector<double> s1, s2;
    mix_probs_backward(dA, P1, P2, ones, lam, dP1, dP2, s1, s2);
    if (needs[0] || needs[1]) attention_probs_backward(dP1, P1, q1s, k1s, scale, dq1, dk1);
    if (needs[2] || needs[3]) attention_probs_backward(dP2, P2, q2s, k2s, scale, dq2, dk2);
    double dlam = 0;  // dA/dlam = -P2
    for (double s : s2) dlam -= s;
    return Grads{dq1, dk1, dq2, dk2, dv, Tensor::full(lam_shape, dlam, q1s.dtype())};
  });
}

}  // namespace dl
