#include "ops/tiled_relational_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>
#include "autograd/graph.h"
#include "autograd/parallel.h"
#include "ops/attention_tiles.h"
#include "ops/blas.h"
#include "ops/broadcast.h"
#include "ops/elementwise.h"
#include "ops/loops.h"
#include "ops/relational_attention.h"
#include "ops/relational_parts.h"

namespace dl {

using namespace relational;
using namespace tiles;

namespace {

constexpr const char* kOp = "tiled_relational_attention";

// Where one (batch item, head) finds its rows in the contiguous inputs.
template <class T>
struct HeadInputs {
  const T *qa, *ka;  // (T, dh), (S, dh)
  const T* sv;       // (S, dh) per position, or the (2D+1, dh) table
};

// One batch item's relation inputs: (T, d_r dp) and (S, d_r dp), row stride d_r dp.
template <class T>
struct RelationInputs {
  const T *qr, *kr;
};

template <class T>
HeadInputs<T> head_inputs(const Dims& d, const Tensor& qa, const Tensor& ka, const Tensor& sv, int64_t b, int64_t h) {
  const int64_t bh = b * d.H + h;
  const int64_t sv_item = d.relative ? h : ((sv.size(0) == 1 ? 0 : b) * d.H + h);  // a shared sv: stride 0
  return {qa.data<T>() + bh * d.T * d.dh, ka.data<T>() + bh * d.S * d.dh, sv.data<T>() + sv_item * d.W * d.dh};
}

template <class T>
RelationInputs<T> relation_inputs(const Dims& d, const Tensor& qr, const Tensor& kr, int64_t b) {
  if (!d.has_relations()) return {nullptr, nullptr};
  const int64_t ld = d.dr * d.dp;
  return {qr.data<T>() + b * d.T * ld, kr.data<T>() + b * d.S * ld};
}

// Columns of the symbol part of a running row: dh values o_i, or the 2D+1 bins.
int64_t symbol_width(const Dims& d) { return d.relative ? d.W : d.dh; }

// r_IJl = Q_rel,I^l K_rel,J^l^T / sqrt(dp) into rt (d_r, nq, nk).
template <class T>
void relations_tile(const Dims& d, const RelationInputs<T>& in, const TileSpan& t, T* rt) {
  const int64_t ld = d.dr * d.dp;
  const T scale = T(1 / std::sqrt(double(d.dp)));
  for (int64_t l = 0; l < d.dr; ++l)
    gemm<T>(false, true, t.nq, t.nk, d.dp, scale, in.qr + t.i0 * ld + l * d.dp, ld, in.kr + t.j0 * ld + l * d.dp,
            ld, T(0), rt + l * t.nq * t.nk, t.nk);
}

// The running rows acc (nq, w) of one head take this tile's weights p = P~ (nq, nk): the symbol
// part o += P~ sv_J (or each weight into its bin), the relation part abar~ += sum_j P~_ij r_ij.
// Per-row dot products as loops, as in the dense contract_relations.
template <class T>
void accumulate_tile(const Dims& d, const T* p, const T* rt, const T* sv, const TileSpan& t, T* acc, int64_t w) {
  if (d.relative) {
    for (int64_t r = 0; r < t.nq; ++r)
      for (int64_t c = 0; c < t.nk; ++c) acc[r * w + d.bin(t.i0 + r, t.j0 + c)] += p[r * t.nk + c];
  } else {
    gemm<T>(false, false, t.nq, d.dh, t.nk, T(1), p, t.nk, sv + t.j0 * d.dh, d.dh, T(1), acc, w);
  }
  const int64_t ws = w - d.dr;
  for (int64_t r = 0; r < t.nq; ++r)
    for (int64_t l = 0; l < d.dr; ++l) {
      const T* rl = rt + (l * t.nq + r) * t.nk;
      acc[r * w + ws + l] += lane_sum<T>(t.nk, [&](int64_t c) { return p[r * t.nk + c] * rl[c]; });
    }
}

// The forward's results, (B, H, T, ...) each: a, L, abar (undefined for RCA), bins (undefined
// unless position-relative).
struct Forward {
  Tensor a, L, abar, bins;
};

// Writes one head's finished running rows acc (nq, w) at query rows [i0, i0 + nq): abar, and a's
// symbol term: o itself, or bins sv (a gemm against the table).
template <class T>
void write_rows(const Dims& d, const T* acc, int64_t w, int64_t nq, int64_t bh, int64_t i0, const T* sv, Forward& f) {
  T* a = f.a.data<T>() + (bh * d.T + i0) * d.dh;
  const int64_t ws = w - d.dr;
  if (d.relative) {
    T* bins = f.bins.data<T>() + (bh * d.T + i0) * d.W;
    for (int64_t r = 0; r < nq; ++r) std::copy(acc + r * w, acc + r * w + d.W, bins + r * d.W);
    gemm<T>(false, false, nq, d.dh, d.W, T(1), acc, w, sv, d.dh, T(0), a, d.dh);
  } else {
    for (int64_t r = 0; r < nq; ++r) std::copy(acc + r * w, acc + r * w + d.dh, a + r * d.dh);
  }
  if (!d.has_relations()) return;
  T* abar = f.abar.data<T>() + (bh * d.T + i0) * d.dr;
  for (int64_t r = 0; r < nq; ++r) std::copy(acc + r * w + ws, acc + r * w + w, abar + r * d.dr);
}

Forward tiled_forward(const Dims& d, const Tensor& qa, const Tensor& ka, const Tensor& qr, const Tensor& kr,
                      const Tensor& wr, const Tensor& sv, const AttentionMask& mask, double scale, int64_t tile) {
  Forward f;
  f.a = Tensor::uninitialized({d.B, d.H, d.T, d.dh}, qa.dtype());
  f.L = Tensor::uninitialized({d.B, d.H, d.T}, qa.dtype());
  if (d.has_relations()) f.abar = Tensor::uninitialized({d.B, d.H, d.T, d.dr}, qa.dtype());
  if (d.relative) f.bins = Tensor::uninitialized({d.B, d.H, d.T, d.W}, qa.dtype());
  const int64_t q_tiles = tiles_of(d.T, tile), w = symbol_width(d) + d.dr;
  dispatch_float(qa, kOp, [&](auto zero) {
    using T = decltype(zero);
    const bool* padding = mask.key_padding.defined() ? mask.key_padding.data<bool>() : nullptr;  // (B, S)
    const int64_t work = 2 * tile * d.S * (d.H * (d.dh + w) + d.dr * d.dp);
    parallel_for(0, d.B * q_tiles, grain_for(work), [&](int64_t n0, int64_t n1) {
      // one score tile and the relation tiles; per head: m, l (Bq) and the running rows (Bq, w)
      std::vector<T> z(tile * tile), rt(d.dr * tile * tile), m(d.H * tile), l(d.H * tile), acc(d.H * tile * w);
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t b = n / q_tiles, i0 = n % q_tiles * tile, nq = std::min(tile, d.T - i0);
        const bool* pad = padding ? padding + b * d.S : nullptr;
        const RelationInputs<T> rel = relation_inputs<T>(d, qr, kr, b);
        std::fill(m.begin(), m.end(), -std::numeric_limits<T>::infinity());
        std::fill(l.begin(), l.end(), T(0));
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t j0 = 0; j0 < visible_key_end(mask, i0, nq, d.S); j0 += tile) {
          const TileSpan t{i0, nq, j0, std::min(tile, d.S - j0)};
          if (d.has_relations()) relations_tile(d, rel, t, rt.data());
          for (int64_t h = 0; h < d.H; ++h) {
            const HeadInputs<T> in = head_inputs<T>(d, qa, ka, sv, b, h);
            T* acc_h = acc.data() + h * tile * w;
            score_tile(in.qa, in.ka, d.dh, T(scale), t, mask, pad, z.data());
            online_softmax_tile(z.data(), t, m.data() + h * tile, l.data() + h * tile, acc_h, w);
            accumulate_tile(d, z.data(), rt.data(), in.sv, t, acc_h, w);
          }
        }
        for (int64_t h = 0; h < d.H; ++h) {
          const int64_t bh = b * d.H + h;
          T* acc_h = acc.data() + h * tile * w;
          finish_rows(nq, w, m.data() + h * tile, l.data() + h * tile, acc_h, f.L.data<T>() + bh * d.T + i0);
          write_rows(d, acc_h, w, nq, bh, i0, head_inputs<T>(d, qa, ka, sv, b, h).sv, f);
        }
      }
    });
  });
  if (d.has_relations()) add_relation_term(d, f.abar, wr, f.a);
  return f;
}

