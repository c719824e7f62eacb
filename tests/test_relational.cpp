#include "ops/relational_attention.h"

#include "autograd/parallel.h"
#include "nn/checkpoint.h"
#include "nn/relational_attention.h"
#include "nn/safetensors.h"
#include "ops/sdpa.h"
#include "tests/attention_reference.h"
#include "tests/naive/modules.h"
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t B = 2, H = 2, T = 5, dh = 4, dr = 2, dp = 4, D = 2, d = 8;

enum class SymbolKind { PerPosition, Shared, Relative };

// Float64 leaves {q_attn, k_attn, q_rel, k_rel, wr, sv}; k_rel is q_rel itself when symmetric.
// For RCA (no relation term) only {q_attn, k_attn, sv}.
std::vector<Tensor> make_inputs(uint64_t seed, SymbolKind sym, bool symmetric = false,
                                bool rca = false) {
  Generator gen(seed);
  Tensor q_attn = rand64({B, H, T, dh}, gen), k_attn = rand64({B, H, T, dh}, gen);
  Tensor sv = sym == SymbolKind::PerPosition ? rand64({B, H, T, dh}, gen)
              : sym == SymbolKind::Shared    ? rand64({1, H, T, dh}, gen)
                                             : rand64({H, 2 * D + 1, dh}, gen);
  if (rca) return {q_attn, k_attn, sv};
  Tensor q_rel = rand64({B, T, dr, dp}, gen);
  Tensor k_rel = symmetric ? q_rel : rand64({B, T, dr, dp}, gen);
  return {q_attn, k_attn, q_rel, k_rel, rand64({H, dh, dr}, gen), sv};
}

using RelationalFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                const Tensor&, const Tensor&, const AttentionMask&, Tensor*, Tensor*);

// The fused op as a function of make_inputs' list.
TensorFn as_fn(RelationalFn op, const AttentionMask& mask) {
  return [op, mask](const std::vector<Tensor>& in) {
    if (in.size() == 3)
      return op(in[0], in[1], Tensor(), Tensor(), Tensor(), in[2], mask, nullptr, nullptr);
    return op(in[0], in[1], in[2], in[3], in[4], in[5], mask, nullptr, nullptr);
  };
}
TensorFn fused(const AttentionMask& mask = {}) { return as_fn(relational_attention, mask); }
// the naive reference (tests/naive/attention.h) on the same list
TensorFn reference(const AttentionMask& mask = {}) {
  return [mask](const std::vector<Tensor>& in) {
    if (in.size() == 3) return naive::relational(in[0], in[1], Tensor(), Tensor(), Tensor(), in[2], mask);
    return naive::relational(in[0], in[1], in[2], in[3], in[4], in[5], mask);
  };
}

// none, causal, key padding, both (with a fully masked query row): see standard_masks
const std::vector<AttentionMask> kMasks = standard_masks(T);
const AttentionMask& kCausal = kMasks[1];

}  // namespace

TEST_CASE("relational attention: hand-computed values", "[relational]") {
  // q_attn = 0 gives alpha = 1/2 everywhere; r_ij = q_i q_j with q = (1, 2); Wr = 3.
  Tensor zero = Tensor::zeros({1, 1, 2, 1}, DType::F64);
  Tensor q_rel = Tensor::from_vector({1, 2}, {1, 2, 1, 1}, DType::F64);
  Tensor wr = Tensor::from_vector({3}, {1, 1, 1}, DType::F64);
  Tensor sv = Tensor::from_vector({10, 20}, {1, 1, 2, 1}, DType::F64);
  Tensor alpha, r;
  // a_0 = (1*3 + 10)/2 + (2*3 + 20)/2,   a_1 = (2*3 + 10)/2 + (4*3 + 20)/2
  require_values(relational_attention(zero, zero, q_rel, q_rel, wr, sv, {}, &alpha, &r), {19.5, 24});
  require_values(alpha, {0.5, 0.5, 0.5, 0.5});
  require_values(r, {1, 2, 2, 4});
  // position-relative table for offsets -1, 0, 1 (D = 1)
  Tensor table = Tensor::from_vector({100, 200, 300}, {1, 3, 1}, DType::F64);
  // a_0 = (3 + 200)/2 + (6 + 300)/2,   a_1 = (6 + 100)/2 + (12 + 200)/2
  require_values(relational_attention(zero, zero, q_rel, q_rel, wr, table), {254.5, 159});
  // RCA: no relation term
  require_values(relational_attention(zero, zero, Tensor(), Tensor(), Tensor(), table), {250, 150});
}

