#include <type_traits>
#include "nn/attention.h"
#include "nn/diagnostics.h"
#include "nn/differential_attention.h"
#include "nn/dual_attention.h"
#include "nn/gpam_attention.h"
#include "ops/tiled_sdpa.h"
#include "tests/attention_reference.h"
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t B = 2, T = 5, S = 6, d = 8, H = 2, dh = d / H;

// ---- each module's formula spelled out per head, with primitive ops and its own parameters ----

Tensor linear_twin(const Linear& l, const Tensor& x) { return matmul(x, l.weight, false, true) + l.bias; }

Tensor cols(const Tensor& x, int64_t from, int64_t size) { return slice(x, -1, from, from + size); }

// softmax(q k^T / sqrt(dh) + M) of one head: q (B, T, dh), k (B, S, dh) -> (B, T, S)
Tensor head_probs(const Tensor& q, const Tensor& k, const AttentionMask& mask) {
  const int64_t b = q.size(0), t = q.size(1), s = k.size(1);
  return softmax(matmul(q, k, false, true) * (1 / std::sqrt(static_cast<double>(q.size(2)))),
                 reshape(dense_attention_mask(mask, b, t, s), {b, t, s}));
}

Tensor mha_twin(const MultiHeadAttention& m, const Tensor& x, const Tensor& y, const AttentionMask& mask) {
  Tensor q = linear_twin(*m.wq, x), k = linear_twin(*m.wk, y), v = linear_twin(*m.wv, y);
  std::vector<Tensor> heads;
  for (int64_t h = 0; h < m.heads; ++h) {
    const int64_t at = h * m.head_dim;
    heads.push_back(matmul(head_probs(cols(q, at, m.head_dim), cols(k, at, m.head_dim), mask), cols(v, at, m.head_dim)));
  }
  return linear_twin(*m.wo, concat(heads, -1));
}

Tensor gpam_twin(const GPAMAttention& m, const Tensor& x, const Tensor& y, const AttentionMask& mask) {
  Tensor q = linear_twin(*m.wq, x), k = linear_twin(*m.wk, y), v = linear_twin(*m.wv, y);
  Tensor lam = m.theta.defined() ? sigmoid(m.theta) * m.options.lam_max
                                 : Tensor::full({m.heads}, m.options.lam, m.wneg.dtype());
  std::vector<Tensor> heads;
  for (int64_t h = 0; h < m.heads; ++h) {
    const int64_t at = h * m.head_dim;
    Tensor qp = cols(q, at, m.head_dim), kh = cols(k, at, m.head_dim);
    Tensor qn = matmul(relu(qp), reshape(slice(m.wneg, 0, h, h + 1), {m.head_dim, m.head_dim}));
    Tensor l = slice(lam, 0, h, h + 1);
    Tensor A = (1.0 + l) * head_probs(qp, kh, mask) - l * head_probs(qn, kh, mask);
    heads.push_back(matmul(A, cols(v, at, m.head_dim)));
  }
  return linear_twin(*m.wo, concat(heads, -1));
}

Tensor differential_twin(const DifferentialAttention& m, const Tensor& x, const Tensor& y, const AttentionMask& mask) {
  Tensor q = linear_twin(*m.wq, x), k = linear_twin(*m.wk, y), v = linear_twin(*m.wv, y);
  Tensor lam = exp(sum(m.lq1 * m.lk1)) - exp(sum(m.lq2 * m.lk2)) + m.lam_init;
  const int64_t half = m.head_dim;
  std::vector<Tensor> heads;
  for (int64_t h = 0; h < m.heads; ++h) {
    const int64_t at = 2 * half * h;
    Tensor A = head_probs(cols(q, at, half), cols(k, at, half), mask) -
               lam * head_probs(cols(q, at + half, half), cols(k, at + half, half), mask);
    Tensor o = matmul(A, cols(v, at, 2 * half));
    heads.push_back(o / sqrt(mean(o * o, {-1}, true) + 1e-5) * m.subln->weight * (1 - m.lam_init));
  }
  return linear_twin(*m.wo, concat(heads, -1));
}

// ---- shared checks, for any module with forward(x, y, mask) ----

