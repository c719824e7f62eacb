#include "ops/relational_attention.h"

#include <algorithm>
#include <cmath>
#include "autograd/graph.h"
#include "autograd/parallel.h"
#include "ops/blas.h"
#include "ops/broadcast.h"
#include "ops/loops.h"
#include "ops/relational_parts.h"
#include "ops/sdpa.h"

namespace dl {

using namespace relational;

namespace {

constexpr const char* kOp = "relational_attention";

// y += a x over a row of n
template <class T>
void axpy_row(int64_t n, T a, const T* __restrict x, T* __restrict y) {
  for (int64_t j = 0; j < n; ++j) y[j] += a * x[j];
}

// Calls f(b, i) for every (batch item, query), in parallel.
template <class F>
void for_queries(const Dims& d, F&& f) {
  parallel_for(0, d.B * d.T, grain_for(2 * d.H * std::max<int64_t>(d.dr, 1) * d.S), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) f(n / d.T, n % d.T);
  });
}

// Calls f(b, h) for every (batch item, head), in parallel.
template <class F>
void for_heads(const Dims& d, F&& f) {
  parallel_for(0, d.B * d.H, grain_for(d.T * d.dh * d.dr), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) f(n / d.H, n % d.H);
  });
}

}  // namespace

namespace relational {

Dims check_inputs(const char* op, const Tensor& q_attn, const Tensor& k_attn, const Tensor& q_rel, const Tensor& k_rel,
                  const Tensor& wr, const Tensor& sv, const AttentionMask& mask) {
  DL_CHECK(q_attn.dim() == 4 && k_attn.dim() == 4 && q_attn.size(0) == k_attn.size(0) &&
               q_attn.size(1) == k_attn.size(1) && q_attn.size(3) == k_attn.size(3),
           op,
           "expected q_attn (B, H, T, dh) and k_attn (B, H, S, dh), got " + q_attn.str() + " and " +
               k_attn.str());
  Dims d;
  d.B = q_attn.size(0), d.H = q_attn.size(1), d.T = q_attn.size(2), d.S = k_attn.size(2);
  d.dh = q_attn.size(3);
  auto sizes = [&] { return " for q_attn " + q_attn.str() + " and k_attn " + k_attn.str(); };
  const bool rel = q_rel.defined() || k_rel.defined() || wr.defined();
  if (rel) {
    DL_CHECK(q_rel.defined() && k_rel.defined() && wr.defined(), op,
             "q_rel, k_rel and wr come together (all undefined for RCA)");
    DL_CHECK(q_rel.dim() == 4 && k_rel.dim() == 4 && q_rel.size(0) == d.B && q_rel.size(1) == d.T &&
                 k_rel.size(0) == d.B && k_rel.size(1) == d.S && q_rel.size(2) == k_rel.size(2) &&
                 q_rel.size(3) == k_rel.size(3) && q_rel.size(2) > 0,
             op,
             "expected q_rel (B, T, d_r, dp) and k_rel (B, S, d_r, dp)" + sizes() + ", got " +
                 q_rel.str() + " and " + k_rel.str());
    d.dr = q_rel.size(2), d.dp = q_rel.size(3);
    DL_CHECK(wr.shape() == (Shape{d.H, d.dh, d.dr}), op,
             "expected wr (H, dh, d_r) = " + shape_str({d.H, d.dh, d.dr}) + ", got " + wr.str());
  }
  DL_CHECK(sv.defined(), op, "the symbol values sv are required");
  if (sv.dim() == 4) {
    DL_CHECK((sv.size(0) == d.B || sv.size(0) == 1) && sv.size(1) == d.H && sv.size(2) == d.S &&
                 sv.size(3) == d.dh,
             op, "expected per-position sv (B or 1, H, S, dh)" + sizes() + ", got " + sv.str());
    d.W = d.S;
  } else {
    DL_CHECK(sv.dim() == 3 && sv.size(0) == d.H && sv.size(1) % 2 == 1 && sv.size(2) == d.dh, op,
             "expected sv (B or 1, H, S, dh) or a position-relative table (H, 2D+1, dh)" + sizes() +
                 ", got " + sv.str());
    d.relative = true;
    d.W = sv.size(1);
    d.D = (d.W - 1) / 2;
  }
  for (const Tensor* t : {&k_attn, &q_rel, &k_rel, &wr, &sv})
    DL_CHECK(!t->defined() || t->dtype() == q_attn.dtype(), op,
             "dtype mismatch: q_attn " + q_attn.str() + " and " + t->str());
  mask.check(op, d.B, d.S);
  d.query_offset = mask.query_offset;
  return d;
}

// sv with one copy per batch item, (B, H, W, dh), as attention_values wants it: a copy only when
// the batch shares sv (its gradient is then summed back with sum_to).
Tensor per_batch_symbols(const Dims& d, const Tensor& sv) {
  if (sv.dim() == 4 && sv.size(0) == d.B) return sv;
  return make_view(sv, {d.B, d.H, d.W, d.dh}, {0, d.W * d.dh, d.dh, 1}, sv.offset()).contiguous();
}

// a^h += abar^h wr[h]^T
void add_relation_term(const Dims& d, const Tensor& abar, const Tensor& wr, Tensor& a) {
  dispatch_float(a, kOp, [&](auto zero) {
    using T = decltype(zero);
    for_heads(d, [&](int64_t b, int64_t h) {
      const int64_t bh = b * d.H + h;
      gemm<T>(false, true, d.T, d.dh, d.dr, T(1), abar.data<T>() + bh * d.T * d.dr, d.dr,
              wr.data<T>() + h * d.dh * d.dr, d.dr, T(1), a.data<T>() + bh * d.T * d.dh, d.dh);
    });
  });
}

// dwr[h] = sum_b g^h^T abar^h  (H, dh, d_r), summed over b in order for any thread count
Tensor relation_weights_grad(const Dims& d, const Tensor& g, const Tensor& abar) {
  Tensor dwr = Tensor::empty({d.H, d.dh, d.dr}, g.dtype());  // zeroed: accumulated below
  dispatch_float(g, kOp, [&](auto zero) {
    using T = decltype(zero);
    parallel_for(0, d.H, 1, [&](int64_t h0, int64_t h1) {
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t b = 0; b < d.B; ++b) {
          const int64_t bh = b * d.H + h;
          gemm<T>(true, false, d.dh, d.dr, d.T, T(1), g.data<T>() + bh * d.T * d.dh, d.dh,
                  abar.data<T>() + bh * d.T * d.dr, d.dr, T(1), dwr.data<T>() + h * d.dh * d.dr, d.dr);
        }
    });
  });
  return dwr;
}

