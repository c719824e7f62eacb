#include "ops/differential_attention.h"
#include "ops/sdpa.h"
#include "ops/tiled_differential_attention.h"
#include "tests/attention_reference.h"
#include "tests/testing.h"
#include "tests/tiled_checks.h"

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t B = 2, H = 2, T = 5, dh = 3;

// q1, k1, q2, k2 (B, H, T | S, dh) and v (B, H, S, 2 dh), as the module splits them.
std::vector<Tensor> inputs(Generator& gen, int64_t S, double lam, bool grad = true) {
  return {rand64({B, H, T, dh}, gen, 1, grad), rand64({B, H, S, dh}, gen, 1, grad),
          rand64({B, H, T, dh}, gen, 1, grad), rand64({B, H, S, dh}, gen, 1, grad),
          rand64({B, H, S, 2 * dh}, gen, 1, grad), Tensor::scalar(lam, DType::F64).requires_grad_(grad)};
}

Tensor fused(const std::vector<Tensor>& in, const AttentionMask& mask, Tensor* probs = nullptr) {
  return differential_attention(in[0], in[1], in[2], in[3], in[4], in[5], mask, probs);
}

}  // namespace

TEST_CASE("differential: values by hand", "[differential]") {
  // one query, keys (0, 1) seen by q1 = 1 and by q2 = -1 (dh = 1): A = softmax(0, 1) - lam softmax(0, -1)
  Tensor q1 = Tensor::from_vector({1}, {1, 1, 1, 1}, DType::F64), q2 = Tensor::from_vector({-1}, {1, 1, 1, 1}, DType::F64);
  Tensor k = Tensor::from_vector({0, 1}, {1, 1, 2, 1}, DType::F64);
  Tensor v = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2}, DType::F64);
  const double e = std::exp(1.0), lam = 0.3;
  const double a0 = 1 / (1 + e) - lam * e / (1 + e), a1 = e / (1 + e) - lam / (1 + e);
  Tensor A;
  require_values(differential_attention(q1, k, q2, k, v, Tensor::scalar(lam, DType::F64), AttentionMask(), &A),
                 {a0 + 3 * a1, 2 * a0 + 4 * a1});
  require_values(A, {a0, a1});
}

TEST_CASE("differential: gradients of q1, k1, q2, k2, v and lam under every mask", "[differential][gradcheck]") {
  Generator gen(31);
  for (const AttentionMask& mask : standard_masks(6)) {
    std::vector<Tensor> in = inputs(gen, 6, 0.4);
    CHECK_GRADIENTS([&](const std::vector<Tensor>& x) { return fused(x, mask); }, in);
  }
  // one tensor as both halves' key: the tape sums its two gradients
  const AttentionMask causal = standard_masks(T)[1];
  std::vector<Tensor> in = inputs(gen, T, 0.4);
  CHECK_GRADIENTS([&](const std::vector<Tensor>& x) {
    return differential_attention(x[0], x[1], x[2], x[1], x[4], x[5], causal);
  }, in);
}

TEST_CASE("differential: forward, A and every gradient equal the naive reference", "[differential]") {
  Generator gen(32);
  for (const AttentionMask& mask : standard_masks(6)) {
    std::vector<Tensor> in = inputs(gen, 6, 0.6);
    auto reference = [&](const std::vector<Tensor>& x) {
      return naive::differential(x[0], x[1], x[2], x[3], x[4], x[5], mask);
    };
    auto fused_fn = [&](const std::vector<Tensor>& x) { return fused(x, mask); };
    REQUIRE_EQUALS_NAIVE(fused_fn, reference, in);
    Tensor a_fused, a_naive;
    fused(in, mask, &a_fused);
    naive::differential(in[0], in[1], in[2], in[3], in[4], in[5], mask, &a_naive);
    REQUIRE(max_abs_diff(a_fused, a_naive) < 1e-12);
  }
}

TEST_CASE("differential: causal outputs ignore later positions; rows sum to 1 - lam", "[differential]") {
  Generator gen(33);
  const AttentionMask causal = standard_masks(T)[1];
  std::vector<Tensor> in = inputs(gen, T, 0.3, false);
  Tensor A;
  Tensor out = fused(in, causal, &A);
  for (double s : sum(A, {-1}).to_vector()) REQUIRE(std::fabs(s - 0.7) < 1e-12);
  for (int64_t i = 0; i < T - 1; ++i) {
    std::vector<Tensor> moved = in;
    for (int k = 0; k < 5; ++k) moved[k] = perturb_after(in[k], 2, i);
    Tensor out2 = fused(moved, causal);
    REQUIRE(max_abs_diff(slice(out2, 2, 0, i + 1), slice(out, 2, 0, i + 1)) == 0);
    REQUIRE(max_abs_diff(slice(out2, 2, i + 1, T), slice(out, 2, i + 1, T)) > 0);
  }
}

