// The query offset of decoding with a key/value cache, at every level: KVCache::append tells the
// mask where the new queries sit, and every attention op with that offset gives exactly the rows
// of the full causal pass that those queries would get.
#include "nn/attention.h"
#include "nn/differential_attention.h"
#include "nn/dual_attention.h"
#include "nn/relational_attention.h"
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

TEST_CASE("RelationalKVCache::append: every tensor grows, the offset is the cached length", "[kv_cache]") {
  Generator gen(63);
  RelationalKVCache cache;
  Tensor k = rand64({B, H, S, dh}, gen, 1, false), k_rel = rand64({B, S, 2, dh}, gen, 1, false);
  Tensor sv = rand64({1, H, S, dh}, gen, 1, false);  // batch-shared, as positional symbols give
  int64_t cached = 0;
  for (int64_t chunk : {3, 1, 2}) {
    Tensor ks = slice(k, 2, cached, cached + chunk), rs = slice(k_rel, 1, cached, cached + chunk),
           ss = slice(sv, 2, cached, cached + chunk);
    AttentionMask m = cache.append(ks, rs, ss, false, AttentionMask());
    REQUIRE(m.query_offset == cached);
    cached += chunk;
    REQUIRE(cache.length() == cached);
    REQUIRE(max_abs_diff(ks, slice(k, 2, 0, cached)) == 0);
    REQUIRE(max_abs_diff(rs, slice(k_rel, 1, 0, cached)) == 0);
    REQUIRE(max_abs_diff(ss, slice(sv, 2, 0, cached)) == 0);
  }
  SECTION("a relative table is passed through, never cached; RCA has no relation keys") {
    RelationalKVCache rca;
    Tensor table = rand64({H, 5, dh}, gen, 1, false), none;
    for (int64_t t = 0; t < 2; ++t) {
      Tensor ks = slice(k, 2, t, t + 1), step_table = table;
      REQUIRE(rca.append(ks, none, step_table, true, AttentionMask()).query_offset == t);
      REQUIRE(max_abs_diff(step_table, table) == 0);
    }
    REQUIRE(!rca.sv.defined());
    REQUIRE(!rca.k_rel.defined());
  }
}

TEST_CASE("RelationalKVCache refuses a step that does not continue it", "[kv_cache][errors]") {
  Generator gen(64);
  RelationalKVCache cache;
  Tensor k = rand64({B, H, 1, dh}, gen, 1, false), k_rel = rand64({B, 1, 2, dh}, gen, 1, false),
         sv = rand64({B, H, 1, dh}, gen, 1, false);
  cache.append(k, k_rel, sv, false, AttentionMask());
  auto step = [&](const Shape& k_shape, const Shape& rel_shape, const Shape& sv_shape, bool relative) {
    Tensor ks = rand64(k_shape, gen, 1, false), rs = rand64(rel_shape, gen, 1, false),
           ss = rand64(sv_shape, gen, 1, false);
    cache.append(ks, rs, ss, relative, AttentionMask());
  };
  REQUIRE_THROWS_WITH(step({B + 1, H, 1, dh}, {B + 1, 1, 2, dh}, {B + 1, H, 1, dh}, false),
                      Catch::Contains("RelationalKVCache") && Catch::Contains("keys k_attn float64(3, 2, 1, 3)") &&
                          Catch::Contains("cached float64(2, 2, 1, 3)"));
  REQUIRE_THROWS_WITH(step({B, H, 1, dh + 1}, {B, 1, 2, dh}, {B, H, 1, dh}, false),
                      Catch::Contains("keys k_attn float64(2, 2, 1, 4)"));
  REQUIRE_THROWS_WITH(step({B, H, 1, dh}, {B, 1, 3, dh}, {B, H, 1, dh}, false),
                      Catch::Contains("relation keys k_rel float64(2, 1, 3, 3)"));
  REQUIRE_THROWS_WITH(step({B, H, 1, dh}, {B, 1, 2, dh}, {1, H, 1, dh}, false),
                      Catch::Contains("symbol values sv float64(1, 2, 1, 3)"));
  REQUIRE_THROWS_WITH(step({B, H, 1, dh}, {B, 1, 2, dh}, {H, 5, dh}, true),
                      Catch::Contains("position-relative symbols") && Catch::Contains("(2, 2, 1, 3)"));
  REQUIRE(cache.length() == 1);  // nothing appended by a refused step
}