std::vector<Tensor> with_params(std::vector<Tensor> inputs, const Module& m) {
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  return inputs;
}

AttentionMask causal_mask() {
  AttentionMask m;
  m.causal = true;
  return m;
}

// The cross-attention mask: item 0 pads its last two source positions.
AttentionMask source_padding() {
  std::vector<bool> pad(B * S, false);
  pad[S - 2] = pad[S - 1] = true;
  AttentionMask m;
  m.key_padding = Tensor::from_bools(pad, {B, S});
  return m;
}

// Global self-attention, causal self-attention and cross-attention: gradients of the inputs and
// every parameter by finite differences, and forward and every gradient against the twin.
template <class M, class Twin>
void check_three_uses(M& m, Twin twin, Generator& gen) {
  Tensor x = rand64({B, T, d}, gen), y = rand64({B, S, d}, gen);
  for (const AttentionMask& mask : {AttentionMask(), causal_mask()}) {
    auto self = [&](const std::vector<Tensor>& in) { return m.forward(in[0], in[0], mask); };
    CHECK_GRADIENTS(self, with_params({x}, m));
    auto self_twin = [&](const std::vector<Tensor>& in) { return twin(m, in[0], in[0], mask); };
    REQUIRE(max_difference_with_gradients(self, self_twin, with_params({x}, m)) < 1e-10);
  }
  const AttentionMask pad = source_padding();
  auto cross = [&](const std::vector<Tensor>& in) { return m.forward(in[0], in[1], pad); };
  CHECK_GRADIENTS(cross, with_params({x, y}, m));
  auto cross_twin = [&](const std::vector<Tensor>& in) { return twin(m, in[0], in[1], pad); };
  REQUIRE(max_difference_with_gradients(cross, cross_twin, with_params({x, y}, m)) < 1e-10);
  REQUIRE(m.last_attention().shape() == Shape{B, H, T, S});
  REQUIRE_FALSE(m.last_attention().requires_grad());
}

// Causal outputs do not move when later positions change; padded source positions are ignored;
// the float32 forward matches the float64 one.
template <class M>
void check_invariants(M& m, Generator& gen) {
  Tensor x = rand64({B, T, d}, gen, 1, false), y = rand64({B, S, d}, gen, 1, false);
  const AttentionMask causal = causal_mask();
  Tensor out = m.forward(x, x, causal);
  for (int64_t i = 0; i < T - 1; ++i) {
    Tensor x2 = perturb_after(x, 1, i);
    Tensor moved = m.forward(x2, x2, causal);
    REQUIRE(max_abs_diff(slice(moved, 1, 0, i + 1), slice(out, 1, 0, i + 1)) == 0);
    REQUIRE(max_abs_diff(slice(moved, 1, i + 1, T), slice(out, 1, i + 1, T)) > 0);
  }
  Tensor padded = slice(m.forward(x, y, source_padding()), 0, 0, 1);
  Tensor dropped = m.forward(slice(x, 0, 0, 1), slice(slice(y, 0, 0, 1), 1, 0, S - 2));
  REQUIRE(max_abs_diff(padded, dropped) < 1e-13);

  Tensor out64 = m.forward(x, y, source_padding());
  m.to(DType::F32);
  Tensor out32 = m.forward(x.to(DType::F32), y.to(DType::F32), source_padding());
  m.to(DType::F64);
  REQUIRE(out32.dtype() == DType::F32);
  REQUIRE(relative_difference(out32, out64) < 1e-4);
}