TEST_CASE("relational attention: gradients of every input", "[relational][gradcheck]") {
  SECTION("per-position symbols") { CHECK_GRADIENTS(fused(), make_inputs(1, SymbolKind::PerPosition)); }
  SECTION("batch-shared symbols") { CHECK_GRADIENTS(fused(), make_inputs(2, SymbolKind::Shared)); }
  SECTION("position-relative symbols") {
    CHECK_GRADIENTS(fused(), make_inputs(3, SymbolKind::Relative));
  }
  SECTION("symmetric relations") {
    CHECK_GRADIENTS(fused(), make_inputs(4, SymbolKind::PerPosition, true));
  }
  SECTION("RCA") {
    CHECK_GRADIENTS(fused(), make_inputs(5, SymbolKind::PerPosition, false, true));
    CHECK_GRADIENTS(fused(kCausal), make_inputs(6, SymbolKind::Relative, false, true));
  }
  SECTION("causal mask") {
    CHECK_GRADIENTS(fused(kCausal), make_inputs(7, SymbolKind::Relative, true));
    CHECK_GRADIENTS(fused(kCausal), make_inputs(8, SymbolKind::Shared));
  }
  SECTION("key padding and causal, with a fully masked row") {
    CHECK_GRADIENTS(fused(kMasks[3]), make_inputs(9, SymbolKind::PerPosition));
  }
}

TEST_CASE("relational attention: forward and every gradient equal the naive reference", "[relational]") {
  SECTION("every mask, symbol kind and variant") {
    uint64_t seed = 100;
    for (const AttentionMask& mask : kMasks)
      for (SymbolKind sym : {SymbolKind::PerPosition, SymbolKind::Shared, SymbolKind::Relative})
        for (int variant = 0; variant < 3; ++variant) {  // plain, symmetric, RCA
          INFO("seed " << seed);
          std::vector<Tensor> in = make_inputs(seed++, sym, variant == 1, variant == 2);
          REQUIRE_EQUALS_NAIVE(fused(mask), reference(mask), in);
        }
  }
  SECTION("queries are the last T of T + 2 keys (decoding offset)") {
    AttentionMask offset = kCausal;
    offset.query_offset = 2;
    Generator gen(18);
    std::vector<Tensor> in = make_inputs(18, SymbolKind::Relative);
    in[1] = rand64({B, H, T + 2, dh}, gen);
    in[3] = rand64({B, T + 2, dr, dp}, gen);
    REQUIRE_EQUALS_NAIVE(fused(offset), reference(offset), in);
  }
  SECTION("the inspection outputs, detached") {
    Tensor alpha, r, alpha_ref;
    std::vector<Tensor> in = make_inputs(19, SymbolKind::PerPosition);
    relational_attention(in[0], in[1], in[2], in[3], in[4], in[5], kCausal, &alpha, &r);
    naive::relational(in[0], in[1], in[2], in[3], in[4], in[5], kCausal, &alpha_ref);
    REQUIRE(max_abs_diff(alpha, alpha_ref) < 1e-12);
    REQUIRE(r.shape() == Shape{B, T, T, dr});
    // r_ijl = <q_rel_i^l, k_rel_j^l> / sqrt(dp), element by element
    const std::vector<double> qr = in[2].to_vector(), kr = in[3].to_vector();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < T; ++j)
          for (int64_t l = 0; l < dr; ++l) {
            double dot = 0;
            for (int64_t c = 0; c < dp; ++c) dot += qr[((b * T + i) * dr + l) * dp + c] * kr[((b * T + j) * dr + l) * dp + c];
            REQUIRE(std::fabs(r.at({b, i, j, l}) - dot / std::sqrt(double(dp))) < 1e-12);
          }
    REQUIRE(!alpha.requires_grad());
    REQUIRE(!r.requires_grad());
  }
}

TEST_CASE("RCA with per-position symbols is attention with the symbols as values", "[relational]") {
  std::vector<Tensor> in = make_inputs(21, SymbolKind::PerPosition, false, true);
  Tensor a = relational_attention(in[0], in[1], Tensor(), Tensor(), Tensor(), in[2], kCausal);
  REQUIRE(max_abs_diff(a, scaled_dot_product_attention(in[0], in[1], in[2], kCausal)) < 1e-14);
}

