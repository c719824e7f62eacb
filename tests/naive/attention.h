// Every attention variant as the simplest correct form of its formula, on the naive backend
// (tests/naive/matrix.h): per batch item and head, plain matrices, a dense mask, one softmax per
// attention matrix. Tensors are only read (their values) and written (the result); the math never
// touches the library. These are the references the fused ops are checked against, forward and
// every gradient (tests/naive/gradients.h).
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>
#include "autograd/tensor.h"
#include "ops/attention_probs.h"  // AttentionMask: only its fields are read here
#include "tests/naive/matrix.h"

namespace dl::naive {

// A (B, H, n, m) tensor as B x H matrices (n, m).
using Heads = std::vector<std::vector<Matrix>>;

inline Heads heads_of(const Tensor& t) {
  const int64_t B = t.size(0), H = t.size(1), n = t.size(2), m = t.size(3);
  const std::vector<double> v = t.to_vector();
  Heads out(B, std::vector<Matrix>(H, Matrix(n, m)));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t e = 0; e < n * m; ++e) out[b][h].v[e] = v[((b * H + h) * n * m) + e];
  return out;
}

inline Tensor tensor_of(const Heads& x) {
  const int64_t B = x.size(), H = x[0].size(), n = x[0][0].rows, m = x[0][0].cols;
  std::vector<double> v;
  for (const auto& per_batch : x)
    for (const Matrix& a : per_batch) v.insert(v.end(), a.v.begin(), a.v.end());
  return Tensor::from_vector(v, {B, H, n, m}, DType::F64);
}

// The dense mask of batch item b, (T, S), true = query i may not look at key j: j lies in the
// future of query i (causal; query i sits at position i + query_offset among the keys), or key j
// is padding. The rule is restated here from its definition, not taken from AttentionMask.
inline std::vector<bool> hidden_keys(const AttentionMask& mask, int64_t b, int64_t T, int64_t S) {
  std::vector<double> padding = mask.key_padding.defined() ? mask.key_padding.to_vector() : std::vector<double>();
  std::vector<bool> hidden(T * S);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < S; ++j) {
      const bool future = mask.causal && j > i + mask.query_offset;
      const bool padded = !padding.empty() && padding[b * S + j] != 0;
      hidden[i * S + j] = future || padded;
    }
  return hidden;
}

// The attention matrix of one head: softmax over the keys of q k^T / sqrt(dh), masked keys
// left out. q (T, dh), k (S, dh) -> (T, S).
inline Matrix attention_matrix(const Matrix& q, const Matrix& k, const std::vector<bool>& hidden) {
  return softmax_rows(scaled(matmul(q, transpose(k)), 1 / std::sqrt(double(q.cols))), hidden);
}

// Scaled dot-product attention: each query's output is the average of the values weighted by
// its attention row. q (B, H, T, dh), k (B, H, S, dh), v (B, H, S, dv) -> (B, H, T, dv).
inline Tensor sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask,
                   Tensor* probs = nullptr) {
  const Heads Q = heads_of(q), K = heads_of(k), V = heads_of(v);
  Heads out = Q, P = Q;
  for (size_t b = 0; b < Q.size(); ++b) {
    const std::vector<bool> hidden = hidden_keys(mask, b, q.size(2), k.size(2));
    for (size_t h = 0; h < Q[b].size(); ++h) {
      P[b][h] = attention_matrix(Q[b][h], K[b][h], hidden);
      out[b][h] = matmul(P[b][h], V[b][h]);
    }
  }
  if (probs) *probs = tensor_of(P);
  return tensor_of(out);
}

// daGPAM: a second, "negative" query relu(q) Wneg^h gives a second attention matrix An, and the
// head attends with (1 + lam_h) Ap - lam_h An: each row still sums to 1, but entries may be
// negative. wneg (H, dh, dh), lam (H).
inline Tensor gpam(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& wneg,
                   const Tensor& lam, const AttentionMask& mask, Tensor* probs = nullptr) {
  const Heads Q = heads_of(q), K = heads_of(k), V = heads_of(v);
  const int64_t dh = wneg.size(1);
  const std::vector<double> wv = wneg.to_vector();
  std::vector<Matrix> W(wneg.size(0), Matrix(dh, dh));  // Wneg^h (dh, dh)
  for (size_t h = 0; h < W.size(); ++h) std::copy_n(wv.begin() + h * dh * dh, dh * dh, W[h].v.begin());
  const std::vector<double> l = lam.to_vector();
  Heads out = Q, A = Q;
  for (size_t b = 0; b < Q.size(); ++b) {
    const std::vector<bool> hidden = hidden_keys(mask, b, q.size(2), k.size(2));
    for (size_t h = 0; h < Q[b].size(); ++h) {
      const Matrix qn = matmul(relu(Q[b][h]), W[h]);
      A[b][h] = combine(1 + l[h], attention_matrix(Q[b][h], K[b][h], hidden), -l[h],
                        attention_matrix(qn, K[b][h], hidden));
      out[b][h] = matmul(A[b][h], V[b][h]);
    }
  }
  if (probs) *probs = tensor_of(A);
  return tensor_of(out);
}

