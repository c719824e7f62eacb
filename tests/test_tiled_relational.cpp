#include <cstring>
#include "autograd/parallel.h"
#include "nn/relational_attention.h"
#include "ops/attention_select.h"
#include "ops/relational_attention.h"
#include "ops/tiled_relational_attention.h"
#include "tests/attention_reference.h"
#include "tests/testing.h"
#include "tests/tiled_checks.h"

using namespace dl;
using namespace dl::testing;

namespace {

// Tile 4 against T = 7, S = 9: short last tiles along both axes, causal cuts through tiles.
constexpr int64_t kSmallTile = 4;
constexpr int64_t kB = 2, kH = 2, kDh = 4, kDr = 2, kDp = 3, kD = 2;

enum class SymbolKind { PerPosition, Shared, Relative };
enum class Variant { Plain, Symmetric, Rca };

// Leaves {q_attn, k_attn, q_rel, k_rel, wr, sv} ({q_attn, k_attn, sv} for RCA); k_rel is q_rel
// itself when symmetric (then T = S).
std::vector<Tensor> make_inputs(Generator& gen, int64_t T, int64_t S, SymbolKind sym, Variant v,
                                DType dtype = DType::F64, int64_t dh = kDh) {
  auto leaf = [&](const Shape& s) { return randn(s, gen, 0.0, 1.0, dtype).requires_grad_(); };
  Tensor q_attn = leaf({kB, kH, T, dh}), k_attn = leaf({kB, kH, S, dh});
  Tensor sv = sym == SymbolKind::PerPosition ? leaf({kB, kH, S, dh})
              : sym == SymbolKind::Shared    ? leaf({1, kH, S, dh})
                                          : leaf({kH, 2 * kD + 1, dh});
  if (v == Variant::Rca) return {q_attn, k_attn, sv};
  Tensor q_rel = leaf({kB, T, kDr, kDp});
  Tensor k_rel = v == Variant::Symmetric ? q_rel : leaf({kB, S, kDr, kDp});
  return {q_attn, k_attn, q_rel, k_rel, leaf({kH, dh, kDr}), sv};
}

using Op = Tensor (*)(const std::vector<Tensor>&, const AttentionMask&, Tensor*, Tensor*, int64_t);

Tensor call_tiled(const std::vector<Tensor>& in, const AttentionMask& mask, Tensor* alpha, Tensor* r, int64_t tile) {
  if (in.size() == 3) return tiled_relational_attention(in[0], in[1], {}, {}, {}, in[2], mask, alpha, r, tile);
  return tiled_relational_attention(in[0], in[1], in[2], in[3], in[4], in[5], mask, alpha, r, tile);
}

Tensor call_dense(const std::vector<Tensor>& in, const AttentionMask& mask, Tensor* alpha, Tensor* r, int64_t) {
  if (in.size() == 3) return relational_attention(in[0], in[1], {}, {}, {}, in[2], mask, alpha, r);
  return relational_attention(in[0], in[1], in[2], in[3], in[4], in[5], mask, alpha, r);
}

TensorFn as_fn(Op op, const AttentionMask& mask, int64_t tile = kSmallTile) {
  return [op, mask, tile](const std::vector<Tensor>& in) { return op(in, mask, nullptr, nullptr, tile); };
}

double tiled_vs_dense(const std::vector<Tensor>& in, const AttentionMask& mask, int64_t tile = kSmallTile) {
  return max_difference_with_gradients(as_fn(call_tiled, mask, tile), as_fn(call_dense, mask), in);
}

// Every symbol form and variant, each (T, S) given (symmetric only where T = S), under every mask.
template <class F>
void for_every_case(int64_t T, int64_t S, Generator& gen, DType dtype, F&& check) {
  for (const AttentionMask& mask : standard_masks(S))
    for (SymbolKind sym : {SymbolKind::PerPosition, SymbolKind::Shared, SymbolKind::Relative})
      for (Variant v : {Variant::Plain, Variant::Symmetric, Variant::Rca}) {
        if (v == Variant::Symmetric && T != S) continue;
        INFO("T " << T << " S " << S << " causal " << mask.causal << " padding " << mask.key_padding.defined()
                  << " symbols " << int(sym) << " variant " << int(v));
        check(make_inputs(gen, T, S, sym, v, dtype), mask);
      }
}

}  // namespace