TEST_CASE("relational attention invariants", "[relational]") {
  SECTION("causal outputs ignore later positions") {
    const int64_t t0 = 2;  // every input changes at positions > t0
    std::vector<Tensor> in = make_inputs(31, SymbolKind::PerPosition), moved = in;
    for (size_t k : {0, 1, 5}) moved[k] = perturb_after(in[k], 2, t0);  // (B, H, T, .)
    for (size_t k : {2, 3}) moved[k] = perturb_after(in[k], 1, t0);     // (B, T, .)
    Tensor a = fused(kCausal)(in), b = fused(kCausal)(moved);
    REQUIRE(max_abs_diff(slice(a, 2, 0, t0 + 1), slice(b, 2, 0, t0 + 1)) < 1e-14);
    REQUIRE(max_abs_diff(slice(a, 2, t0 + 1, T), slice(b, 2, t0 + 1, T)) > 1e-3);
  }
  SECTION("symmetric relations are symmetric") {
    std::vector<Tensor> in = make_inputs(32, SymbolKind::Relative, true);
    Tensor r;
    relational_attention(in[0], in[1], in[2], in[3], in[4], in[5], {}, nullptr, &r);
    REQUIRE(max_abs_diff(r, permute(r, {0, 2, 1, 3})) == 0);
  }
  SECTION("a query with every key masked gives zero and passes no gradient") {
    // causal + padding: query 0 of batch item 1 sees no key
    for (SymbolKind sym : {SymbolKind::PerPosition, SymbolKind::Relative}) {
      std::vector<Tensor> in = make_inputs(33, sym);
      Tensor a = fused(kMasks[3])(in);
      a.backward(Tensor::ones(a.shape(), DType::F64));
      REQUIRE(max_abs_diff(slice(slice(a, 0, 1, 2), 2, 0, 1),
                           Tensor::zeros({1, H, 1, dh}, DType::F64)) == 0);
      Tensor dq = slice(slice(in[0].grad(), 0, 1, 2), 2, 0, 1);  // that query's gradient
      REQUIRE(max_abs_diff(dq, Tensor::zeros(dq.shape(), DType::F64)) == 0);
      for (const Tensor& x : in)
        for (double v : x.grad().to_vector()) REQUIRE(std::isfinite(v));
    }
  }
  SECTION("float32 agrees with float64") {
    for (SymbolKind sym : {SymbolKind::Shared, SymbolKind::Relative}) {
      std::vector<Tensor> in = make_inputs(34, sym), in32;
      for (const Tensor& x : in) in32.push_back(x.detach().to(DType::F32));
      Tensor a32 = fused(kCausal)(in32);
      REQUIRE(a32.dtype() == DType::F32);
      REQUIRE(relative_difference(a32, fused(kCausal)(in)) < 1e-4);
    }
  }
}

TEST_CASE("relational attention: 1 and 2 threads give bitwise-identical results",
          "[relational][threads]") {
  const int previous = num_threads();
  Generator gen(35);
  const int64_t Tl = 48, dhl = 16;  // long enough that every kernel splits into many chunks
  for (bool relative : {false, true}) {
    std::vector<Tensor> in = {randn({B, H, Tl, dhl}, gen),
                              randn({B, H, Tl, dhl}, gen),
                              randn({B, Tl, dr, dhl}, gen),
                              randn({B, Tl, dr, dhl}, gen),
                              randn({H, dhl, dr}, gen),
                              relative ? randn({H, 2 * D + 1, dhl}, gen) : randn({1, H, Tl, dhl}, gen)};
    for (Tensor& t : in) t.requires_grad_();
    Tensor g = randn({B, H, Tl, dhl}, gen);
    std::vector<std::vector<double>> results[2];
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      for (const Tensor& t : in) t.zero_grad();
      Tensor y = fused(kCausal)(in);
      y.backward(g);
      results[threads - 1].push_back(y.to_vector());
      for (const Tensor& t : in) results[threads - 1].push_back(t.grad().to_vector());
    }
    set_num_threads(previous);
    REQUIRE(results[0] == results[1]);
  }
}

