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