// dabar^h = g^h wr[h]  (B, H, T, d_r)
Tensor abar_grad(const Dims& d, const Tensor& g, const Tensor& wr) {
  Tensor dabar = Tensor::empty({d.B, d.H, d.T, d.dr}, g.dtype());
  dispatch_float(g, kOp, [&](auto zero) {
    using T = decltype(zero);
    for_heads(d, [&](int64_t b, int64_t h) {
      const int64_t bh = b * d.H + h;
      gemm<T>(false, false, d.T, d.dr, d.dh, T(1), g.data<T>() + bh * d.T * d.dh, d.dh,
              wr.data<T>() + h * d.dh * d.dr, d.dr, T(0), dabar.data<T>() + bh * d.T * d.dr, d.dr);
    });
  });
  return dabar;
}

}  // namespace relational

namespace {

// rt[b, l] = Q_l K_l^T / sqrt(dp), Q_l the (T, dp) slice of relation l (row stride d_r dp).
Tensor relations(const Dims& d, const Tensor& q_rel, const Tensor& k_rel) {
  Tensor rt = Tensor::empty({d.B, d.dr, d.T, d.S}, q_rel.dtype());  // (B, d_r, T, S)
  dispatch_float(q_rel, kOp, [&](auto zero) {
    using T = decltype(zero);
    const T *q = q_rel.data<T>(), *k = k_rel.data<T>();
    T* r = rt.data<T>();
    const int64_t ld = d.dr * d.dp;
    const T scale = T(1 / std::sqrt(double(d.dp)));
    parallel_for(0, d.B * d.dr, grain_for(2 * d.T * d.S * d.dp), [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t b = n / d.dr, l = n % d.dr;
        gemm<T>(false, true, d.T, d.S, d.dp, scale, q + b * d.T * ld + l * d.dp, ld,
                k + b * d.S * ld + l * d.dp, ld, T(0), r + n * d.T * d.S, d.S);
      }
    });
  });
  return rt;
}