TEST_CASE("relational attention rejects bad inputs, naming op and shapes", "[relational][errors]") {
  std::vector<Tensor> in = make_inputs(41, SymbolKind::PerPosition);
  auto with = [&](size_t k, const Tensor& t) {
    std::vector<Tensor> v = in;
    v[k] = t;
    return fused()(v);
  };
  const std::string op = "relational_attention";
  REQUIRE_THROWS_WITH(
      with(4, Tensor::zeros({H, dr, dh}, DType::F64)),
      Catch::Contains(op) && Catch::Contains("(2, 2, 4)") && Catch::Contains("(2, 4, 2)"));
  REQUIRE_THROWS_WITH(with(3, Tensor::zeros({B, T, 3, dp}, DType::F64)),
                      Catch::Contains(op) && Catch::Contains("(2, 5, 3, 4)"));
  REQUIRE_THROWS_WITH(with(1, Tensor::zeros({B, H, T, 3}, DType::F64)),
                      Catch::Contains(op) && Catch::Contains("(2, 2, 5, 3)"));
  REQUIRE_THROWS_WITH(with(5, Tensor::zeros({H, 4, dh}, DType::F64)),
                      Catch::Contains(op) && Catch::Contains("(2, 4, 4)"));
  REQUIRE_THROWS_WITH(with(5, Tensor::zeros({3, H, T, dh}, DType::F64)),
                      Catch::Contains(op) && Catch::Contains("(3, 2, 5, 4)"));
  REQUIRE_THROWS_WITH(with(2, Tensor()), Catch::Contains(op) && Catch::Contains("RCA"));
  REQUIRE_THROWS_WITH(with(0, in[0].detach().to(DType::F32)),
                      Catch::Contains(op) && Catch::Contains("float32"));
}

// ---- the RelationalAttention module ----

namespace {

struct ModuleCase {
  const char* name;
  RelationalAttentionOptions options;
  std::shared_ptr<SymbolSource> symbols;
  AttentionMask mask;
};

std::vector<ModuleCase> module_cases(Generator& gen) {
  RelationalAttentionOptions sym, rca, wide;
  sym.symmetric = true;
  rca.rca = true;
  wide.n_relations = 3, wide.rel_dim = 2;
  return {
      {"positional", RelationalAttentionOptions(), std::make_shared<PositionalSymbols>(PositionalSymbolsOptions().with_d(d).with_max_len(T + 1), gen, DType::F64), kMasks[0]},
      {"symmetric, relative, causal", sym,
       std::make_shared<PositionRelativeSymbols>(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(D), gen, DType::F64), kCausal},
      {"symbolic, d_r 3, dp 2, padding", wide,
       std::make_shared<SymbolicAttention>(SymbolicAttentionOptions().with_d(d).with_n_symbols(3).with_heads(2), gen, DType::F64), kMasks[3]},
      {"RCA, relative, causal", rca, std::make_shared<PositionRelativeSymbols>(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(D), gen, DType::F64),
       kCausal},
      {"RCA, positional", rca, std::make_shared<PositionalSymbols>(PositionalSymbolsOptions().with_d(d).with_max_len(T), gen, DType::F64), kMasks[2]},
  };
}

// x, then every parameter of the module and of the symbol source
std::vector<Tensor> module_inputs(const Tensor& x, const Module& m, const Module& src) {
  std::vector<Tensor> in{x};
  for (const Tensor& p : m.parameters()) in.push_back(p);
  for (const Tensor& p : src.parameters()) in.push_back(p);
  return in;
}

std::vector<std::string> names_and_shapes(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, p] : m.named_parameters()) out.push_back(name + " " + shape_str(p.shape()));
  return out;
}

}  // namespace

TEST_CASE("RelationalAttention: parameter names and shapes", "[relational]") {
  Generator gen(51);
  REQUIRE(names_and_shapes(RelationalAttention(8, 2, gen)) ==
          std::vector<std::string>{
              "wr (2, 4, 2)", "wq_attn.weight (8, 8)", "wq_attn.bias (8)", "wk_attn.weight (8, 8)",
              "wk_attn.bias (8)", "wq_rel.weight (8, 8)", "wq_rel.bias (8)", "wk_rel.weight (8, 8)",
              "wk_rel.bias (8)", "wv.weight (8, 8)", "wv.bias (8)", "wo.weight (8, 8)", "wo.bias (8)"});
  RelationalAttentionOptions o;
  o.symmetric = true, o.head_dim = 3, o.n_relations = 5, o.rel_dim = 2, o.bias = false;
  REQUIRE(names_and_shapes(RelationalAttention(8, 2, gen, o)) ==
          std::vector<std::string>{"wr (2, 3, 5)", "wq_attn.weight (6, 8)", "wk_attn.weight (6, 8)",
                                   "wq_rel.weight (10, 8)", "wv.weight (6, 8)", "wo.weight (6, 6)"});
  o.rca = true;
  REQUIRE(names_and_shapes(RelationalAttention(8, 2, gen, o)) ==
          std::vector<std::string>{"wq_attn.weight (6, 8)", "wk_attn.weight (6, 8)", "wv.weight (6, 8)",
                                   "wo.weight (6, 6)"});
}

