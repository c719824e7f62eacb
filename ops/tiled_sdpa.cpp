#include "ops/tiled_sdpa.h"

#include <algorithm>
#include <cmath>
#include <vector>
#include "autograd/graph.h"
#include "autograd/parallel.h"
#include "ops/attention_tiles.h"
#include "ops/blas.h"
#include "ops/sdpa.h"

namespace dl {

using namespace tiles;

static thread_local bool g_maps_wanted = false;
AttentionMapsGuard::AttentionMapsGuard() : previous_(g_maps_wanted) { g_maps_wanted = true; }
AttentionMapsGuard::~AttentionMapsGuard() { g_maps_wanted = previous_; }
bool attention_maps_wanted() { return g_maps_wanted; }

void tiled_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask,
                             double scale, int64_t tile, Tensor& O, Tensor& L) {
  check_tile("tiled_attention_forward", tile);
  const int64_t B = q.size(0), H = q.size(1), T_ = q.size(2), S = k.size(2), dh = q.size(3), dv = v.size(3);
  O = Tensor::empty({B, H, T_, dv}, q.dtype());  // zeroed: the running outputs start at 0
  L = Tensor::uninitialized({B, H, T_}, q.dtype());
  const int64_t q_tiles = tiles_of(T_, tile);
  dispatch_float(q, "tiled_attention_forward", [&](auto zero) {
    using T = decltype(zero);
    const T *pq = q.data<T>(), *pk = k.data<T>(), *pv = v.data<T>();
    T *po = O.data<T>(), *pL = L.data<T>();
    const bool* padding = mask.key_padding.defined() ? mask.key_padding.data<bool>() : nullptr;  // (B, S)
    parallel_for(0, B * H * q_tiles, grain_for(2 * tile * S * (dh + dv)), [&](int64_t n0, int64_t n1) {
      std::vector<T> z(tile * tile), m(tile), l(tile);  // one score tile; m, l of the query tile
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t bh = n / q_tiles, i0 = n % q_tiles * tile, nq = std::min(tile, T_ - i0);
        const T *qh = pq + bh * T_ * dh, *kh = pk + bh * S * dh, *vh = pv + bh * S * dv;
        const bool* pad = padding ? padding + (bh / H) * S : nullptr;
        T* o = po + (bh * T_ + i0) * dv;
        std::fill(m.begin(), m.end(), -std::numeric_limits<T>::infinity());
        std::fill(l.begin(), l.end(), T(0));
        const int64_t key_end = visible_key_end(mask, i0, nq, S);
        for (int64_t j0 = 0; j0 < key_end; j0 += tile) {
          const TileSpan t{i0, nq, j0, std::min(tile, S - j0)};
          score_tile(qh, kh, dh, T(scale), t, mask, pad, z.data());
          online_softmax_tile(z.data(), t, m.data(), l.data(), o, dv);
          gemm<T>(false, false, nq, dv, t.nk, T(1), z.data(), t.nk, vh + j0 * dv, dv, T(1), o, dv);
        }
        finish_rows(nq, dv, m.data(), l.data(), o, pL + bh * T_ + i0);
      }
    });
  });
}