// Decoding one position at a time with a KVCache, then one cached position plus the rest at
// once, gives the rows of the full causal pass, and the attention rows too.
template <class M>
void check_kv_cache(M& m, Generator& gen) {
  Tensor x = rand64({B, T, d}, gen, 1, false);
  Tensor full = m.forward(x, x, causal_mask());
  Tensor full_probs = m.last_attention();
  NoGradGuard no_grad;  // as in greedy decoding
  KVCache cache;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < T; ++t) {
    Tensor xt = slice(x, 1, t, t + 1);
    steps.push_back(m.forward(xt, xt, causal_mask(), &cache));
    REQUIRE(cache.length() == t + 1);
    REQUIRE(m.last_attention().shape() == Shape{B, H, 1, t + 1});
    REQUIRE(max_abs_diff(m.last_attention(), slice(slice(full_probs, 2, t, t + 1), 3, 0, t + 1)) < 1e-14);
  }
  REQUIRE(max_abs_diff(concat(steps, 1), full) < 1e-13);
  KVCache chunked;
  Tensor first = m.forward(slice(x, 1, 0, 1), slice(x, 1, 0, 1), causal_mask(), &chunked);
  Tensor rest = m.forward(slice(x, 1, 1, T), slice(x, 1, 1, T), causal_mask(), &chunked);
  REQUIRE(max_abs_diff(concat({first, rest}, 1), full) < 1e-13);
}

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, p] : m.state_dict()) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("MultiHeadAttention: parameters, gradients and the composed twin", "[attention_modules][gradcheck]") {
  Generator gen(41);
  MultiHeadAttention m(d, H, gen, DType::F64);
  REQUIRE(names(m) == std::vector<std::string>{"wk.bias", "wk.weight", "wo.bias", "wo.weight", "wq.bias",
                                               "wq.weight", "wv.bias", "wv.weight"});
  REQUIRE(m.wq->weight.shape() == Shape{d, d});
  check_three_uses(m, mha_twin, gen);
}

TEST_CASE("MultiHeadAttention: causality, padding, float32", "[attention_modules]") {
  Generator gen(42);
  MultiHeadAttention m(d, H, gen, DType::F64);
  check_invariants(m, gen);
  // heads of another size (dual attention's sensory part): d -> H * head_dim
  MultiHeadAttention narrow(MultiHeadAttentionOptions().with_d(d).with_heads(H).with_head_dim(3), gen, DType::F64);
  REQUIRE(narrow.forward(rand64({B, T, d}, gen), rand64({B, T, d}, gen)).shape() == Shape{B, T, H * 3});
}

TEST_CASE("MultiHeadAttention and GPAMAttention: the KV-cache path equals the full causal pass", "[attention_modules]") {
  Generator gen(43);
  MultiHeadAttention mha(d, H, gen, DType::F64);
  GPAMAttention gpam(d, H, gen, GPAMOptions(), DType::F64);
  check_kv_cache(mha, gen);
  check_kv_cache(gpam, gen);
}

TEST_CASE("GPAMAttention: parameters, lam, gradients and the composed twin", "[attention_modules][gradcheck]") {
  Generator gen(44);
  GPAMAttention fixed(d, H, gen, GPAMOptions(), DType::F64);
  REQUIRE(names(fixed).size() == 9);
  REQUIRE(fixed.wneg.shape() == Shape{H, dh, dh});
  REQUIRE_FALSE(fixed.theta.defined());
  require_values(fixed.lam(), {0.2, 0.2});
  // wneg starts near -I
  for (int64_t i = 0; i < dh; ++i) REQUIRE(std::fabs(fixed.wneg.at({1, i, i}) + 1) < 0.1);
  REQUIRE(std::fabs(fixed.wneg.at({0, 0, 1})) < 0.1);
  check_three_uses(fixed, gpam_twin, gen);

  GPAMOptions options;
  options.lam = 0.3;
  options.trainable = true;
  options.lam_max = 0.8;
  GPAMAttention trainable(d, H, gen, options, DType::F64);
  REQUIRE(trainable.state_dict().count("theta"));
  require_values(trainable.lam(), {0.3, 0.3}, 1e-14);
  check_three_uses(trainable, gpam_twin, gen);  // theta is among the checked parameters
}

TEST_CASE("GPAMAttention: rows of A sum to 1 with negative entries; causality, padding, float32", "[attention_modules]") {
  Generator gen(45);
  GPAMAttention m(d, H, gen, GPAMOptions(), DType::F64);
  // inputs large enough for the scores to spread: near-uniform rows of Ap and An cannot go negative
  m.forward(rand64({B, T, d}, gen, 4.0), rand64({B, S, d}, gen, 4.0));
  double lowest = 0;
  for (double e : m.last_attention().to_vector()) lowest = std::min(lowest, e);
  REQUIRE(lowest < 0);
  for (double s : sum(m.last_attention(), {-1}).to_vector()) REQUIRE(std::fabs(s - 1) <= 1e-12);
  check_invariants(m, gen);
}