// abar[b, h, i, l] = sum_j alpha[b, h, i, j] r[b, l, i, j]: per query row, H x d_r dot products
// over the keys. Loops, not BLAS: with a handful of heads and relations each product is a few
// hundred multiply-adds, well under the cost of a gemm call.
Tensor contract_relations(const Dims& d, const Tensor& P, const Tensor& rt) {
  Tensor abar = Tensor::uninitialized({d.B, d.H, d.T, d.dr}, P.dtype());  // (B, H, T, d_r)
  dispatch_float(P, kOp, [&](auto zero) {
    using T = decltype(zero);
    const T *p = P.data<T>(), *r = rt.data<T>();
    T* out = abar.data<T>();
    for_queries(d, [&](int64_t b, int64_t i) {
      for (int64_t h = 0; h < d.H; ++h) {
        const T* ph = p + ((b * d.H + h) * d.T + i) * d.S;  // (S) alpha row of head h
        for (int64_t l = 0; l < d.dr; ++l) {
          const T* rl = r + ((b * d.dr + l) * d.T + i) * d.S;  // (S) relation l of query i
          out[((b * d.H + h) * d.T + i) * d.dr + l] = lane_sum<T>(d.S, [&](int64_t j) { return ph[j] * rl[j]; });
        }
      }
    });
  });
  return abar;
}

// bins[b, h, i, m] = sum of P[b, h, i, j] over the keys j whose offset bin is m.
Tensor offset_bins(const Dims& d, const Tensor& P) {
  Tensor bins = Tensor::empty({d.B, d.H, d.T, d.W}, P.dtype());  // (B, H, T, 2D+1), zeroed
  dispatch_float(P, kOp, [&](auto zero) {
    using T = decltype(zero);
    const T* p = P.data<T>();
    T* out = bins.data<T>();
    parallel_for(0, d.B * d.H * d.T, d.T, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t j = 0; j < d.S; ++j) out[n * d.W + d.bin(n % d.T, j)] += p[n * d.S + j];
    });
  });
  return bins;
}

// The backward of offset_bins: dP[b, h, i, j] = dbins[b, h, i, bin(i, j)].
Tensor offset_bins_backward(const Dims& d, const Tensor& dbins) {
  Tensor dP = Tensor::empty({d.B, d.H, d.T, d.S}, dbins.dtype());  // (B, H, T, S)
  dispatch_float(dbins, kOp, [&](auto zero) {
    using T = decltype(zero);
    const T* db = dbins.data<T>();
    T* out = dP.data<T>();
    parallel_for(0, d.B * d.H * d.T, d.T, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t j = 0; j < d.S; ++j) out[n * d.S + j] = db[n * d.W + d.bin(n % d.T, j)];
    });
  });
  return dP;
}

// The backward of contract_relations, per query row i (loops, as there):
//   dalpha_ij += sum_l dabar_il r_ijl        (into dP, which holds the values-path gradient)
//   dr_ijl     = sum_h alpha_ij dabar_il     (drt; skipped, left undefined, unless want_drt)
void relation_grads(const Dims& d, const Tensor& dabar, const Tensor& rt, const Tensor& P, Tensor& dP,
                    Tensor& drt, bool want_drt) {
  if (want_drt) drt = Tensor::uninitialized(rt.shape(), rt.dtype());  // (B, d_r, T, S)
  dispatch_float(P, kOp, [&](auto zero) {
    using T = decltype(zero);
    const T *da = dabar.data<T>(), *r = rt.data<T>(), *p = P.data<T>();
    T *dp = dP.data<T>(), *dr = want_drt ? drt.data<T>() : nullptr;
    for_queries(d, [&](int64_t b, int64_t i) {
      auto dabar_at = [&](int64_t h, int64_t l) { return da[((b * d.H + h) * d.T + i) * d.dr + l]; };
      for (int64_t h = 0; h < d.H; ++h) {
        T* dph = dp + ((b * d.H + h) * d.T + i) * d.S;  // (S)
        for (int64_t l = 0; l < d.dr; ++l)
          axpy_row(d.S, dabar_at(h, l), r + ((b * d.dr + l) * d.T + i) * d.S, dph);
      }
      if (!dr) return;
      for (int64_t l = 0; l < d.dr; ++l) {
        T* drl = dr + ((b * d.dr + l) * d.T + i) * d.S;  // (S)
        std::fill(drl, drl + d.S, T(0));
        for (int64_t h = 0; h < d.H; ++h) axpy_row(d.S, dabar_at(h, l), p + ((b * d.H + h) * d.T + i) * d.S, drl);
      }
    });
  });
}