// dalpha_IJ = dbeta_IJ + sum_l dabar_Il r_IJl into dp (nq, nk). dbeta is g_I sv_J^T per
// position, or G_i,c(i,j) with G = g sv^T (T, 2D+1) of this head.
template <class T>
void alpha_grad_tile(const Dims& d, const T* g, const T* sv, const T* G, const T* dabar, const T* rt,
                     const TileSpan& t, T* dp) {
  if (d.relative) {
    for (int64_t r = 0; r < t.nq; ++r)
      for (int64_t c = 0; c < t.nk; ++c) dp[r * t.nk + c] = G[(t.i0 + r) * d.W + d.bin(t.i0 + r, t.j0 + c)];
  } else {
    gemm<T>(false, true, t.nq, t.nk, d.dh, T(1), g + t.i0 * d.dh, d.dh, sv + t.j0 * d.dh, d.dh, T(0), dp, t.nk);
  }
  for (int64_t r = 0; r < t.nq; ++r)
    for (int64_t l = 0; l < d.dr; ++l) {
      const T da = dabar[(t.i0 + r) * d.dr + l];
      const T* rl = rt + (l * t.nq + r) * t.nk;
      for (int64_t c = 0; c < t.nk; ++c) dp[r * t.nk + c] += da * rl[c];
    }
}