TEST_CASE("differential: lam = 0 is plain attention; a fully masked row passes no gradient", "[differential]") {
  Generator gen(34);
  AttentionMask mask;
  mask.key_padding = Tensor::from_bools({false, true, false, false, true, true, true, true}, {2, 4});
  std::vector<Tensor> in = inputs(gen, 4, 0.0);
  Tensor out = fused(in, mask);
  REQUIRE(max_abs_diff(out, scaled_dot_product_attention(in[0], in[1], in[4], mask)) < 1e-15);
  Generator wgen(4);
  out.backward(randn(out.shape(), wgen, 0, 1, DType::F64));
  for (int k = 0; k < 5; ++k) {
    const Tensor g = in[k].grad();
    REQUIRE(max_abs_diff(slice(g, 0, 1, 2), Tensor::zeros({1, H, g.size(2), g.size(3)}, DType::F64)) == 0);
    for (double e : g.to_vector()) REQUIRE(std::isfinite(e));
  }
  REQUIRE(in[5].grad().shape() == Shape{});
  REQUIRE(std::fabs(in[5].grad().item()) > 0);
}

TEST_CASE("differential: float32 forward matches float64", "[differential]") {
  Generator gen(35);
  for (const AttentionMask& mask : standard_masks(T)) {
    std::vector<Tensor> in = inputs(gen, T, 0.5, false), in32;
    for (const Tensor& x : in) in32.push_back(x.to(DType::F32));
    Tensor out32 = fused(in32, mask);
    REQUIRE(out32.dtype() == DType::F32);
    REQUIRE(relative_difference(out32, fused(in, mask)) < 1e-4);
  }
}

TEST_CASE("differential: bad inputs name the op and the shapes", "[differential][errors]") {
  Tensor q = Tensor::zeros({2, 2, 5, 3}), k = Tensor::zeros({2, 2, 6, 3}), v = Tensor::zeros({2, 2, 6, 6});
  Tensor lam = Tensor::scalar(0.5);
  const auto op = Catch::Contains("differential_attention");
  REQUIRE_THROWS_WITH(differential_attention(q, k, Tensor::zeros({2, 2, 5, 2}), k, v, lam, {}),
                      op && Catch::Contains("(2, 2, 5, 2)"));
  REQUIRE_THROWS_WITH(differential_attention(q, k, q, k, Tensor::zeros({2, 2, 5, 6}), lam, {}),
                      op && Catch::Contains("(2, 2, 5, 6)"));
  REQUIRE_THROWS_WITH(differential_attention(q, k, q, k, v, Tensor::zeros({2}), {}),
                      op && Catch::Contains("float32(2)"));
  AttentionMask mask;
  mask.key_padding = Tensor::from_bools(std::vector<bool>(5, false), {1, 5});
  REQUIRE_THROWS_WITH(differential_attention(q, k, q, k, v, lam, mask), op && Catch::Contains("bool(1, 5)"));
}

namespace {

// Tile 4 against T = 5, S = 9: short last tiles in both directions.
Tensor tiled_differential(const std::vector<Tensor>& in, const AttentionMask& mask, Tensor* probs = nullptr) {
  return tiled_differential_attention(in[0], in[1], in[2], in[3], in[4], in[5], mask, probs, 4);
}

}  // namespace

TEST_CASE("differential tiled: forward and every gradient equal the dense op", "[differential][tiled]") {
  Generator gen(36);
  for (const AttentionMask& mask : standard_masks(9)) {
    std::vector<Tensor> in = inputs(gen, 9, 0.4);
    REQUIRE(max_difference_with_gradients([&](const auto& x) { return tiled_differential(x, mask); },
                                          [&](const auto& x) { return fused(x, mask); }, in) < 1e-12);
    for (Tensor& x : in) x = x.detach().to(DType::F32).requires_grad_();
    REQUIRE(max_difference_with_gradients([&](const auto& x) { return tiled_differential(x, mask); },
                                          [&](const auto& x) { return fused(x, mask); }, in) < 1e-5);
  }
}

TEST_CASE("differential tiled: gradients by finite differences under every mask", "[differential][tiled][gradcheck]") {
  Generator gen(37);
  for (const AttentionMask& mask : standard_masks(6))
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return tiled_differential(in, mask); }, inputs(gen, 6, 0.4));
}

TEST_CASE("differential tiled: a fully masked row is zero; A only when drawing", "[differential][tiled]") {
  Generator gen(38);
  const AttentionMask mask = standard_masks(9)[3];
  check_masked_row_and_probs([&](const auto& in, Tensor* probs) { return tiled_differential(in, mask, probs); },
                             [&](const auto& in, Tensor* probs) { return fused(in, mask, probs); },
                             inputs(gen, 9, 0.4), {0, 2});
}
