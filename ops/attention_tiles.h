// The tile kernels every tiled attention op shares (ops/tiled_sdpa.h derives each line they
// compute; ops/tiled_relational_attention.h reuses them with wider running rows). Raw loops on
// contiguous (rows, columns) buffers, not recorded.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include "autograd/error.h"
#include "ops/attention_probs.h"
#include "ops/blas.h"
#include "ops/fast_math.h"
#include "ops/loops.h"

namespace dl::tiles {

// One tile's place: query rows [i0, i0 + nq) against key rows [j0, j0 + nk) of one (batch, head).
struct TileSpan {
  int64_t i0, nq, j0, nk;
};

// The key rows [0, end) that some query of [i0, i0 + nq) may see: under a causal mask the keys past
// the tile's last query are masked for every row of it, so their tiles are skipped.
inline int64_t visible_key_end(const AttentionMask& mask, int64_t i0, int64_t nq, int64_t S) {
  return mask.causal ? std::min(S, i0 + nq + mask.query_offset) : S;
}

// Z_IJ = scale Q_I K_J^T + M_IJ into z (nq, nk). pad: this batch item's key padding (S), or null.
template <class T>
inline void score_tile(const T* q, const T* k, int64_t dh, T scale, const TileSpan& t, const AttentionMask& mask,
                const bool* pad, T* z) {
  gemm<T>(false, true, t.nq, t.nk, dh, scale, q + t.i0 * dh, dh, k + t.j0 * dh, dh, T(0), z, t.nk);
  const T inf = std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < t.nq; ++r) {
    T* row = z + r * t.nk;
    // the same rule as AttentionMask::masked, with the lookups hoisted out of the row
    const int64_t visible = mask.causal ? std::clamp<int64_t>(t.i0 + r + mask.query_offset + 1 - t.j0, 0, t.nk) : t.nk;
    std::fill(row + visible, row + t.nk, -inf);
    if (pad)
      for (int64_t c = 0; c < visible; ++c)
        if (pad[t.j0 + c]) row[c] = -inf;
  }
}

// The online-softmax step over one score tile (the header's m', c, P~, l and o lines): turns z into
// P~ in place, rescales the running sums l and the running output rows o (nq, dv) to the new max m.
template <class T>
inline void online_softmax_tile(T* z, const TileSpan& t, T* m, T* l, T* o, int64_t dv) {
  const T inf = std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < t.nq; ++r) {
    T* row = z + r * t.nk;
    T mx = m[r];
    for (int64_t c = 0; c < t.nk; ++c) mx = std::max(mx, row[c]);
    if (mx == -inf) {  // no key of this row visible yet: no weight, o and l stay 0
      std::fill(row, row + t.nk, T(0));
      continue;
    }
    const T shrink = fast_exp(m[r] - mx);  // c_i; exp(-inf) = 0 for the row's first visible tile
    for (int64_t c = 0; c < t.nk; ++c) row[c] = fast_exp(row[c] - mx);
    l[r] = shrink * l[r] + lane_sum<T>(t.nk, [&](int64_t c) { return row[c]; });
    T* orow = o + r * dv;
    for (int64_t c = 0; c < dv; ++c) orow[c] *= shrink;
    m[r] = mx;
  }
}

// O_i = o_i / l_i and L_i = m_i + log l_i; a row that saw no key keeps O_i = 0 and gets L_i = +inf.
template <class T>
inline void finish_rows(int64_t nq, int64_t dv, const T* m, const T* l, T* o, T* L) {
  for (int64_t r = 0; r < nq; ++r) {
    if (l[r] == T(0)) {
      L[r] = std::numeric_limits<T>::infinity();
      continue;
    }
    const T inv = T(1) / l[r];
    for (int64_t c = 0; c < dv; ++c) o[r * dv + c] *= inv;
    L[r] = m[r] + std::log(l[r]);
  }
}

// P_IJ = exp(Z_IJ - L_I) in place on the score tile (masked entries are -inf: 0).
template <class T>
inline void recompute_probs_tile(T* z, const TileSpan& t, const T* L) {
  for (int64_t r = 0; r < t.nq; ++r) {
    T* row = z + r * t.nk;
    const T lse = L[t.i0 + r];
    for (int64_t c = 0; c < t.nk; ++c) row[c] = fast_exp(row[c] - lse);
  }
}

// dZ_IJ = P_IJ * (dP_IJ - D_I), in place on dp.
template <class T>
inline void softmax_grad_tile(const T* p, const TileSpan& t, const T* D, T* dp) {
  for (int64_t r = 0; r < t.nq; ++r) {
    const T di = D[t.i0 + r];
    for (int64_t c = 0; c < t.nk; ++c) dp[r * t.nk + c] = p[r * t.nk + c] * (dp[r * t.nk + c] - di);
  }
}

// D_i = rowsum(dO_i * O_i) for the T rows of one (batch, head).
template <class T>
inline void output_dot_rows(const T* dO, const T* O, int64_t T_, int64_t dv, T* D) {
  for (int64_t i = 0; i < T_; ++i)
    D[i] = lane_sum<T>(dv, [&](int64_t c) { return dO[i * dv + c] * O[i * dv + c]; });
}

inline int64_t tiles_of(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

inline void check_tile(const char* op, int64_t tile) {
  DL_CHECK(tile > 0, op, "tile size must be positive, got " + std::to_string(tile));
}

}  // namespace dl::tiles