// dr_IJl += alpha_IJ * dabar_Il: one head's share of the relation gradient, into drt (d_r, nq, nk).
template <class T>
void relation_grad_tile(const Dims& d, const T* p, const T* dabar, const TileSpan& t, T* drt) {
  for (int64_t l = 0; l < d.dr; ++l)
    for (int64_t r = 0; r < t.nq; ++r) {
      const T da = dabar[(t.i0 + r) * d.dr + l];
      T* drl = drt + (l * t.nq + r) * t.nk;
      for (int64_t c = 0; c < t.nk; ++c) drl[c] += da * p[r * t.nk + c];
    }
}

// dQ_rel,I^l += dr_IJl K_rel,J^l / sqrt(dp),  dK_rel,J^l += dr_IJl^T Q_rel,I^l / sqrt(dp).
template <class T>
void relation_inputs_grad_tile(const Dims& d, const T* drt, const RelationInputs<T>& in, const TileSpan& t,
                               T* dqr, T* dkr) {
  const int64_t ld = d.dr * d.dp;
  const T scale = T(1 / std::sqrt(double(d.dp)));
  for (int64_t l = 0; l < d.dr; ++l) {
    const T* drl = drt + l * t.nq * t.nk;
    gemm<T>(false, false, t.nq, d.dp, t.nk, scale, drl, t.nk, in.kr + t.j0 * ld + l * d.dp, ld, T(1),
            dqr + t.i0 * ld + l * d.dp, ld);
    gemm<T>(true, false, t.nk, d.dp, t.nq, scale, drl, t.nk, in.qr + t.i0 * ld + l * d.dp, ld, T(1),
            dkr + t.j0 * ld + l * d.dp, ld);
  }
}

