// The query offset of decoding with a key/value cache, at every level: KVCache::append tells the
// mask where the new queries sit, and every attention op with that offset gives exactly the rows
// of the full causal pass that those queries would get.
#include "nn/attention.h"
#include "ops/differential_attention.h"
#include "ops/gpam_attention.h"
#include "ops/relational_attention.h"
#include "ops/sdpa.h"
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t B = 2, H = 2, S = 6, dh = 3;

// rows [t0, S) of a (B, H, S, n) tensor
Tensor last_rows(const Tensor& x, int64_t t0) { return slice(x, 2, t0, x.size(2)); }

}  // namespace

TEST_CASE("KVCache::append: the offset is the cached length, the keys and values grow", "[kv_cache]") {
  Generator gen(61);
  KVCache cache;
  Tensor k = rand64({B, H, S, dh}, gen, 1, false), v = rand64({B, H, S, dh}, gen, 1, false);
  AttentionMask causal;
  causal.causal = true;
  int64_t cached = 0;
  for (int64_t chunk : {3, 1, 2}) {  // a prompt of 3, then one position, then two
    Tensor ks = slice(k, 2, cached, cached + chunk), vs = slice(v, 2, cached, cached + chunk);
    AttentionMask m = cache.append(ks, vs, causal);
    REQUIRE(m.causal);
    REQUIRE(m.query_offset == cached);
    cached += chunk;
    REQUIRE(cache.length() == cached);
    REQUIRE(ks.size(2) == cached);  // the step's keys now include the cached ones
    REQUIRE(max_abs_diff(ks, slice(k, 2, 0, cached)) == 0);
    REQUIRE(max_abs_diff(vs, slice(v, 2, 0, cached)) == 0);
  }
}

TEST_CASE("attention ops with a query offset give the last rows of the full causal pass", "[kv_cache]") {
  Generator gen(62);
  AttentionMask causal;
  causal.causal = true;
  Tensor q = rand64({B, H, S, dh}, gen, 1, false), q2 = rand64({B, H, S, dh}, gen, 1, false);
  Tensor k = rand64({B, H, S, dh}, gen, 1, false), k2 = rand64({B, H, S, dh}, gen, 1, false);
  Tensor v = rand64({B, H, S, dh}, gen, 1, false);
  Tensor wneg = rand64({H, dh, dh}, gen, 1, false), lam = Tensor::from_vector({0.2, 0.6}, {H}, DType::F64);
  Tensor lam1 = Tensor::from_vector({0.4}, {1}, DType::F64);
  Tensor q_rel = rand64({B, S, 2, dh}, gen, 1, false), k_rel = rand64({B, S, 2, dh}, gen, 1, false);
  Tensor wr = rand64({H, dh, 2}, gen, 1, false), table = rand64({H, 5, dh}, gen, 1, false);
  for (int64_t t0 : {1, 3, 5}) {  // the new queries are positions t0 .. S-1
    INFO("offset " << t0);
    AttentionMask offset = causal;
    offset.query_offset = t0;
    Tensor qn = last_rows(q, t0), q2n = last_rows(q2, t0), q_reln = slice(q_rel, 1, t0, S);
    REQUIRE(max_abs_diff(scaled_dot_product_attention(qn, k, v, offset),
                         last_rows(scaled_dot_product_attention(q, k, v, causal), t0)) < 1e-14);
    REQUIRE(max_abs_diff(gpam_attention(qn, k, v, wneg, lam, offset),
                         last_rows(gpam_attention(q, k, v, wneg, lam, causal), t0)) < 1e-14);
    REQUIRE(max_abs_diff(differential_attention(qn, k, q2n, k2, v, lam1, offset),
                         last_rows(differential_attention(q, k, q2, k2, v, lam1, causal), t0)) < 1e-14);
    for (const Tensor& sv : {v, table}) {  // per-position and position-relative symbols
      REQUIRE(max_abs_diff(relational_attention(qn, k, q_reln, k_rel, wr, sv, offset),
                           last_rows(relational_attention(q, k, q_rel, k_rel, wr, sv, causal), t0)) < 1e-14);
    }
  }
}
