#include "ops/tiled_differential_attention.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/differential_attention.h"
#include "ops/elementwise.h"
#include "ops/gpam_attention.h"

namespace dl {

Tensor tiled_differential_attention(const Tensor& q1_in, const Tensor& k1_in, const Tensor& q2_in,
                                    const Tensor& k2_in, const Tensor& v_in, const Tensor& lam_in,
                                    const AttentionMask& mask, Tensor* probs, int64_t tile) {
  const char* op = "tiled_differential_attention";
  check_differential_inputs(op, q1_in, k1_in, q2_in, k2_in, v_in, lam_in, mask);
  DL_CHECK(tile > 0, op, "tile size must be positive, got " + std::to_string(tile));
  Tensor q1 = q1_in.contiguous(), k1 = k1_in.contiguous(), q2 = q2_in.contiguous();
  Tensor k2 = k2_in.contiguous(), v = v_in.contiguous();
  const int64_t H = q1.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q1.size(3)));
  const std::vector<double> ones(H, 1.0), lam(H, lam_in.item());  // O = 1 O1 - lam O2, every head

  Tensor O1, L1, O2, L2;
  tiled_attention_forward(q1, k1, v, mask, scale, tile, O1, L1);  // (B, H, T, dv), (B, H, T)
  tiled_attention_forward(q2, k2, v, mask, scale, tile, O2, L2);
  Tensor out = mix_probs(O1, O2, ones, lam);                        // (B, H, T, dv)
  if (probs)
    *probs = attention_maps_wanted()
                 ? mix_probs(attention_probs(q1, k1, mask, scale), attention_probs(q2, k2, mask, scale), ones, lam)
                 : Tensor();

  Tensor q1s = q1.detach(), k1s = k1.detach(), q2s = q2.detach(), k2s = k2.detach(), vs = v.detach();
  const Shape lam_shape = lam_in.shape();
  return record(op, out, {q1, k1, q2, k2, v, lam_in},
                [q1s, k1s, q2s, k2s, vs, O1, L1, O2, L2, ones, lam, lam_shape, mask, scale, tile](
                    const Tensor& g, const Needs& needs) {
    Tensor dq1, dk1, dq2, dk2, dv, dv2, dO1, dO2;
    std::vector<double> s1, s2;
    mix_probs_backward(g, O1, O2, ones, lam, dO1, dO2, s1, s2);
    const bool need_1 = needs[0] || needs[1], need_2 = needs[2] || needs[3];
    tiled_attention_backward(dO1, q1s, k1s, vs, O1, L1, mask, scale, tile, need_1 ? &dq1 : nullptr,
                             need_1 ? &dk1 : nullptr, needs[4] ? &dv : nullptr);
    tiled_attention_backward(dO2, q2s, k2s, vs, O2, L2, mask, scale, tile, need_2 ? &dq2 : nullptr,
                             need_2 ? &dk2 : nullptr, needs[4] ? &dv2 : nullptr);
    if (needs[4]) dv = add(dv, dv2);
    double dlam = 0;  // dO/dlam = -O2
    for (double s : s2) dlam -= s;
    return Grads{dq1, dk1, dq2, dk2, dv, Tensor::full(lam_shape, dlam, q1s.dtype())};
  });
}

}  // namespace dl