// What the backward computes: the attention inputs' gradients (dq, dk), the relation inputs'
// (dq_rel, dk_rel) and the per-batch symbol values' (dsvb, (B, H, W, dh)), each where wanted.
struct Backward {
  bool attn, rel, sv;
  Tensor dqa, dka, dqr, dkr, dsvb;
};

// Speed only: the backward splits each batch item's key tiles into this many chunks, one task
// each, so that a batch of one (the XXL bench) still runs on two threads. Each chunk owns the key-side gradients of its keys and
// adds its share of the query-side ones into a buffer of its own; the buffers are summed in
// chunk order afterwards. The split depends on the sizes alone: the same bits for any thread count.
constexpr int64_t kKeyChunks = 2;

// The first key tile of each chunk, and the number of key tiles last: chunks of about equal
// numbers of (query tile, key tile) pairs, since under a causal mask later keys have fewer queries.
std::vector<int64_t> key_chunk_starts(const Dims& d, const AttentionMask& mask, int64_t tile) {
  const int64_t key_tiles = tiles_of(d.S, tile);
  std::vector<int64_t> pairs(key_tiles, 0);  // query tiles that see each key tile
  int64_t total = 0;
  for (int64_t i0 = 0; i0 < d.T; i0 += tile)
    for (int64_t j = 0; j * tile < visible_key_end(mask, i0, std::min(tile, d.T - i0), d.S); ++j) ++pairs[j], ++total;
  std::vector<int64_t> starts{0};
  int64_t seen = 0;
  for (int64_t j = 0; j < key_tiles; ++j) {
    seen += pairs[j];
    const int64_t chunks = static_cast<int64_t>(starts.size());
    if (chunks < kKeyChunks && seen * kKeyChunks >= total * chunks) starts.push_back(j + 1);
  }
  starts.push_back(key_tiles);
  return starts;
}

// Per row, before any tile: D_i = g_i . a_i into D (B, H, T) and, position-relative, G = g sv^T
// into G (B, H, T, 2D+1).
void row_terms(const Dims& d, const Tensor& g, const Tensor& a, const Tensor& qa, const Tensor& ka, const Tensor& sv,
               Tensor& D, Tensor& G) {
  D = Tensor::uninitialized({d.B, d.H, d.T}, g.dtype());
  if (d.relative) G = Tensor::uninitialized({d.B, d.H, d.T, d.W}, g.dtype());
  dispatch_float(g, kOp, [&](auto zero) {
    using T = decltype(zero);
    parallel_for(0, d.B * d.H, 1, [&](int64_t n0, int64_t n1) {
      for (int64_t bh = n0; bh < n1; ++bh) {
        const T* gh = g.data<T>() + bh * d.T * d.dh;
        output_dot_rows(gh, a.data<T>() + bh * d.T * d.dh, d.T, d.dh, D.data<T>() + bh * d.T);
        if (d.relative)
          gemm<T>(false, true, d.T, d.W, d.dh, T(1), gh, d.dh, head_inputs<T>(d, qa, ka, sv, bh / d.H, bh % d.H).sv,
                  d.dh, T(0), G.data<T>() + bh * d.T * d.W, d.W);
      }
    });
  });
}

// dsv^h = bins^h^T g^h per (batch item, head), position-relative, into dsvb (B, H, 2D+1, dh).
void relative_symbols_grad(const Dims& d, const Tensor& g, const Tensor& bins, Tensor& dsvb) {
  dispatch_float(g, kOp, [&](auto zero) {
    using T = decltype(zero);
    parallel_for(0, d.B * d.H, 1, [&](int64_t n0, int64_t n1) {
      for (int64_t bh = n0; bh < n1; ++bh)
        gemm<T>(true, false, d.W, d.dh, d.T, T(1), bins.data<T>() + bh * d.T * d.W, d.W, g.data<T>() + bh * d.T * d.dh,
                d.dh, T(0), dsvb.data<T>() + bh * d.W * d.dh, d.dh);
    });
  });
}

