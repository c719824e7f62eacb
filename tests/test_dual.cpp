#include "nn/dual_attention.h"

#include "tests/attention_reference.h"
#include "tests/naive/modules.h"
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t B = 2, T = 5, d = 8;

struct DualCase {
  const char* name;
  int64_t n_sa, n_ra;
  bool symmetric;
  std::shared_ptr<SymbolSource> symbols;
  AttentionMask mask;
};

std::vector<DualCase> dual_cases(Generator& gen) {
  const std::vector<AttentionMask> masks = standard_masks(T);  // none, causal, padding, both
  return {
      {"1 + 1 heads, symmetric, positional, causal", 1, 1, true,
       std::make_shared<PositionalSymbols>(PositionalSymbolsOptions().with_d(d).with_max_len(T), gen, DType::F64), masks[1]},
      {"0 + 2 heads, relative, padding and causal", 0, 2, false,
       std::make_shared<PositionRelativeSymbols>(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(2), gen, DType::F64), masks[3]},
      {"2 + 0 heads, padding", 2, 0, false, std::make_shared<PositionalSymbols>(PositionalSymbolsOptions().with_d(d).with_max_len(T), gen, DType::F64),
       masks[2]},
      {"1 + 1 heads, symbolic, no mask", 1, 1, false,
       std::make_shared<SymbolicAttention>(SymbolicAttentionOptions().with_d(d).with_n_symbols(3).with_heads(2), gen, DType::F64), masks[0]},
  };
}

DualAttention make_dual(const DualCase& c, Generator& gen) {
  RelationalAttentionOptions o;
  o.symmetric = c.symmetric;
  return DualAttention(DualAttentionOptions().with_d(d).with_n_sa(c.n_sa).with_n_ra(c.n_ra).with_relational(o), gen, DType::F64);
}

std::vector<Tensor> inputs(const Tensor& x, const Module& m, const Module& src) {
  std::vector<Tensor> in{x};
  for (const Tensor& p : m.parameters()) in.push_back(p);
  for (const Tensor& p : src.parameters()) in.push_back(p);
  return in;
}

}  // namespace

TEST_CASE("DualAttention: submodules, names and shapes", "[dual]") {
  Generator gen(1);
  DualAttention both(DualAttentionOptions().with_d(d).with_n_sa(1).with_n_ra(1), gen);
  REQUIRE(both.head_dim == 4);
  const auto state = both.state_dict();
  REQUIRE(state.at("sa.wq.weight").shape() == Shape{4, 8});
  REQUIRE(state.at("sa.wo.weight").shape() == Shape{4, 4});
  REQUIRE(state.at("ra.wq_attn.weight").shape() == Shape{4, 8});
  REQUIRE(state.at("ra.wr").shape() == Shape{1, 4, 1});  // d_r = n_ra
  REQUIRE(state.at("ra.wo.weight").shape() == Shape{4, 4});
  REQUIRE(state.size() == 8 + 13);  // MHA: 4 Linears; RelationalAttention: 6 Linears and wr
  DualAttention sensory(DualAttentionOptions().with_d(d).with_n_sa(2).with_n_ra(0), gen);
  DualAttention relational(DualAttentionOptions().with_d(d).with_n_sa(0).with_n_ra(4), gen);
  REQUIRE((sensory.sa && !sensory.ra && relational.ra && !relational.sa));
  REQUIRE(relational.ra->head_dim == 2);
}

TEST_CASE("DualAttention concatenates its sensory and relational heads", "[dual]") {
  Generator gen(2);
  DualAttention m(DualAttentionOptions().with_d(d).with_n_sa(1).with_n_ra(1), gen, DType::F64);
  PositionalSymbols src(PositionalSymbolsOptions().with_d(d).with_max_len(T), gen, DType::F64);
  Tensor x = rand64({B, T, d}, gen, 1.0, false);
  AttentionMask causal;
  causal.causal = true;
  Tensor y = m.forward(x, src.forward(x), causal);
  REQUIRE(y.shape() == Shape{B, T, d});
  Tensor expected = concat({m.sa->forward(x, x, causal), m.ra->forward(x, src.forward(x), causal)}, 2);
  REQUIRE(max_abs_diff(y, expected) == 0);
  // the heatmaps of both kinds of heads
  REQUIRE(m.sa->last_attention().shape() == Shape{B, 1, T, T});
  REQUIRE(m.ra->last_attention().shape() == Shape{B, 1, T, T});
  REQUIRE(m.ra->last_relations().shape() == Shape{B, T, T, 1});
}