TEST_CASE("tiled relational: forward and every gradient equal the dense op, float64", "[tiled][relational]") {
  Generator gen(41);
  for (auto [T, S] : {std::pair<int64_t, int64_t>{9, 9}, {7, 9}, {3, 9}})
    for_every_case(T, S, gen, DType::F64,
                   [](const std::vector<Tensor>& in, const AttentionMask& mask) { REQUIRE(tiled_vs_dense(in, mask) < 1e-12); });
  for (SymbolKind sym : {SymbolKind::PerPosition, SymbolKind::Relative}) {  // decoding: bins use i + query_offset
    INFO("key cache, symbols " << int(sym));
    REQUIRE(tiled_vs_dense(make_inputs(gen, 3, 9, sym, Variant::Plain), cached_causal()) < 1e-12);
  }
}

TEST_CASE("tiled relational: the default tile over several tiles equals the dense op", "[tiled][relational]") {
  Generator gen(42);
  for (const AttentionMask& mask : standard_masks(150))
    for (SymbolKind sym : {SymbolKind::Shared, SymbolKind::Relative}) {
      const std::vector<Tensor> in = make_inputs(gen, 150, 150, sym, Variant::Plain, DType::F64, 8);  // 2 tiles + 22
      REQUIRE(tiled_vs_dense(in, mask, kAttentionTile) < 1e-12);
    }
}

TEST_CASE("tiled relational: float32 equals the dense op within 1e-5", "[tiled][relational]") {
  Generator gen(43);
  for_every_case(7, 9, gen, DType::F32, [](const std::vector<Tensor>& in, const AttentionMask& mask) {
    REQUIRE(call_tiled(in, mask, nullptr, nullptr, kSmallTile).dtype() == DType::F32);
    REQUIRE(tiled_vs_dense(in, mask) < 1e-5);
  });
}

TEST_CASE("tiled relational: gradients by finite differences", "[tiled][relational][gradcheck]") {
  Generator gen(44);
  const std::vector<AttentionMask> masks = standard_masks(6);
  for (size_t n = 0; n < masks.size(); ++n) {
    INFO("mask " << n);
    const SymbolKind sym = n % 2 ? SymbolKind::Relative : SymbolKind::PerPosition;
    CHECK_GRADIENTS(as_fn(call_tiled, masks[n]), make_inputs(gen, 5, 6, sym, Variant::Plain));
  }
  CHECK_GRADIENTS(as_fn(call_tiled, masks[1]), make_inputs(gen, 6, 6, SymbolKind::Shared, Variant::Symmetric));
  CHECK_GRADIENTS(as_fn(call_tiled, masks[3]), make_inputs(gen, 5, 6, SymbolKind::Relative, Variant::Rca));
}

TEST_CASE("tiled relational: a fully masked row is zero; alpha and r only when drawing", "[tiled][relational]") {
  Generator gen(45);
  const AttentionMask mask = standard_masks(9)[3];
  const std::vector<Tensor> in = make_inputs(gen, 7, 9, SymbolKind::Relative, Variant::Plain);
  auto with = [&mask](Op op) {
    return [op, &mask](const std::vector<Tensor>& x, Tensor* alpha) { return op(x, mask, alpha, nullptr, kSmallTile); };
  };
  check_masked_row_and_probs(with(call_tiled), with(call_dense), in, {0});
  // q_rel (B, T, d_r, dp) has its queries on axis 1: query 0 of batch item 1 gets no gradient
  Tensor row = slice(slice(in[2].grad(), 0, 1, 2), 1, 0, 1).contiguous();
  REQUIRE(max_abs_diff(row, Tensor::zeros(row.shape(), DType::F64)) == 0);
  Tensor alpha, r, r_dense;
  call_tiled(in, mask, &alpha, &r, kSmallTile);
  REQUIRE_FALSE(r.defined());  // recording: no (T, S, d_r) relations kept
  NoGradGuard no_grad;
  AttentionMapsGuard maps;
  call_tiled(in, mask, nullptr, &r, kSmallTile);
  call_dense(in, mask, nullptr, &r_dense, 0);
  REQUIRE(r.shape() == Shape{kB, 7, 9, kDr});
  REQUIRE(max_abs_diff(r, r_dense) == 0);
}