TEST_CASE("DifferentialAttention: parameters, lam_init, gradients and the composed twin", "[attention_modules][gradcheck]") {
  Generator gen(46);
  DifferentialAttention m(DifferentialAttentionOptions().with_d(d).with_heads(H).with_layer(1), gen, DType::F64);
  REQUIRE(names(m).size() == 13);
  REQUIRE(m.lq1.shape() == Shape{d / (2 * H)});
  // the per-head RMSNorm's learnable weight (2 dh), ones at init: drawn away from ones so that
  // the gradient check and the twin see it
  REQUIRE((m.state_dict().count("subln.weight") && m.subln->weight.shape() == Shape{d / H} && m.subln->eps == 1e-5));
  REQUIRE(m.subln->weight.to_vector() == std::vector<double>(d / H, 1.0));
  m.subln->weight.copy_(rand64({d / H}, gen));
  REQUIRE(std::fabs(m.lam_init - (0.8 - 0.6 * std::exp(-0.3))) < 1e-15);
  REQUIRE(std::fabs(DifferentialAttention(DifferentialAttentionOptions().with_d(d).with_heads(H).with_layer(0), gen).lam_init - 0.2) < 1e-15);
  check_three_uses(m, differential_twin, gen);  // lq1, lk1, lq2, lk2 and subln.weight are among the parameters
}

TEST_CASE("DifferentialAttention: causality, padding, float32", "[attention_modules]") {
  Generator gen(47);
  DifferentialAttention m(DifferentialAttentionOptions().with_d(d).with_heads(H).with_layer(2), gen, DType::F64);
  check_invariants(m, gen);
}

TEST_CASE("attention modules: bad sizes and inputs name the module and the shapes", "[attention_modules][errors]") {
  Generator gen(48);
  REQUIRE_THROWS_WITH(MultiHeadAttention(10, 3, gen),
                      Catch::Contains("MultiHeadAttention") && Catch::Contains("3 heads") && Catch::Contains("10"));
  REQUIRE_THROWS_WITH(GPAMAttention(10, 4, gen), Catch::Contains("GPAMAttention") && Catch::Contains("10"));
  REQUIRE_THROWS_WITH(DifferentialAttention(DifferentialAttentionOptions().with_d(12).with_heads(4).with_layer(0), gen),
                      Catch::Contains("DifferentialAttention") && Catch::Contains("12"));
  GPAMOptions bad;
  bad.trainable = true;
  bad.lam = 1.5;
  REQUIRE_THROWS_WITH(GPAMAttention(8, 2, gen, bad), Catch::Contains("GPAMAttention") && Catch::Contains("lam_max"));
  MultiHeadAttention m(8, 2, gen);
  REQUIRE_THROWS_WITH(m.forward(Tensor::zeros({2, 5, 6}), Tensor::zeros({2, 5, 6})),
                      Catch::Contains("MultiHeadAttention") && Catch::Contains("(2, 5, 6)"));
  REQUIRE_THROWS_WITH(m.forward(Tensor::zeros({2, 5, 8}), Tensor::zeros({3, 4, 8})),
                      Catch::Contains("MultiHeadAttention") && Catch::Contains("(3, 4, 8)"));
  AttentionMask pad;
  pad.key_padding = Tensor::from_bools(std::vector<bool>(8, false), {2, 4});
  REQUIRE_THROWS_WITH(m.forward(Tensor::zeros({2, 5, 8}), Tensor::zeros({2, 5, 8}), pad),
                      Catch::Contains("scaled_dot_product_attention") && Catch::Contains("(2, 4)"));
}