TEST_CASE("RelationalAttention: gradients of the input and every parameter",
          "[relational][gradcheck]") {
  Generator gen(52);
  for (ModuleCase& c : module_cases(gen)) {
    INFO(c.name);
    RelationalAttention m(d, H, gen, c.options, DType::F64);
    CHECK_GRADIENTS(
        [&](const std::vector<Tensor>& in) {
          return m.forward(in[0], c.symbols->forward(in[0]), c.mask);
        },
        module_inputs(rand64({B, T, d}, gen), m, *c.symbols));
  }
}

TEST_CASE("RelationalAttention: forward and every gradient equal the naive reference", "[relational]") {
  Generator gen(53);
  for (ModuleCase& c : module_cases(gen)) {
    INFO(c.name);
    RelationalAttention m(d, H, gen, c.options, DType::F64);
    auto fused_m = [&](const std::vector<Tensor>& v) {
      return m.forward(v[0], c.symbols->forward(v[0]), c.mask);
    };
    auto reference_m = [&](const std::vector<Tensor>& v) {
      return naive::tensor_of(naive::relational_module(m, v[0], c.symbols->forward(v[0]), c.mask), B);
    };
    REQUIRE_EQUALS_NAIVE(fused_m, reference_m, module_inputs(rand64({B, T, d}, gen), m, *c.symbols));
  }
}

TEST_CASE("RelationalAttention keeps alpha and r of its last forward", "[relational]") {
  Generator gen(54);
  RelationalAttentionOptions o;
  o.symmetric = true;
  RelationalAttention m(d, H, gen, o, DType::F64);
  PositionalSymbols src(PositionalSymbolsOptions().with_d(d).with_max_len(T), gen, DType::F64);
  Tensor x = rand64({B, T, d}, gen);
  Tensor y = m.forward(x, src.forward(x), kCausal);
  REQUIRE(y.shape() == Shape{B, T, d});
  REQUIRE(m.last_attention().shape() == Shape{B, H, T, T});
  REQUIRE(m.last_relations().shape() == Shape{B, T, T, H});  // d_r = n_heads by default
  REQUIRE(!m.last_attention().requires_grad());
  REQUIRE(m.last_attention().at({0, 1, 1, 2}) == 0);  // causal
  REQUIRE(std::fabs(m.last_attention().at({0, 1, 1, 0}) + m.last_attention().at({0, 1, 1, 1}) - 1) <
          1e-12);
  REQUIRE(max_abs_diff(m.last_relations(), permute(m.last_relations(), {0, 2, 1, 3})) ==
          0);  // symmetric
}

TEST_CASE("RelationalAttention: float32 agrees with float64; bad inputs throw",
          "[relational][errors]") {
  Generator gen(55);
  RelationalAttention m(d, H, gen, RelationalAttentionOptions(), DType::F64);
  PositionRelativeSymbols src(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(D), gen, DType::F64);
  Tensor x = rand64({B, T, d}, gen, 1.0, false);
  Tensor y = m.forward(x, src.forward(x), kCausal);
  m.to(DType::F32);
  src.to(DType::F32);
  Tensor x32 = x.to(DType::F32);
  REQUIRE(relative_difference(m.forward(x32, src.forward(x32), kCausal), y) < 1e-4);

  REQUIRE_THROWS_WITH(RelationalAttention(10, 3, gen), Catch::Contains("RelationalAttention") &&
                                                           Catch::Contains("10") &&
                                                           Catch::Contains("3"));
  REQUIRE_THROWS_WITH(m.forward(Tensor::zeros({B, T, 6}), src.forward(x32)),
                      Catch::Contains("RelationalAttention") && Catch::Contains("(2, 5, 6)"));
  PositionalSymbols short_src(PositionalSymbolsOptions().with_d(d).with_max_len(3), gen);  // symbols for 3 positions, 5 needed
  REQUIRE_THROWS_WITH(m.forward(x32, short_src.forward(slice(x32, 1, 0, 3))),
                      Catch::Contains("relational_attention") && Catch::Contains("(1, 2, 3, 4)"));
}