// The sum of the chunks' query-side buffers, in chunk order.
Tensor sum_chunks(const std::vector<Tensor>& parts) {
  Tensor total = parts[0];
  for (size_t c = 1; c < parts.size(); ++c) total = add(total, parts[c]);
  return total;
}

void tiled_backward(const Dims& d, const Tensor& g, const Tensor& qa, const Tensor& ka, const Tensor& qr,
                    const Tensor& kr, const Tensor& sv, const Tensor& dabar, const Forward& f,
                    const AttentionMask& mask, double scale, int64_t tile, Backward& out) {
  auto zeros_if = [](bool want, const Tensor& like) { return want ? Tensor::empty(like.shape(), like.dtype()) : Tensor(); };
  std::vector<Tensor> dqa(kKeyChunks), dqr(kKeyChunks);  // per chunk, summed at the end
  for (int64_t c = 0; c < kKeyChunks; ++c) dqa[c] = zeros_if(out.attn, qa), dqr[c] = zeros_if(out.rel, qr);
  out.dka = zeros_if(out.attn, ka), out.dkr = zeros_if(out.rel, kr);
  if (out.sv) out.dsvb = Tensor::empty({d.B, d.H, d.W, d.dh}, g.dtype());
  Tensor D, G;  // (B, H, T), (B, H, T, 2D+1)
  row_terms(d, g, f.a, qa, ka, sv, D, G);
  const std::vector<int64_t> starts = key_chunk_starts(d, mask, tile);
  dispatch_float(qa, kOp, [&](auto zero) {
    using T = decltype(zero);
    const bool* padding = mask.key_padding.defined() ? mask.key_padding.data<bool>() : nullptr;  // (B, S)
    const T *pg = g.data<T>(), *pL = f.L.data<T>();
    parallel_for(0, d.B * kKeyChunks, 1, [&](int64_t n0, int64_t n1) {
      // score and dalpha tiles, relation tiles and their gradient
      std::vector<T> z(tile * tile), dp(tile * tile), rt(d.dr * tile * tile), drt(d.dr * tile * tile);
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t b = n / kKeyChunks, chunk = n % kKeyChunks;
        const bool* pad = padding ? padding + b * d.S : nullptr;
        const RelationInputs<T> rel = relation_inputs<T>(d, qr, kr, b);
        for (int64_t j0 = starts[chunk] * tile; j0 < starts[chunk + 1] * tile; j0 += tile)
          for (int64_t i0 = 0; i0 < d.T; i0 += tile) {
            const TileSpan t{i0, std::min(tile, d.T - i0), j0, std::min(tile, d.S - j0)};
            if (visible_key_end(mask, i0, t.nq, d.S) <= j0) continue;  // every entry masked
            if (d.has_relations()) {
              relations_tile(d, rel, t, rt.data());
              std::fill(drt.begin(), drt.end(), T(0));
            }
            for (int64_t h = 0; h < d.H; ++h) {
              const int64_t bh = b * d.H + h;
              const HeadInputs<T> in = head_inputs<T>(d, qa, ka, sv, b, h);
              const T* gh = pg + bh * d.T * d.dh;
              const T* dabar_h = d.has_relations() ? dabar.data<T>() + bh * d.T * d.dr : nullptr;
              score_tile(in.qa, in.ka, d.dh, T(scale), t, mask, pad, z.data());
              recompute_probs_tile(z.data(), t, pL + bh * d.T);
              if (out.sv && !d.relative)
                gemm<T>(true, false, t.nk, d.dh, t.nq, T(1), z.data(), t.nk, gh + i0 * d.dh, d.dh, T(1),
                        out.dsvb.data<T>() + (bh * d.S + j0) * d.dh, d.dh);
              if (out.rel) relation_grad_tile(d, z.data(), dabar_h, t, drt.data());
              if (!out.attn) continue;
              const T* Gh = d.relative ? G.data<T>() + bh * d.T * d.W : nullptr;
              alpha_grad_tile(d, gh, in.sv, Gh, dabar_h, rt.data(), t, dp.data());
              softmax_grad_tile(z.data(), t, D.data<T>() + bh * d.T, dp.data());
              gemm<T>(false, false, t.nq, d.dh, t.nk, T(scale), dp.data(), t.nk, in.ka + j0 * d.dh, d.dh, T(1),
                      dqa[chunk].data<T>() + (bh * d.T + i0) * d.dh, d.dh);
              gemm<T>(true, false, t.nk, d.dh, t.nq, T(scale), dp.data(), t.nk, in.qa + i0 * d.dh, d.dh, T(1),
                      out.dka.data<T>() + (bh * d.S + j0) * d.dh, d.dh);
            }
            if (out.rel)
              relation_inputs_grad_tile(d, drt.data(), rel, t, dqr[chunk].data<T>() + b * d.T * d.dr * d.dp,
                                        out.dkr.data<T>() + b * d.S * d.dr * d.dp);
          }
      }
    });
  });
  if (out.sv && d.relative) relative_symbols_grad(d, g, f.bins, out.dsvb);
  if (out.attn) out.dqa = sum_chunks(dqa);
  if (out.rel) out.dqr = sum_chunks(dqr);
}

}  // namespace