TEST_CASE("diagnostics: relative residual and mean cosine similarity", "[attention_modules][diagnostics]") {
  Tensor eye = Tensor::from_vector({1, 0, 0, 1}, {2, 2}, DType::F64);
  // X - mean = (+-0.5, -+0.5): ||.||_F = 1 over ||X||_F = sqrt(2); the rows are orthogonal
  REQUIRE(std::fabs(relative_residual(eye) - 1 / std::sqrt(2.0)) < 1e-15);
  REQUIRE(std::fabs(mean_cosine_similarity(eye)) < 1e-15);
  Tensor same = Tensor::from_vector({1, 2, 1, 2, 1, 2}, {3, 2}, DType::F64);
  REQUIRE(relative_residual(same) == 0);
  REQUIRE(std::fabs(mean_cosine_similarity(same) - 1) < 1e-15);
  // a batch is the mean of its items: (1 / sqrt 2 + 0) / 2 and (0 + 1) / 2
  Tensor both = concat({reshape(eye, {1, 2, 2}), reshape(slice(same, 0, 0, 2), {1, 2, 2})}, 0);
  REQUIRE(std::fabs(relative_residual(both) - 0.5 / std::sqrt(2.0)) < 1e-15);
  REQUIRE(std::fabs(mean_cosine_similarity(both) - 0.5) < 1e-15);
  // three rows: pairs (1,0)-(1,1), (1,0)-(0,1), (1,1)-(0,1) have cosines 1/sqrt2, 0, 1/sqrt2
  Tensor three = Tensor::from_vector({1, 0, 1, 1, 0, 1}, {3, 2});
  REQUIRE(std::fabs(mean_cosine_similarity(three) - 2 / (3 * std::sqrt(2.0))) < 1e-7);
  REQUIRE(relative_residual(Tensor::zeros({2, 3})) == 0);
  REQUIRE_THROWS_WITH(mean_cosine_similarity(Tensor::zeros({1, 3})),
                      Catch::Contains("mean_cosine_similarity") && Catch::Contains("(1, 3)"));
  REQUIRE_THROWS_WITH(relative_residual(Tensor::zeros({4})), Catch::Contains("relative_residual") && Catch::Contains("(4)"));
}

TEST_CASE("attention modules: a training step and a decoding loop leave nothing alive", "[attention_modules]") {
  const int64_t bytes0 = live_storage_bytes(), nodes0 = live_nodes();
  {
    Generator gen(49);
    GPAMOptions trainable;
    trainable.trainable = true;
    MultiHeadAttention mha(d, H, gen, DType::F64);
    GPAMAttention gpam(d, H, gen, trainable, DType::F64);
    DifferentialAttention diff(DifferentialAttentionOptions().with_d(d).with_heads(H).with_layer(1), gen, DType::F64);
    Tensor x = rand64({B, T, d}, gen);
    sum(mha.forward(x, x, causal_mask()) + gpam.forward(x, x, causal_mask()) + diff.forward(x, x, causal_mask())).backward();
    NoGradGuard no_grad;
    KVCache cache;
    for (int64_t t = 0; t < T; ++t) mha.forward(slice(x, 1, t, t + 1), slice(x, 1, t, t + 1), causal_mask(), &cache);
    REQUIRE(live_nodes() == nodes0);
  }
  REQUIRE(live_storage_bytes() == bytes0);
  REQUIRE(live_nodes() == nodes0);
}

TEST_CASE("attention modules: long sequences run tiled and equal the twin", "[attention_modules][tiled]") {
  Generator gen(48);
  const int64_t long_T = 512;  // T * S = 512^2: the tiled form (ops/attention_select.h)
  MultiHeadAttention mha(d, H, gen, DType::F64);
  GPAMAttention gpam(d, H, gen, GPAMOptions().with_lam(0.3).with_trainable(true), DType::F64);
  DifferentialAttention differential(DifferentialAttentionOptions().with_d(d).with_heads(H).with_layer(2), gen, DType::F64);
  Tensor x = rand64({1, long_T, d}, gen);
  auto check = [&](auto& m, auto twin) {
    auto self = [&](const std::vector<Tensor>& in) { return m.forward(in[0], in[0], causal_mask()); };
    auto self_twin = [&](const std::vector<Tensor>& in) { return twin(m, in[0], in[0], causal_mask()); };
    REQUIRE(max_difference_with_gradients(self, self_twin, with_params({x}, m)) < 1e-10);
    REQUIRE_FALSE(m.last_attention().defined());  // training keeps no (T, S) matrix
    NoGradGuard no_grad;
    m.forward(x, x, causal_mask());
    REQUIRE_FALSE(m.last_attention().defined());  // nor does an evaluation's forward
    AttentionMapsGuard maps;
    m.forward(x, x, causal_mask());
    REQUIRE(m.last_attention().shape() == Shape{1, H, long_T, long_T});  // drawn on demand
  };
  check(mha, mha_twin);
  check(gpam, gpam_twin);
  check(differential, differential_twin);
}