void tiled_attention_backward(const Tensor& dO, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& O, const Tensor& L, const AttentionMask& mask, double scale,
                              int64_t tile, Tensor* dq, Tensor* dk, Tensor* dv_out) {
  check_tile("tiled_attention_backward", tile);
  const int64_t B = q.size(0), H = q.size(1), T_ = q.size(2), S = k.size(2), dh = q.size(3), dv = v.size(3);
  DL_CHECK((dO.shape() == O.shape() && O.shape() == Shape{B, H, T_, dv} && dO.is_contiguous() &&
            L.shape() == Shape{B, H, T_}),
           "tiled_attention_backward",
           "dO " + dO.str() + ", O " + O.str() + " and L " + L.str() + " do not match q " + q.str() + ", v " + v.str());
  const bool need_qk = dq && dk, need_v = dv_out;
  if (need_qk) *dq = Tensor::empty(q.shape(), q.dtype());  // zeroed: sums over key tiles
  if (need_qk) *dk = Tensor::empty(k.shape(), k.dtype());  // sums over query tiles
  if (need_v) *dv_out = Tensor::empty(v.shape(), v.dtype());
  dispatch_float(q, "tiled_attention_backward", [&](auto zero) {
    using T = decltype(zero);
    const T *pq = q.data<T>(), *pk = k.data<T>(), *pv = v.data<T>(), *pdo = dO.data<T>(), *po = O.data<T>();
    const T* pL = L.data<T>();
    T *pdq = need_qk ? dq->data<T>() : nullptr, *pdk = need_qk ? dk->data<T>() : nullptr;
    T* pdv = need_v ? dv_out->data<T>() : nullptr;
    const bool* padding = mask.key_padding.defined() ? mask.key_padding.data<bool>() : nullptr;  // (B, S)
    parallel_for(0, B * H, 1, [&](int64_t bh0, int64_t bh1) {
      std::vector<T> z(tile * tile), dp(tile * tile), D(T_);
      for (int64_t bh = bh0; bh < bh1; ++bh) {
        const T *qh = pq + bh * T_ * dh, *kh = pk + bh * S * dh, *vh = pv + bh * S * dv;
        const T *doh = pdo + bh * T_ * dv, *Lh = pL + bh * T_;
        const bool* pad = padding ? padding + (bh / H) * S : nullptr;
        output_dot_rows(doh, po + bh * T_ * dv, T_, dv, D.data());
        for (int64_t j0 = 0; j0 < S; j0 += tile)
          for (int64_t i0 = 0; i0 < T_; i0 += tile) {
            const TileSpan t{i0, std::min(tile, T_ - i0), j0, std::min(tile, S - j0)};
            if (visible_key_end(mask, i0, t.nq, S) <= j0) continue;  // every entry masked
            score_tile(qh, kh, dh, T(scale), t, mask, pad, z.data());
            recompute_probs_tile(z.data(), t, Lh);
            if (need_v)
              gemm<T>(true, false, t.nk, dv, t.nq, T(1), z.data(), t.nk, doh + i0 * dv, dv, T(1),
                      pdv + (bh * S + j0) * dv, dv);
            if (!need_qk) continue;
            gemm<T>(false, true, t.nq, t.nk, dv, T(1), doh + i0 * dv, dv, vh + j0 * dv, dv, T(0), dp.data(), t.nk);
            softmax_grad_tile(z.data(), t, D.data(), dp.data());
            gemm<T>(false, false, t.nq, dh, t.nk, T(scale), dp.data(), t.nk, kh + j0 * dh, dh, T(1),
                    pdq + (bh * T_ + i0) * dh, dh);
            gemm<T>(true, false, t.nk, dh, t.nq, T(scale), dp.data(), t.nk, qh + i0 * dh, dh, T(1),
                    pdk + (bh * S + j0) * dh, dh);
          }
      }
    });
  });
}

Tensor tiled_scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                          const AttentionMask& mask, Tensor* probs, int64_t tile) {
  const char* op = "tiled_scaled_dot_product_attention";
  check_attention_inputs(op, q_in, k_in, v_in, mask);
  check_tile(op, tile);
  Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  Tensor out, L;
  tiled_attention_forward(q, k, v, mask, scale, tile, out, L);
  if (probs) *probs = attention_maps_wanted() ? attention_probs(q, k, mask, scale) : Tensor();
  Tensor qs = q.detach(), ks = k.detach(), vs = v.detach(), os = out.detach();
  return record(op, out, {q, k, v}, [qs, ks, vs, os, L, mask, scale, tile](const Tensor& g, const Needs& needs) {
    Tensor dq, dk, dv;
    const bool need_qk = needs[0] || needs[1];
    tiled_attention_backward(g, qs, ks, vs, os, L, mask, scale, tile, need_qk ? &dq : nullptr,
                             need_qk ? &dk : nullptr, needs[2] ? &dv : nullptr);
    return Grads{dq, dk, dv};
  });
}

}  // namespace dl