// Differential attention: the difference of two attention matrices, from two query/key pairs,
// A = P1 - lam P2, attends over the shared values. lam has one element.
inline Tensor differential(const Tensor& q1, const Tensor& k1, const Tensor& q2, const Tensor& k2,
                           const Tensor& v, const Tensor& lam, const AttentionMask& mask,
                           Tensor* probs = nullptr) {
  const Heads Q1 = heads_of(q1), K1 = heads_of(k1), Q2 = heads_of(q2), K2 = heads_of(k2), V = heads_of(v);
  const double l = lam.to_vector()[0];
  Heads out = Q1, A = Q1;
  for (size_t b = 0; b < Q1.size(); ++b) {
    const std::vector<bool> hidden = hidden_keys(mask, b, q1.size(2), k1.size(2));
    for (size_t h = 0; h < Q1[b].size(); ++h) {
      A[b][h] = combine(1, attention_matrix(Q1[b][h], K1[b][h], hidden), -l,
                        attention_matrix(Q2[b][h], K2[b][h], hidden));
      out[b][h] = matmul(A[b][h], V[b][h]);
    }
  }
  if (probs) *probs = tensor_of(A);
  return tensor_of(out);
}

// Relational attention, one pair (i, j) at a time. The relation between query i and key j has
// one value per relation l: r_ijl = <q_rel_i^l, k_rel_j^l> / sqrt(dp), unmasked. Head h's output
// for query i sums, over the keys j it attends to, alpha_ij times (the relations mapped to the
// head by Wr^h, plus the symbol value of j):
//     a_i = sum_j alpha_ij ( sum_l r_ijl wr[h][:, l] + s_j )
// q_rel (B, T, d_r, dp), k_rel (B, S, d_r, dp), wr (H, dh, d_r): all undefined for relational
// cross-attention (no relation term). Symmetric relations pass one tensor as q_rel and k_rel.
// sv: per position (B or 1, H, S, dh), s_j = sv[b][h][j]; or position-relative (H, 2D+1, dh), the
// symbol of the pair chosen by how far key j lies from query i (its position i + query_offset),
// clipped to [-D, D]: s_ij = sv[h][clip(j - i - query_offset, -D, D) + D].
inline Tensor relational(const Tensor& q_attn, const Tensor& k_attn, const Tensor& q_rel,
                         const Tensor& k_rel, const Tensor& wr, const Tensor& sv,
                         const AttentionMask& mask, Tensor* alpha_out = nullptr) {
  const int64_t B = q_attn.size(0), H = q_attn.size(1), T = q_attn.size(2), S = k_attn.size(2),
                dh = q_attn.size(3);
  const Heads Q = heads_of(q_attn), K = heads_of(k_attn);
  const bool relations = q_rel.defined();
  const int64_t dr = relations ? q_rel.size(2) : 0, dp = relations ? q_rel.size(3) : 0;
  const std::vector<double> qr = relations ? q_rel.to_vector() : std::vector<double>(),
                            kr = relations ? k_rel.to_vector() : std::vector<double>(),
                            w = relations ? wr.to_vector() : std::vector<double>(), s = sv.to_vector();
  const bool relative = sv.dim() == 3;
  const int64_t D = relative ? (sv.size(1) - 1) / 2 : 0;
  auto relation = [&](int64_t b, int64_t i, int64_t j, int64_t l) {
    double dot = 0;
    for (int64_t c = 0; c < dp; ++c) dot += qr[((b * T + i) * dr + l) * dp + c] * kr[((b * S + j) * dr + l) * dp + c];
    return dot / std::sqrt(double(dp));
  };
  auto symbol = [&](int64_t b, int64_t h, int64_t i, int64_t j, int64_t c) {
    if (relative) {
      const int64_t m = std::clamp(j - i - mask.query_offset, -D, D) + D;
      return s[(h * (2 * D + 1) + m) * dh + c];
    }
    const int64_t bs = sv.size(0) == 1 ? 0 : b;  // a batch-shared table serves every item
    return s[((bs * H + h) * S + j) * dh + c];
  };
  Heads out(B, std::vector<Matrix>(H, Matrix(T, dh))), alpha = out;
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<bool> hidden = hidden_keys(mask, b, T, S);
    for (int64_t h = 0; h < H; ++h) {
      alpha[b][h] = attention_matrix(Q[b][h], K[b][h], hidden);
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < S; ++j)
          for (int64_t c = 0; c < dh; ++c) {
            double term = symbol(b, h, i, j, c);
            for (int64_t l = 0; l < dr; ++l) term += relation(b, i, j, l) * w[(h * dh + c) * dr + l];
            out[b][h](i, c) += alpha[b][h](i, j) * term;
          }
    }
  }
  if (alpha_out) *alpha_out = tensor_of(alpha);
  return tensor_of(out);
}

}  // namespace dl::naive