TEST_CASE("attention modules: forward(x) is self-attention, forward(x, x)", "[attention_modules]") {
  Generator gen(50);
  MultiHeadAttention mha(d, H, gen, DType::F64);
  GPAMAttention gpam(d, H, gen, GPAMOptions(), DType::F64);
  DifferentialAttention diff(DifferentialAttentionOptions().with_d(d).with_heads(H).with_layer(1), gen, DType::F64);
  const Tensor x = rand64({B, T, d}, gen, 1, false);
  for (const AttentionMask& mask : {AttentionMask(), causal_mask()}) {
    REQUIRE(max_abs_diff(mha.forward(x, mask), mha.forward(x, x, mask)) == 0);
    REQUIRE(max_abs_diff(gpam.forward(x, mask), gpam.forward(x, x, mask)) == 0);
    REQUIRE(max_abs_diff(diff.forward(x, mask), diff.forward(x, x, mask)) == 0);
  }
}

// Sizes go in by name: the options structs cannot be brace-initialised positionally (so that
// {d, n_heads, n_symbols} cannot silently mean {d, n_symbols, n_heads}), and a size left out is
// refused.
static_assert(!std::is_aggregate_v<SymbolicAttentionOptions>);
static_assert(!std::is_aggregate_v<PositionalSymbolsOptions>);
static_assert(!std::is_aggregate_v<PositionRelativeSymbolsOptions>);
static_assert(!std::is_aggregate_v<DualAttentionOptions>);
static_assert(!std::is_aggregate_v<DifferentialAttentionOptions>);
static_assert(!std::is_aggregate_v<MultiHeadAttentionOptions>);
static_assert(!std::is_aggregate_v<GPAMOptions>);
static_assert(!std::is_aggregate_v<RelationalAttentionOptions>);

TEST_CASE("attention modules: options structs name every size; a missing one is refused", "[attention_modules][errors]") {
  Generator gen(51);
  const SymbolicAttentionOptions symbolic = SymbolicAttentionOptions().with_d(8).with_n_symbols(6).with_heads(2);
  REQUIRE((symbolic.d == 8 && symbolic.n_symbols == 6 && symbolic.heads == 2));
  REQUIRE(SymbolicAttention(symbolic, gen).symbols.shape() == Shape{6, 8});
  REQUIRE_THROWS_WITH(SymbolicAttention(SymbolicAttentionOptions().with_d(8).with_heads(2), gen),
                      Catch::Contains("SymbolicAttention") && Catch::Contains("n_symbols 0"));
  REQUIRE_THROWS_WITH(PositionalSymbols(PositionalSymbolsOptions().with_d(8), gen),
                      Catch::Contains("PositionalSymbols") && Catch::Contains("max_len 0"));
  REQUIRE_THROWS_WITH(DualAttention(DualAttentionOptions().with_n_sa(1).with_n_ra(1), gen),
                      Catch::Contains("DualAttention"));
  REQUIRE_THROWS_WITH(DifferentialAttention(DifferentialAttentionOptions().with_d(8), gen),
                      Catch::Contains("DifferentialAttention"));
  REQUIRE_THROWS_WITH(DifferentialAttention(DifferentialAttentionOptions().with_d(8).with_heads(2).with_layer(-1), gen),
                      Catch::Contains("layer must not be negative, got -1"));
  const MultiHeadAttention narrow(MultiHeadAttentionOptions().with_d(8).with_heads(2).with_head_dim(3), gen);
  REQUIRE((narrow.heads == 2 && narrow.head_dim == 3 && narrow.wq->weight.shape() == Shape{6, 8}));
  REQUIRE_THROWS_WITH(MultiHeadAttention(MultiHeadAttentionOptions().with_d(8), gen),
                      Catch::Contains("MultiHeadAttention"));
  REQUIRE_THROWS_WITH(MultiHeadAttention(2, 8, gen), Catch::Contains("8 heads do not divide d = 2"));  // swapped
}