Tensor tiled_relational_attention(const Tensor& q_attn_in, const Tensor& k_attn_in, const Tensor& q_rel_in,
                                  const Tensor& k_rel_in, const Tensor& wr_in, const Tensor& sv_in,
                                  const AttentionMask& mask, Tensor* alpha, Tensor* r, int64_t tile) {
  const Dims d = check_inputs(kOp, q_attn_in, k_attn_in, q_rel_in, k_rel_in, wr_in, sv_in, mask);
  check_tile(kOp, tile);
  auto dense = [](const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); };
  const Tensor q_attn = dense(q_attn_in), k_attn = dense(k_attn_in), q_rel = dense(q_rel_in),
               k_rel = dense(k_rel_in), wr = dense(wr_in), sv = dense(sv_in);
  const double scale = 1 / std::sqrt(double(d.dh));
  const Forward f = tiled_forward(d, q_attn, k_attn, q_rel, k_rel, wr, sv, mask, scale, tile);

  // for a heatmap, the dense op's alpha and r; otherwise none (they would undo the saving)
  if (alpha) *alpha = Tensor();
  if (r) *r = Tensor();
  if (attention_maps_wanted() && (alpha || r)) relational_attention(q_attn, k_attn, q_rel, k_rel, wr, sv, mask, alpha, r);

  auto det = [](const Tensor& t) { return t.defined() ? t.detach() : Tensor(); };
  Forward saved{f.a.detach(), f.L, f.abar, f.bins};
  return record(kOp, f.a, {q_attn, k_attn, q_rel, k_rel, wr, sv},
                [d, scale, tile, mask, saved, sv_shape = sv.shape(), qa = det(q_attn), ka = det(k_attn),
                 qr = det(q_rel), kr = det(k_rel), w = det(wr), s = det(sv)](const Tensor& g_in, const Needs& needs) {
                  const Tensor g = g_in.contiguous();  // (B, H, T, dh)
                  Grads grads(6);                      // q_attn, k_attn, q_rel, k_rel, wr, sv
                  Tensor dabar;                        // (B, H, T, d_r)
                  if (d.has_relations()) dabar = abar_grad(d, g, w);
                  if (needs[4]) grads[4] = relation_weights_grad(d, g, saved.abar);
                  Backward out;
                  out.attn = needs[0] || needs[1], out.rel = d.has_relations() && (needs[2] || needs[3]);
                  out.sv = needs[5];
                  tiled_backward(d, g, qa, ka, qr, kr, s, dabar, saved, mask, scale, tile, out);
                  grads[0] = out.dqa, grads[1] = out.dka, grads[2] = out.dqr, grads[3] = out.dkr;
                  if (needs[5]) grads[5] = sum_to(out.dsvb, sv_shape);
                  return grads;
                });
}

}  // namespace dl