// dq_rel[b, :, l] = drt[b, l] K_l / sqrt(dp),  dk_rel[b, :, l] = drt[b, l]^T Q_l / sqrt(dp)
void relation_inputs_grad(const Dims& d, const Tensor& drt, const Tensor& q_rel, const Tensor& k_rel,
                          Tensor& dq, Tensor& dk, bool want_dq, bool want_dk) {
  if (want_dq) dq = Tensor::empty(q_rel.shape(), q_rel.dtype());
  if (want_dk) dk = Tensor::empty(k_rel.shape(), k_rel.dtype());
  dispatch_float(drt, kOp, [&](auto zero) {
    using T = decltype(zero);
    const T scale = T(1 / std::sqrt(double(d.dp)));
    const int64_t ld = d.dr * d.dp;
    parallel_for(0, d.B * d.dr, grain_for(2 * d.T * d.S * d.dp), [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t b = n / d.dr, l = n % d.dr;
        const T* r = drt.data<T>() + n * d.T * d.S;
        const int64_t qo = b * d.T * ld + l * d.dp, ko = b * d.S * ld + l * d.dp;
        if (want_dq)
          gemm<T>(false, false, d.T, d.dp, d.S, scale, r, d.S, k_rel.data<T>() + ko, ld, T(0),
                  dq.data<T>() + qo, ld);
        if (want_dk)
          gemm<T>(true, false, d.S, d.dp, d.T, scale, r, d.S, q_rel.data<T>() + qo, ld, T(0),
                  dk.data<T>() + ko, ld);
      }
    });
  });
}

}  // namespace

Tensor relational_attention(const Tensor& q_attn_in, const Tensor& k_attn_in, const Tensor& q_rel_in,
                            const Tensor& k_rel_in, const Tensor& wr_in, const Tensor& sv_in,
                            const AttentionMask& mask, Tensor* alpha, Tensor* r) {
  const Dims d = check_inputs(kOp, q_attn_in, k_attn_in, q_rel_in, k_rel_in, wr_in, sv_in, mask);
  auto dense = [](const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); };
  const Tensor q_attn = dense(q_attn_in), k_attn = dense(k_attn_in), q_rel = dense(q_rel_in),
               k_rel = dense(k_rel_in), wr = dense(wr_in), sv = dense(sv_in);

  const double scale = 1 / std::sqrt(double(d.dh));
  const Tensor P = attention_probs(q_attn, k_attn, mask, scale);  // (B, H, T, S)
  Tensor rt, abar;                                                // (B, d_r, T, S), (B, H, T, d_r)
  if (d.has_relations()) {
    rt = relations(d, q_rel, k_rel);
    abar = contract_relations(d, P, rt);
  }
  const Tensor beta = d.relative ? offset_bins(d, P) : P;  // (B, H, T, W)
  const Tensor svb = per_batch_symbols(d, sv.detach());    // (B, H, W, dh)
  Tensor a = attention_values(beta, svb);                  // (B, H, T, dh)
  if (d.has_relations()) add_relation_term(d, abar, wr, a);

  if (alpha) *alpha = P;
  if (r)  // (B, T, S, d_r) read from rt's (B, d_r, T, S) layout, no copy; undefined for RCA
    *r = d.has_relations()
             ? make_view(rt, {d.B, d.T, d.S, d.dr}, {d.dr * d.T * d.S, d.S, 1, d.T * d.S}, rt.offset())
             : Tensor();
  auto det = [](const Tensor& t) { return t.defined() ? t.detach() : Tensor(); };
  return record(
      kOp, a, {q_attn, k_attn, q_rel, k_rel, wr, sv},
      [d, scale, P, rt, abar, beta, svb, sv_shape = sv.shape(), qa = det(q_attn), ka = det(k_attn),
       qr = det(q_rel), kr = det(k_rel), w = det(wr)](const Tensor& g, const Needs& needs) {
        Grads grads(6);   // q_attn, k_attn, q_rel, k_rel, wr, sv
        Tensor dbeta, dsvb;  // (B, H, T, W), (B, H, W, dh)
        attention_values_backward(g, beta, svb, &dbeta, needs[5] ? &dsvb : nullptr);
        if (needs[5]) grads[5] = sum_to(dsvb, sv_shape);
        Tensor dP = d.relative ? offset_bins_backward(d, dbeta) : dbeta;  // (B, H, T, S)
        if (d.has_relations()) {
          const Tensor dabar = abar_grad(d, g, w);  // (B, H, T, d_r)
          if (needs[4]) grads[4] = relation_weights_grad(d, g, abar);
          Tensor drt;  // (B, d_r, T, S)
          relation_grads(d, dabar, rt, P, dP, drt, needs[2] || needs[3]);
          if (drt.defined())
            relation_inputs_grad(d, drt, qr, kr, grads[2], grads[3], needs[2], needs[3]);
        }
        if (needs[0] || needs[1]) attention_probs_backward(dP, P, qa, ka, scale, grads[0], grads[1]);
        return grads;
      });
}

}  // namespace dl
