// The attention modules' forward passes written on the naive references: every projection a
// plain Linear (tests/naive/matrix.h), the head split an index shuffle, the attention itself
// tests/naive/attention.h. Only the modules' parameter values are read. The symbols are taken
// as given (their sources have tests of their own).
#pragma once
#include <vector>
#include "nn/dual_attention.h"
#include "nn/relational_attention.h"
#include "nn/symbols.h"
#include "tests/naive/attention.h"

namespace dl::naive {

// t as a matrix (numel / last, last)
inline Matrix matrix_of(const Tensor& t) {
  Matrix m(t.numel() / t.size(-1), t.size(-1));
  m.v = t.to_vector();
  return m;
}

// x (B, T, in) through the layer: (B T, out)
inline Matrix project(const Linear& layer, const Tensor& x) {
  return linear(matrix_of(x), matrix_of(layer.weight),
                layer.bias.defined() ? layer.bias.to_vector() : std::vector<double>());
}

// (B T, H dh) -> (B, H, T, dh): column block h of row (b, t) is head h's row t
inline Tensor split(const Matrix& m, int64_t B, int64_t H) {
  const int64_t T = m.rows / B, dh = m.cols / H;
  std::vector<double> v(m.v.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < dh; ++c) v[((b * H + h) * T + t) * dh + c] = m(b * T + t, h * dh + c);
  return Tensor::from_vector(v, {B, H, T, dh}, DType::F64);
}

// (B, H, T, dh) -> (B T, H dh), the inverse of split
inline Matrix merge(const Tensor& a) {
  const int64_t B = a.size(0), H = a.size(1), T = a.size(2), dh = a.size(3);
  const std::vector<double> v = a.to_vector();
  Matrix m(B * T, H * dh);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < dh; ++c) m(b * T + t, h * dh + c) = v[((b * H + h) * T + t) * dh + c];
  return m;
}

inline Tensor tensor_of(const Matrix& m, int64_t B) {
  return Tensor::from_vector(m.v, {B, m.rows / B, m.cols}, DType::F64);
}

// Multi-head self-attention of x (B, T, d): project, split into heads, attend, merge, project.
inline Matrix mha(const MultiHeadAttention& m, const Tensor& x, const AttentionMask& mask) {
  const int64_t B = x.size(0), H = m.heads;
  Tensor o = sdpa(split(project(*m.wq, x), B, H), split(project(*m.wk, x), B, H),
                  split(project(*m.wv, x), B, H), mask);
  return linear(merge(o), matrix_of(m.wo->weight),
                m.wo->bias.defined() ? m.wo->bias.to_vector() : std::vector<double>());
}

// RelationalAttention's forward: the attention and relation projections of x, the symbols'
// value projection (per position, or per offset for position-relative symbols), the relational
// reference, the output projection.
inline Matrix relational_module(const RelationalAttention& m, const Tensor& x, const Symbols& symbols,
                                const AttentionMask& mask) {
  const int64_t B = x.size(0), T = x.size(1), H = m.n_heads;
  const Tensor& s = symbols.s;
  Tensor sv;
  if (symbols.relative) {  // (2D+1, d) -> (H, 2D+1, dh)
    Tensor per_offset = split(project(*m.wv, s), 1, H);
    sv = Tensor::from_vector(per_offset.to_vector(), {H, s.size(0), m.head_dim}, DType::F64);
  } else {  // (S, d) shared by the batch, or (B, S, d)
    sv = split(project(*m.wv, s), s.dim() == 2 ? 1 : s.size(0), H);
  }
  Tensor q_rel, k_rel;
  if (!m.rca) {
    auto rel = [&](const Linear& w) {  // (B T, d_r dp) -> (B, T, d_r, dp): the same values
      return Tensor::from_vector(project(w, x).v, {B, T, m.n_relations, m.rel_dim}, DType::F64);
    };
    q_rel = rel(*m.wq_rel);
    k_rel = m.symmetric ? q_rel : rel(*m.wk_rel);
  }
  Tensor a = relational(split(project(*m.wq_attn, x), B, H), split(project(*m.wk_attn, x), B, H), q_rel,
                        k_rel, m.wr, sv, mask);
  return linear(merge(a), matrix_of(m.wo->weight),
                m.wo->bias.defined() ? m.wo->bias.to_vector() : std::vector<double>());
}

// DualAttention: the sensory heads (multi-head attention) and the relational heads side by side,
// their outputs concatenated along the features.
inline Tensor dual(const DualAttention& m, const Tensor& x, const Symbols& symbols, const AttentionMask& mask) {
  const int64_t B = x.size(0);
  std::vector<Matrix> parts;
  if (m.sa) parts.push_back(mha(*m.sa, x, mask));
  if (m.ra) parts.push_back(relational_module(*m.ra, x, symbols, mask));
  int64_t cols = 0;
  for (const Matrix& p : parts) cols += p.cols;
  Matrix out(parts[0].rows, cols);
  int64_t c0 = 0;
  for (const Matrix& p : parts) {
    for (int64_t r = 0; r < p.rows; ++r)
      for (int64_t c = 0; c < p.cols; ++c) out(r, c0 + c) = p(r, c);
    c0 += p.cols;
  }
  return tensor_of(out, B);
}

}  // namespace dl::naive
