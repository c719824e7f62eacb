#include "nn/symbols.h"

#include <cmath>
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

std::vector<Tensor> with_parameters(std::vector<Tensor> inputs, const Module& m) {
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  return inputs;
}

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, p] : m.named_parameters()) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("positional symbols: the first S rows of the table", "[symbols]") {
  Generator gen(1);
  PositionalSymbols src(PositionalSymbolsOptions().with_d(8).with_max_len(7), gen, DType::F64);
  REQUIRE(names(src) == std::vector<std::string>{"symbols"});
  Tensor x = rand64({2, 5, 8}, gen, 1.0, false);
  Symbols s = src.forward(x);
  REQUIRE(!s.relative);
  REQUIRE(s.s.shape() == Shape{5, 8});
  REQUIRE(max_abs_diff(s.s, slice(src.symbols, 0, 0, 5)) == 0);
  // only the rows in use receive a gradient
  sum(s.s * s.s).backward();
  std::vector<double> g = src.symbols.grad().to_vector(), v = src.symbols.to_vector();
  for (int64_t k = 0; k < 7 * 8; ++k) REQUIRE(g[k] == (k < 5 * 8 ? 2 * v[k] : 0.0));
  REQUIRE_THROWS_WITH(src.forward(rand64({2, 8, 8}, gen, 1.0, false)),
                      Catch::Contains("PositionalSymbols") && Catch::Contains("(2, 8, 8)") &&
                          Catch::Contains("max_len 7"));
  REQUIRE_THROWS_WITH(src.forward(rand64({2, 5, 6}, gen, 1.0, false)),
                      Catch::Contains("PositionalSymbols") && Catch::Contains("(2, 5, 6)"));
  // decoding with a cache: the new positions' rows, counted from the offset
  REQUIRE(max_abs_diff(src.forward(rand64({2, 3, 8}, gen, 1.0, false), 4).s, slice(src.symbols, 0, 4, 7)) == 0);
  REQUIRE_THROWS_WITH(src.forward(rand64({2, 2, 8}, gen, 1.0, false), 6),
                      Catch::Contains("PositionalSymbols") && Catch::Contains("positions 6 to 7") &&
                          Catch::Contains("max_len 7"));
}

TEST_CASE("position-relative symbols: the whole (2D+1, d) table, flagged relative", "[symbols]") {
  Generator gen(2);
  PositionRelativeSymbols src(PositionRelativeSymbolsOptions().with_d(8).with_max_offset(3), gen, DType::F64);
  REQUIRE(names(src) == std::vector<std::string>{"symbols"});
  Symbols s = src.forward(rand64({2, 5, 8}, gen, 1.0, false));
  REQUIRE(s.relative);
  REQUIRE(s.s.shape() == Shape{7, 8});
  REQUIRE(s.s.same(src.symbols));
  REQUIRE_THROWS_WITH(PositionRelativeSymbols(PositionRelativeSymbolsOptions().with_d(8).with_max_offset(-1), gen), Catch::Contains("PositionRelativeSymbols"));
}

TEST_CASE("symbolic attention: per-head attention over the symbol library", "[symbols]") {
  Generator gen(3);
  const int64_t B = 2, S = 5, d = 8, n_s = 6, H = 2, dk = d / H;
  SymbolicAttention src(SymbolicAttentionOptions().with_d(d).with_n_symbols(n_s).with_heads(H), gen, DType::F64);
  REQUIRE(names(src) == std::vector<std::string>{"templates", "symbols", "wq.weight", "wq.bias"});
  Tensor x = rand64({B, S, d}, gen);
  Symbols s = src.forward(x);
  REQUIRE(!s.relative);
  REQUIRE(s.s.shape() == Shape{B, S, d});

  // the formula head by head: s^h = softmax(q^h F^h^T / sqrt(d / H)) S_lib^h
  Tensor q = matmul(x, src.wq->weight, false, true) + src.wq->bias;  // (B, S, d)
  std::vector<Tensor> per_head;
  for (int64_t h = 0; h < H; ++h) {
    auto cols = [&](const Tensor& t) { return slice(t, t.dim() - 1, h * dk, (h + 1) * dk); };
    Tensor p = softmax(matmul(cols(q), cols(src.templates), false, true) / std::sqrt(double(dk)));
    per_head.push_back(matmul(p, cols(src.symbols)));  // (B, S, dk)
  }
  REQUIRE(max_abs_diff(s.s, concat(per_head, 2)) < 1e-12);

  // each position's symbol depends on that position only
  Tensor x2 = concat({slice(x, 1, 0, 3).detach(), slice(x, 1, 3, S).detach() + 1.0}, 1);
  REQUIRE(max_abs_diff(slice(src.forward(x2).s, 1, 0, 3), slice(s.s, 1, 0, 3)) == 0);

  CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return src.forward(in[0]).s; },
                  with_parameters({x}, src));
  REQUIRE_THROWS_WITH(SymbolicAttention(SymbolicAttentionOptions().with_d(8).with_n_symbols(6).with_heads(3), gen),
                      Catch::Contains("SymbolicAttention") && Catch::Contains("d 8") && Catch::Contains("heads 3"));
  REQUIRE_THROWS_WITH(src.forward(rand64({B, S, 6}, gen)),
                      Catch::Contains("SymbolicAttention") && Catch::Contains("(2, 5, 6)"));
}

TEST_CASE("one symbol source serves several layers through the common interface", "[symbols]") {
  Generator gen(4);
  std::shared_ptr<SymbolSource> src = std::make_shared<SymbolicAttention>(SymbolicAttentionOptions().with_d(8).with_n_symbols(4).with_heads(2), gen, DType::F64);
  Tensor x = rand64({2, 5, 8}, gen, 1.0, false);
  Tensor layer1 = src->forward(x).s, layer2 = src->forward(x * 2.0).s;  // each layer's own input
  (sum(layer1) + sum(layer2 * layer2)).backward();
  for (const Tensor& p : src->parameters()) REQUIRE(p.grad().defined());
  REQUIRE(max_abs_diff(layer1, layer2) > 1e-3);
}