namespace {

// A module run on x (B, 6, d) in chunks of 3, 1 and 2 positions with a cache gives the rows of one
// causal pass: step(x_chunk, offset) runs one chunk, full(x) the whole sequence.
template <class Step, class Full>
void check_chunks(Generator& gen, int64_t width, Step&& step, Full&& full) {
  const Tensor x = rand64({B, S, width}, gen, 1, false);
  const Tensor expected = full(x);
  NoGradGuard no_grad;  // as in greedy decoding
  int64_t done = 0;
  for (int64_t chunk : {3, 1, 2}) {
    INFO("positions " << done << " to " << done + chunk - 1);
    REQUIRE(max_abs_diff(step(slice(x, 1, done, done + chunk), done), slice(expected, 1, done, done + chunk)) < 1e-13);
    done += chunk;
  }
}

}  // namespace

TEST_CASE("relational and differential attention modules with a cache give the causal pass's rows", "[kv_cache]") {
  Generator gen(65);
  constexpr int64_t d = 8;
  AttentionMask causal;
  causal.causal = true;
  const PositionalSymbols positional(PositionalSymbolsOptions().with_d(d).with_max_len(S), gen, DType::F64);
  const PositionRelativeSymbols relative(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(2), gen,
                                         DType::F64);
  const SymbolicAttention symbolic(SymbolicAttentionOptions().with_d(d).with_n_symbols(3).with_heads(2), gen,
                                   DType::F64);
  const std::vector<std::pair<const char*, const SymbolSource*>> sources = {
      {"positional", &positional}, {"position-relative", &relative}, {"symbolic", &symbolic}};
  for (const auto& [symbols_name, source] : sources) {
    for (const char* variant : {"plain", "symmetric", "RCA"}) {
      RelationalAttentionOptions o;
      o.symmetric = std::string(variant) == "symmetric";
      o.rca = std::string(variant) == "RCA";
      DYNAMIC_SECTION("RelationalAttention, " << variant << ", " << symbols_name << " symbols") {
        RelationalAttention m(d, 2, gen, o, DType::F64);
        RelationalKVCache cache;
        check_chunks(
            gen, d,
            [&](const Tensor& x, int64_t offset) { return m.forward(x, source->forward(x, offset), causal, &cache); },
            [&](const Tensor& x) { return m.forward(x, source->forward(x), causal); });
        REQUIRE(cache.length() == S);
      }
    }
  }
  SECTION("DualAttention (1, 1): both caches") {
    DualAttention m(DualAttentionOptions().with_d(d).with_n_sa(1).with_n_ra(1), gen, DType::F64);
    KVCache sa;
    RelationalKVCache ra;
    check_chunks(
        gen, d,
        [&](const Tensor& x, int64_t offset) { return m.forward(x, positional.forward(x, offset), causal, &sa, &ra); },
        [&](const Tensor& x) { return m.forward(x, positional.forward(x), causal); });
    REQUIRE(sa.length() == S);
    REQUIRE(ra.length() == S);
    const Tensor x = rand64({B, 1, d}, gen, 1, false);
    REQUIRE_THROWS_WITH(m.forward(x, positional.forward(x), causal, &sa, nullptr),
                        Catch::Contains("DualAttention") && Catch::Contains("both caches"));
  }
  SECTION("DifferentialAttention: one KVCache holds both key halves") {
    DifferentialAttention m(DifferentialAttentionOptions().with_d(d).with_heads(2).with_layer(1), gen, DType::F64);
    KVCache cache;
    check_chunks(
        gen, d, [&](const Tensor& x, int64_t) { return m.forward(x, causal, &cache); },
        [&](const Tensor& x) { return m.forward(x, causal); });
    REQUIRE(cache.k.shape() == Shape{B, 2, S, 4});  // (B, H, S, 2 dh)
  }
}