TEST_CASE("tiled relational: 1 and 2 threads give the same bits", "[tiled][relational][threads]") {
  ThreadCountGuard guard;
  Generator gen(46);
  for (SymbolKind sym : {SymbolKind::Shared, SymbolKind::Relative}) {
    const std::vector<Tensor> in = make_inputs(gen, 150, 150, sym, Variant::Plain, DType::F32, 8);
    auto run = [&](int threads) {
      set_num_threads(threads);
      for (const Tensor& x : in) x.zero_grad();
      Tensor out = call_tiled(in, standard_masks(150)[3], nullptr, nullptr, kAttentionTile);
      Generator wgen(2);
      out.backward(randn(out.shape(), wgen));
      std::vector<Tensor> all{out.detach()};
      for (const Tensor& x : in) all.push_back(x.grad());
      return all;
    };
    const std::vector<Tensor> one = run(1), two = run(2);
    for (size_t n = 0; n < one.size(); ++n)
      REQUIRE(std::memcmp(one[n].raw_data(), two[n].raw_data(), one[n].numel() * sizeof(float)) == 0);
  }
}

TEST_CASE("tiled relational: bad inputs name the op, the shapes and the tile", "[tiled][relational][errors]") {
  Generator gen(47);
  std::vector<Tensor> in = make_inputs(gen, 5, 6, SymbolKind::PerPosition, Variant::Plain);
  const auto op = Catch::Contains("tiled_relational_attention");
  std::vector<Tensor> bad = in;
  bad[3] = Tensor::zeros({kB, 6, kDr + 1, kDp}, DType::F64);
  REQUIRE_THROWS_WITH(call_tiled(bad, {}, nullptr, nullptr, kSmallTile), op && Catch::Contains("(2, 6, 3, 3)"));
  REQUIRE_THROWS_WITH(call_tiled(in, {}, nullptr, nullptr, 0), op && Catch::Contains("tile size must be positive, got 0"));
  REQUIRE_THROWS_WITH(relational_dense_or_tiled(in[0], in[1], in[2], bad[3], in[4], in[5], {}),
                      Catch::Contains("relational_attention") && Catch::Contains("(2, 6, 3, 3)"));
}

TEST_CASE("tiled relational: the selection runs dense below the threshold, tiled from it", "[tiled][relational]") {
  Generator gen(48);
  for (int64_t T : {64, 512}) {
    AttentionMask causal;
    causal.causal = true;
    const std::vector<Tensor> in = make_inputs(gen, T, T, SymbolKind::Relative, Variant::Plain);
    Tensor alpha, r;
    relational_dense_or_tiled(in[0], in[1], in[2], in[3], in[4], in[5], causal, &alpha, &r);
    REQUIRE(alpha.defined() == (T == 64));  // the dense op has them anyway; the tiled one keeps none
    REQUIRE(r.defined() == (T == 64));
    auto selected = [&](const std::vector<Tensor>& x) {
      return relational_dense_or_tiled(x[0], x[1], x[2], x[3], x[4], x[5], causal);
    };
    REQUIRE(max_difference_with_gradients(selected, as_fn(call_dense, causal), in) < 1e-12);
  }
}

TEST_CASE("RelationalAttention above the threshold: no alpha kept while training, drawn on demand",
          "[tiled][relational]") {
  Generator gen(49);
  const int64_t d = 8, T = 512;
  RelationalAttention m(d, kH, gen, RelationalAttentionOptions(), DType::F64);
  Symbols symbols;
  symbols.s = rand64({T, d}, gen, 1.0, false);  // (S, d), shared by the batch
  Tensor x = rand64({1, T, d}, gen, 1.0, false);
  AttentionMask causal;
  causal.causal = true;
  Tensor y = m.forward(x, symbols, causal);
  REQUIRE_FALSE(m.last_attention().defined());
  REQUIRE_FALSE(m.last_relations().defined());
  Tensor z;
  {
    NoGradGuard no_grad;
    m.forward(x, symbols, causal);
    REQUIRE_FALSE(m.last_attention().defined());  // an evaluation's forward keeps none either
    AttentionMapsGuard maps;
    z = m.forward(x, symbols, causal);
  }
  REQUIRE(max_abs_diff(y.detach(), z) == 0);
  REQUIRE(m.last_attention().shape() == Shape{1, kH, T, T});
  REQUIRE(m.last_relations().shape() == Shape{1, T, T, kH});
  REQUIRE(m.last_attention().at({0, 1, 3, 4}) == 0);  // causal
}