TEST_CASE("RelationalAttention: a training step leaves no graph or buffers behind", "[relational]") {
  Generator gen(56);
  RelationalAttentionOptions o;
  o.symmetric = true;
  RelationalAttention m(d, H, gen, o, DType::F64);
  PositionRelativeSymbols src(PositionRelativeSymbolsOptions().with_d(d).with_max_offset(D), gen, DType::F64);
  Tensor x = rand64({B, T, d}, gen, 1.0, false);
  auto step = [&] {
    Tensor y = m.forward(x, src.forward(x), kCausal);
    sum(y * y).backward();
    m.zero_grad();
    src.zero_grad();
  };
  step();  // the module now holds the last alpha and r; that is its steady state
  const int64_t nodes = live_nodes(), bytes = live_storage_bytes();
  step();
  REQUIRE(live_nodes() == nodes);
  REQUIRE(live_storage_bytes() == bytes);
}

// A symmetric module's state dict is what PyTorch's module with self.wk_rel = self.wq_rel would
// give (tests/pytorch_load_relational.py loads a saved one with strict=True): wk_rel.* beside
// wq_rel.*, the same tensors; the parameters (what an optimizer sees) hold them once.
TEST_CASE("symmetric RelationalAttention: wk_rel is saved under its own name and checked on load", "[relational][checkpoint]") {
  TempDir dir;
  Generator gen(81), other(82);
  RelationalAttentionOptions o;
  o.symmetric = true;
  RelationalAttention m(8, 2, gen, o), restored(8, 2, other, o);
  const auto state = m.state_dict();
  REQUIRE((state.count("wk_rel.weight") && state.count("wk_rel.bias")));
  REQUIRE(state.at("wk_rel.weight").same(state.at("wq_rel.weight")));
  REQUIRE(m.tied_names() == std::map<std::string, std::string>{{"wk_rel.bias", "wq_rel.bias"},
                                                               {"wk_rel.weight", "wq_rel.weight"}});
  REQUIRE(state.size() == m.named_parameters().size() + 2);

  // through a safetensors file, as written: both names, equal values
  const std::string path = dir.path + "/ra.safetensors";
  write_safetensors(path, state, {});
  std::map<std::string, Tensor> read = read_safetensors(path).tensors;
  REQUIRE(read.at("wk_rel.weight").to_vector() == read.at("wq_rel.weight").to_vector());
  restored.load_state_dict(read);
  for (const auto& [name, t] : restored.state_dict()) REQUIRE(t.to_vector() == state.at(name).to_vector());

  // a state without the second name (saved before it was stored) still loads
  std::map<std::string, Tensor> old = read;
  old.erase("wk_rel.weight");
  old.erase("wk_rel.bias");
  RelationalAttention from_old(8, 2, other, o);
  from_old.load_state_dict(old);
  REQUIRE(from_old.wk_rel->weight.to_vector() == state.at("wq_rel.weight").to_vector());

  // two copies that differ are refused, naming both
  std::vector<double> w = read.at("wk_rel.weight").to_vector();
  w[0] += 1;
  read["wk_rel.weight"] = Tensor::from_vector(w, read.at("wk_rel.weight").shape());
  REQUIRE_THROWS_WITH(restored.load_state_dict(read),
                      Catch::Contains("'wk_rel.weight' and 'wq_rel.weight' are one tied tensor") &&
                          Catch::Contains("differ"));
  write_safetensors(path, read, {{"step", "0"}});
  REQUIRE_THROWS_WITH(load_checkpoint(path, restored), Catch::Contains("load_checkpoint") &&
                                                          Catch::Contains("'wk_rel.weight' and 'wq_rel.weight'"));

  // a checkpoint round trip keeps the tie: one tensor under two names
  save_checkpoint(path, m, nullptr, 3);
  RelationalAttention loaded(8, 2, other, o);
  REQUIRE(load_checkpoint(path, loaded).step == 3);
  REQUIRE(loaded.wk_rel == loaded.wq_rel);
  REQUIRE(loaded.wq_rel->weight.to_vector() == state.at("wq_rel.weight").to_vector());
}