TEST_CASE("DualAttention: gradients of the input and every parameter", "[dual][gradcheck]") {
  Generator gen(3);
  for (const DualCase& c : dual_cases(gen)) {
    INFO(c.name);
    DualAttention m = make_dual(c, gen);
    CHECK_GRADIENTS(
        [&](const std::vector<Tensor>& in) {
          return m.forward(in[0], c.symbols->forward(in[0]), c.mask);
        },
        inputs(rand64({B, T, d}, gen), m, *c.symbols));
  }
}

TEST_CASE("DualAttention: forward and every gradient equal the naive reference", "[dual]") {
  Generator gen(4);
  for (const DualCase& c : dual_cases(gen)) {
    INFO(c.name);
    DualAttention m = make_dual(c, gen);
    auto fused = [&](const std::vector<Tensor>& in) {
      return m.forward(in[0], c.symbols->forward(in[0]), c.mask);
    };
    auto reference = [&](const std::vector<Tensor>& in) {
      return naive::dual(m, in[0], c.symbols->forward(in[0]), c.mask);
    };
    REQUIRE_EQUALS_NAIVE(fused, reference, inputs(rand64({B, T, d}, gen), m, *c.symbols));
  }
}

TEST_CASE("DualAttention invariants: causality, float32", "[dual]") {
  Generator gen(5);
  for (const DualCase& c : dual_cases(gen)) {
    if (!c.mask.causal) continue;
    INFO(c.name);
    DualAttention m = make_dual(c, gen);
    Tensor x = rand64({B, T, d}, gen, 1.0, false), moved = perturb_after(x, 1, 2);
    Tensor a = m.forward(x, c.symbols->forward(x), c.mask),
           b = m.forward(moved, c.symbols->forward(moved), c.mask);
    REQUIRE(max_abs_diff(slice(a, 1, 0, 3), slice(b, 1, 0, 3)) < 1e-14);
    REQUIRE(max_abs_diff(slice(a, 1, 3, T), slice(b, 1, 3, T)) > 1e-3);

    m.to(DType::F32);
    c.symbols->to(DType::F32);
    Tensor x32 = x.to(DType::F32);
    REQUIRE(relative_difference(m.forward(x32, c.symbols->forward(x32), c.mask), a) < 1e-4);
  }
}

TEST_CASE("DualAttention rejects bad sizes and inputs", "[dual][errors]") {
  Generator gen(6);
  REQUIRE_THROWS_WITH(DualAttention(DualAttentionOptions().with_d(d).with_n_sa(2).with_n_ra(1), gen),
                      Catch::Contains("DualAttention") && Catch::Contains("d = 8"));
  REQUIRE_THROWS_WITH(DualAttention(DualAttentionOptions().with_d(d).with_n_sa(0).with_n_ra(0), gen), Catch::Contains("DualAttention"));
  REQUIRE_THROWS_WITH(DualAttention(DualAttentionOptions().with_d(d).with_n_sa(-1).with_n_ra(3), gen),
                      Catch::Contains("DualAttention") && Catch::Contains("-1"));
  DualAttention m(DualAttentionOptions().with_d(d).with_n_sa(1).with_n_ra(1), gen);
  PositionalSymbols src(PositionalSymbolsOptions().with_d(d).with_max_len(T), gen);
  REQUIRE_THROWS_WITH(m.forward(Tensor::zeros({B, T, 6}), src.forward(Tensor::zeros({B, T, d}))),
                      Catch::Contains("DualAttention") && Catch::Contains("(2, 5, 6)"));
}
