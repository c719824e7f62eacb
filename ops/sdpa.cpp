#include "ops/sdpa.h"

#include <cmath>
#include "autograd/graph.h"
#include "ops/blas.h"
#include "ops/head_layout.h"

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
            A.size(3) == v.size(2) && A.dtype() == v.dtype() && A.is_contiguous() && heads_in_place(v)),
           op, "expected contiguous A (B, H, T, S) and v (B, H, S, dv) with dense rows, got " + A.str() +
                   " and " + v.str());
}

// A contiguous (B, H, T, S) as a batch of (T, S) matrices
static MatrixBatch dense_heads(const Tensor& A) { return MatrixBatch{A.size(3), 1, A.size(2) * A.size(3), 0}; }

Tensor attention_values(const Tensor& A, const Tensor& v) {
  const char* op = "attention_values";
  check_values(op, A, v);
  const int64_t BH = v.size(0) * v.size(1), T_ = A.size(2), S = v.size(2), dv = v.size(3);
  Tensor out = uninitialized_heads_like(v, T_, dv);  // (B, H, T, dv), laid out as v
  dispatch_float(v, op, [&](auto zero) {
    using T = decltype(zero);
    batched_gemm<T>(BH, false, false, T_, dv, S, T(1), A.data<T>(), dense_heads(A), v.data<T>(),
                    head_matrices(op, v), T(0), out.data<T>(), head_matrices(op, out));
  });
  return out;
}

void attention_values_backward(const Tensor& dO, const Tensor& A, const Tensor& v, Tensor* grad_A,
                               Tensor* grad_v) {
  const char* op = "attention_values_backward";
  check_values(op, A, v);
  const int64_t BH = v.size(0) * v.size(1), T_ = A.size(2), S = v.size(2), dv = v.size(3);
  DL_CHECK((dO.shape() == Shape{v.size(0), v.size(1), T_, dv} && heads_in_place(dO)), op,
           "dO " + dO.str() + " does not match A " + A.str() + " V " + v.str());
  const MatrixBatch la = dense_heads(A), lv = head_matrices(op, v), ldo = head_matrices(op, dO);
  dispatch_float(v, op, [&](auto zero) {
    using T = decltype(zero);
    if (grad_A) {
      *grad_A = Tensor::uninitialized(A.shape(), A.dtype());  // (B, H, T, S) = dO V^T
      batched_gemm<T>(BH, false, true, T_, S, dv, T(1), dO.data<T>(), ldo, v.data<T>(), lv, T(0),
                      grad_A->data<T>(), la);
    }
    if (grad_v) {
      *grad_v = uninitialized_heads_like(v, S, dv);  // (B, H, S, dv) = A^T dO, laid out as v
      batched_gemm<T>(BH, true, false, S, dv, T_, T(1), A.data<T>(), la, dO.data<T>(), ldo, T(0),
                      grad_v->data<T>(), head_matrices(op, *grad_v));
    }
  });
}

// The op of both forms, recorded on `inputs`: q, k, v themselves, or (packed) the (B, T, H*dh)
// tensors whose packed views they are, when the output and the gradients are (B, T, H*dv) and
// (B, T, H*dh) as well. Outputs and gradients take the layout of q, k, v (ops/head_layout.h).
static Tensor record_sdpa(const char* op, const std::vector<Tensor>& inputs, const Tensor& q, const Tensor& k,
                          const Tensor& v, const AttentionMask& mask, Tensor* probs, bool packed) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  Tensor P = attention_probs(q, k, mask, scale);  // (B, H, T, S)
  Tensor out = attention_values(P, v);             // (B, H, T, dv)
  if (probs) *probs = P;
  Tensor qs = q.detach(), ks = k.detach(), vs = v.detach();
  auto backward = [qs, ks, vs, P, scale, packed](const Tensor& g, const Needs& needs) {
    Tensor dP, dq, dk, dv;
    const bool need_qk = needs[0] || needs[1];
    attention_values_backward(packed ? packed_heads(g, vs.size(1)) : g, P, vs, need_qk ? &dP : nullptr,
                              needs[2] ? &dv : nullptr);
    if (need_qk) attention_probs_backward(dP, P, qs, ks, scale, dq, dk);
    if (!packed) return Grads{dq, dk, dv};
    auto unpacked = [](const Tensor& d) { return d.defined() ? unpacked_heads(d) : d; };
    return Grads{unpacked(dq), unpacked(dk), unpacked(dv)};
  };
  return record(op, packed ? unpacked_heads(out) : out, inputs, backward);
}

Tensor scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                    const AttentionMask& mask, Tensor* probs) {
  const char* op = "scaled_dot_product_attention";
  check_attention_inputs(op, q_in, k_in, v_in, mask);
  Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  return record_sdpa(op, {q, k, v}, q, k, v, mask, probs, /*packed=*/false);
}

Tensor packed_scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                           int64_t heads, const AttentionMask& mask, Tensor* probs) {
  const char* op = "packed_scaled_dot_product_attention";
  DL_CHECK((q_in.dim() == 3 && k_in.dim() == 3 && v_in.dim() == 3 && heads > 0 && q_in.size(2) % heads == 0 &&
            k_in.size(2) % heads == 0 && v_in.size(2) % heads == 0),
           op, "expected q (B, T, H*dh), k (B, S, H*dh), v (B, S, H*dv) for H = " + std::to_string(heads) +
                   " heads, got q " + q_in.str() + ", k " + k_in.str() + ", v " + v_in.str());
  Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  Tensor qh = packed_heads(q, heads), kh = packed_heads(k, heads), vh = packed_heads(v, heads);
  check_attention_inputs(op, qh, kh, vh, mask);
  return record_sdpa(op, {q, k, v}, qh, kh, vh, mask, probs, /*packed=*/true);
}

}  // namespace dl
