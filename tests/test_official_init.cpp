// The DAT authors' initialisation and symbol source (AttentionConfig::official): the bound of wr,
// the Xavier-uniform relative table, and symbols computed from a block's residual stream.
#include "tests/testing.h"

#include <algorithm>
#include <cmath>
#include "models/blocks.h"
#include "nn/relational_attention.h"
#include "nn/symbols.h"

using namespace dl;
using namespace dl::testing;

namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::fabs(v));
  return m;
}

}  // namespace

TEST_CASE("relational attention: wr's bound, 1/sqrt(d_r) or the official 1/sqrt(dh d_r)", "[relational]") {
  const int64_t d = 64, H = 2, d_r = 4, dh = d / H;  // wr (H, dh, d_r): 256 draws
  RelationalAttentionOptions o;
  o.n_relations = d_r;
  Generator gen(1);
  const RelationalAttention plain(d, H, gen, o);
  o.wr_fan_in = true;
  const RelationalAttention official(d, H, gen, o);
  const double wide = 1 / std::sqrt(double(d_r)), narrow = 1 / std::sqrt(double(dh * d_r));
  REQUIRE(plain.wr.shape() == Shape{H, dh, d_r});
  REQUIRE(max_abs(plain.wr) <= wide);
  REQUIRE(max_abs(plain.wr) > 0.9 * wide);  // 256 uniform draws reach the bound's last 10%
  REQUIRE(max_abs(official.wr) <= narrow);
  REQUIRE(max_abs(official.wr) > 0.9 * narrow);
}

TEST_CASE("position-relative symbols: the official Xavier-uniform table", "[symbols]") {
  Generator gen(2);
  const int64_t D = 10, d = 64;  // (2D + 1, d) = (21, 64)
  const PositionRelativeSymbols normal(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(D), gen);
  const PositionRelativeSymbols xavier(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(D).with_xavier(true),
                                       gen);
  const double bound = std::sqrt(6.0 / double(2 * D + 1 + d));
  REQUIRE(max_abs(xavier.symbols) <= bound);
  REQUIRE(max_abs(xavier.symbols) > 0.9 * bound);
  REQUIRE(max_abs(normal.symbols) > 2.0);  // 1344 N(0, 1) draws pass 2 (the uniform cannot)
}

TEST_CASE("self-attention: official symbols come from the residual stream, not the attention input", "[symbols]") {
  AttentionConfig a;
  a.kind = "dual";
  a.n_sa = a.n_ra = 1;
  a.symbols = SymbolKind::Symbolic;  // symbols that depend on their input's content
  a.n_symbols = 4;
  a.symbol_heads = 2;
  Generator gen(3);
  const Tensor in = rand64({2, 3, 8}, gen, 1.0, false), stream = rand64({2, 3, 8}, gen, 1.0, false);
  for (bool official : {false, true}) {
    INFO("official " << official);
    a.official = official;
    Generator g(4);
    const std::shared_ptr<SymbolSource> symbols = make_symbol_source(a, 3, 8, g, DType::F64);
    const SelfAttention attention(a, {8, 0, DType::F64}, symbols, g);
    const std::vector<double> own = attention.forward(in, {}).to_vector();
    const std::vector<double> given = attention.forward(in, {}, nullptr, stream).to_vector();
    const std::vector<double> same = attention.forward(in, {}, nullptr, in).to_vector();
    REQUIRE(same == own);
    REQUIRE((given == own) == !official);  // only the official source reads the stream
  }
}
