// daGPAM: generalized probabilistic attention (docs/gpam.md) as one recorded op.
//
// This is a reconstruction from the paper's description, not from reference code: a second,
// negative attention matrix is built from a ReLU and a learned dh x dh map of the query, and the
// two are combined with fixed total sum 1, so each row of A is an affine (not convex) combination
// of the values. Per (batch, head h), with s = 1 / sqrt(dh):
//
//   forward:   R  = relu(Qp)                       Qp: the query (T, dh)
//              Qn = R Wneg^h                       Wneg^h: (dh, dh)
//              Ap = softmax(s Qp K^T + M)          An = softmax(s Qn K^T + M)
//              A  = (1 + lam_h) Ap - lam_h An      rows sum to (1 + lam_h) - lam_h = 1
//              O  = A V
//
//   backward (derived by the chain rule, each line one step back):
//              dV = A^T dO                         dA = dO V^T
//              dAp = (1 + lam_h) dA                dAn = -lam_h dA
//              dlam_h = sum_{b,i,j} dA * (Ap - An)            (over the batch and the head's rows)
//              dQp, dK  = softmax backward of Ap from dAp     (attention_probs_backward)
//              dQn, dK += softmax backward of An from dAn
//              dWneg^h = sum_b R^T dQn             dR = dQn Wneg^h^T
//              dQp += dR * [Qp > 0]                (the relu's derivative)
//
// The same mask enters both softmaxes, so causality holds. A query with every key masked has
// Ap = An = 0: its row of A and of O is 0 and it passes no gradient.
//
// lam is a tensor (H), so a module may pass a constant or lam_max * sigmoid(theta) built from
// ordinary ops; its gradient then flows on to theta through the tape.
#pragma once
#include <vector>
#include "ops/attention_probs.h"

namespace dl {

// q (B, H, T, dh), k (B, H, S, dh), v (B, H, S, dv), wneg (H, dh, dh), lam (H) -> (B, H, T, dv).
// When probs is given it receives A (B, H, T, S), detached.
Tensor gpam_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg,
                      const Tensor& lam, const AttentionMask& mask, Tensor* probs = nullptr);

// Throws, naming op and the shapes, unless q, k, v, mask fit check_attention_inputs and wneg is
// (H, dh, dh) and lam (H), of q's dtype. Shared with the tiled form (ops/tiled_gpam_attention.h).
void check_gpam_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg,
                       const Tensor& lam, const AttentionMask& mask);

// The positive softmax's coefficients 1 + lam_h, and dlam_h = s1_h - s2_h (H) from the sums of
// mix_probs_backward (dA/dlam_h = Ap - An): the mix's two ends, shared with the tiled form.
std::vector<double> gpam_positive_coefficients(const std::vector<double>& lam);
Tensor gpam_lam_grad(const std::vector<double>& s1, const std::vector<double>& s2, DType dtype);

// Raw kernels (not recorded) of the negative query, shared with the tiled form. q, wneg contiguous.
//   R = relu(Qp) (set), Qn = R Wneg^h (returned)
Tensor gpam_negative_query(const Tensor& q, const Tensor& wneg, Tensor& R);
// From dQn: dQp += dR * [Qp > 0] with dR = dQn Wneg^h^T, in place on *dq when given;
// dWneg^h = sum_b R^T dQn into *dw when given.
void gpam_negative_query_backward(const Tensor& dQn, const Tensor& q, const Tensor& R, const Tensor& wneg,
                                  Tensor* dq, Tensor* dw);

// Raw kernels (not recorded), shared with differential attention: the per-head mix of two
// attention matrices P1, P2 (B, H, T, S), with a and b holding one coefficient per head.
//   A = a_h P1 - b_h P2
Tensor mix_probs(const Tensor& P1, const Tensor& P2, const std::vector<double>& a,
                 const std::vector<double>& b);
// From dA: dP1 = a_h dA, dP2 = -b_h dA, and per head s1_h = sum dA * P1, s2_h = sum dA * P2
// (the coefficients' gradients are built from s1 and s2).
void mix_probs_backward(const Tensor& dA, const Tensor& P1, const Tensor& P2,
                        const std::vector<double>& a, const std::vector<double>& b, Tensor& dP1,
                        Tensor& dP2, std::vector<double>& s1, std::vector<double>& s2);

}  // namespace dl
