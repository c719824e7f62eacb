#include "ops/attention_probs.h"

#include <algorithm>
#include <vector>
#include "autograd/parallel.h"
#include "ops/blas.h"
#include "ops/head_layout.h"
#include "ops/loops.h"
#include "ops/softmax_row.h"

namespace dl {

void AttentionMask::check(const char* op, int64_t B, int64_t S) const {
  DL_CHECK(query_offset >= 0, op, "negative query_offset " + std::to_string(query_offset));
  if (!key_padding.defined()) return;
  DL_CHECK((key_padding.dtype() == DType::Bool && key_padding.shape() == Shape{B, S} &&
            key_padding.is_contiguous()),
           op, "key padding mask must be bool (" + std::to_string(B) + ", " + std::to_string(S) +
                   "), got " + key_padding.str());
}

static void check_qk(const Tensor& q, const Tensor& k) {
  DL_CHECK(q.dim() == 4 && k.dim() == 4 && q.size(0) == k.size(0) && q.size(1) == k.size(1) &&
               q.size(3) == k.size(3) && q.dtype() == k.dtype() && heads_in_place(q) &&
               heads_in_place(k),
           "attention_probs",
           "expected q (B, H, T, dh) and k (B, H, S, dh) with dense rows, got " + q.str() + " and " + k.str());
}

Tensor attention_probs(const Tensor& q, const Tensor& k, const AttentionMask& mask, double scale) {
  check_qk(q, k);
  const int64_t B = q.size(0), H = q.size(1), T_ = q.size(2), S = k.size(2), dh = q.size(3);
  mask.check("attention_probs", B, S);
  Tensor P = Tensor::uninitialized({B, H, T_, S}, q.dtype());  // (B, H, T, S)
  const MatrixBatch lq = head_matrices("attention_probs", q), lk = head_matrices("attention_probs", k);
  dispatch_float(q, "attention_probs", [&](auto zero) {
    using T = decltype(zero);
    const T *pq = q.data<T>(), *pk = k.data<T>();
    T* pp = P.data<T>();
    const bool* padding = mask.key_padding.defined() ? mask.key_padding.data<bool>() : nullptr;  // (B, S)
    parallel_for(0, B * H, grain_for(T_ * S * dh), [&](int64_t bh0, int64_t bh1) {
      for (int64_t bh = bh0; bh < bh1; ++bh) {
        T* p = pp + bh * T_ * S;
        gemm<T>(false, true, T_, S, dh, T(scale), pq + lq.at(bh), lq.ld, pk + lk.at(bh), lk.ld, T(0), p, S);
        const bool* pad = padding ? padding + (bh / H) * S : nullptr;  // (S) of this batch row
        for (int64_t i = 0; i < T_; ++i) {
          // the same rule as AttentionMask::masked, with the lookups hoisted out of the row
          const int64_t visible = mask.causal ? std::min(S, i + mask.query_offset + 1) : S;
          auto kept = [&](int64_t j) { return j < visible && !pad[j]; };
          if (pad) softmax_row(p + i * S, S, kept, /*take_log=*/false, p + i * S);
          else softmax_prefix_inplace(p + i * S, visible, S);
        }
      }
    });
  });
  return P;
}

void attention_probs_backward(const Tensor& dP, const Tensor& P, const Tensor& q, const Tensor& k,
                              double scale, Tensor& dq, Tensor& dk) {
  check_qk(q, k);
  const int64_t B = q.size(0), H = q.size(1), T_ = q.size(2), S = k.size(2), dh = q.size(3);
  DL_CHECK(dP.shape() == P.shape() && P.shape() == (Shape{B, H, T_, S}), "attention_probs_backward",
           "dP " + dP.str() + " and P " + P.str() + " must be (B, H, T, S) for q " + q.str());
  dq = uninitialized_heads_like(q, T_, dh);
  dk = uninitialized_heads_like(k, S, dh);
  const char* op = "attention_probs_backward";
  const MatrixBatch lq = head_matrices(op, q), lk = head_matrices(op, k), ldq = head_matrices(op, dq),
                     ldk = head_matrices(op, dk);
  dispatch_float(q, "attention_probs_backward", [&](auto zero) {
    using T = decltype(zero);
    const T *pq = q.data<T>(), *pk = k.data<T>(), *pp = P.data<T>(), *pdp = dP.data<T>();
    T *pdq = dq.data<T>(), *pdk = dk.data<T>();
    parallel_for(0, B * H, grain_for(2 * T_ * S * dh), [&](int64_t bh0, int64_t bh1) {
      std::vector<T> ds(T_ * S);  // (T, S) for this (b, h)
      for (int64_t bh = bh0; bh < bh1; ++bh) {
        const T *p = pp + bh * T_ * S, *dp = pdp + bh * T_ * S;
        for (int64_t i = 0; i < T_; ++i) softmax_row_backward(p + i * S, dp + i * S, S, ds.data() + i * S);
        gemm<T>(false, false, T_, dh, S, T(scale), ds.data(), S, pk + lk.at(bh), lk.ld, T(0), pdq + ldq.at(bh), ldq.ld);
        gemm<T>(true, false, S, dh, T_, T(scale), ds.data(), S, pq + lq.at(bh), lq.ld, T(0), pdk + ldk.at(bh), ldk.ld);
      }
    });
  });
}

}  // namespace dl
