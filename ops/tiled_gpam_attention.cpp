#include "ops/tiled_gpam_attention.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/elementwise.h"
#include "ops/gpam_attention.h"

namespace dl {

Tensor tiled_gpam_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Tensor& wneg_in,
                            const Tensor& lam_in, const AttentionMask& mask, Tensor* probs, int64_t tile) {
  const char* op = "tiled_gpam_attention";
  check_gpam_inputs(op, q_in, k_in, v_in, wneg_in, lam_in, mask);
  DL_CHECK(tile > 0, op, "tile size must be positive, got " + std::to_string(tile));
  Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  Tensor wneg = wneg_in.contiguous(), lam_t = lam_in.contiguous();
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  const std::vector<double> lam = lam_t.to_vector();
  const std::vector<double> a = gpam_positive_coefficients(lam);

  Tensor R, Op, Lp, On, Ln;
  Tensor Qn = gpam_negative_query(q, wneg, R);            // (B, H, T, dh)
  tiled_attention_forward(q, k, v, mask, scale, tile, Op, Lp);   // (B, H, T, dv), (B, H, T)
  tiled_attention_forward(Qn, k, v, mask, scale, tile, On, Ln);  // (B, H, T, dv), (B, H, T)
  Tensor out = mix_probs(Op, On, a, lam);                  // (B, H, T, dv)
  if (probs)
    *probs = attention_maps_wanted()
                 ? mix_probs(attention_probs(q, k, mask, scale), attention_probs(Qn, k, mask, scale), a, lam)
                 : Tensor();

  Tensor qs = q.detach(), ks = k.detach(), vs = v.detach(), ws = wneg.detach();
  return record(op, out, {q, k, v, wneg, lam_t},
                [qs, ks, vs, ws, R, Qn, Op, Lp, On, Ln, a, lam, mask, scale, tile](const Tensor& g, const Needs& needs) {
    Tensor dq, dk, dv, dw, dlam, dOp, dOn, dQn, dk_n, dv_n;
    std::vector<double> s1, s2;
    mix_probs_backward(g, Op, On, a, lam, dOp, dOn, s1, s2);
    tiled_attention_backward(dOp, qs, ks, vs, Op, Lp, mask, scale, tile, &dq, &dk, needs[2] ? &dv : nullptr);
    tiled_attention_backward(dOn, Qn, ks, vs, On, Ln, mask, scale, tile, &dQn, &dk_n, needs[2] ? &dv_n : nullptr);
    dk = add(dk, dk_n);
    if (needs[2]) dv = add(dv, dv_n);
    gpam_negative_query_backward(dQn, qs, R, ws, needs[0] ? &dq : nullptr, needs[3] ? &dw : nullptr);
    if (needs[4]) dlam = gpam_lam_grad(s1, s2, qs.dtype());  // dO/dlam_h = Op - On
    return Grads{dq, dk, dv, dw, dlam};
  });
}

}  // namespace dl
