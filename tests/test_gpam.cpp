#include "ops/gpam_attention.h"
#include "ops/sdpa.h"
#include "ops/tiled_gpam_attention.h"
#include "tests/attention_reference.h"
#include "tests/testing.h"
#include "tests/tiled_checks.h"

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t B = 2, H = 2, T = 5, dh = 4;

// A query leaf with every entry at least 0.2 away from 0, relu's kink.
Tensor query(Generator& gen, int64_t t = T, bool grad = true) {
  std::vector<double> v = randn({B, H, t, dh}, gen, 0, 1, DType::F64).to_vector();
  for (double& e : v) e += e < 0 ? -0.2 : 0.2;
  return Tensor::from_vector(v, {B, H, t, dh}, DType::F64).requires_grad_(grad);
}

// -I plus small noise, as the module initialises it.
Tensor wneg_init(Generator& gen, bool grad = true) {
  std::vector<double> w = randn({H, dh, dh}, gen, 0, 0.1, DType::F64).to_vector();
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < dh; ++i) w[(h * dh + i) * dh + i] -= 1;
  return Tensor::from_vector(w, {H, dh, dh}, DType::F64).requires_grad_(grad);
}

Tensor lam_of(std::vector<double> values, bool grad = true) {
  return Tensor::from_vector(values, {H}, DType::F64).requires_grad_(grad);
}

}  // namespace

TEST_CASE("gpam: values by hand", "[gpam]") {
  // q = 1, keys (0, 2), wneg = -1: Qn = -1, Ap = softmax(0, 2), An = softmax(0, -2), lam = 0.5
  Tensor q = Tensor::from_vector({1}, {1, 1, 1, 1}, DType::F64);
  Tensor k = Tensor::from_vector({0, 2}, {1, 1, 2, 1}, DType::F64);
  Tensor v = Tensor::from_vector({1, 3}, {1, 1, 2, 1}, DType::F64);
  Tensor wneg = Tensor::from_vector({-1}, {1, 1, 1}, DType::F64);
  Tensor lam = Tensor::from_vector({0.5}, {1}, DType::F64);
  const double e = std::exp(2.0), ap1 = e / (1 + e), an1 = 1 / (1 + e);
  const double a0 = 1.5 * (1 - ap1) - 0.5 * (1 - an1), a1 = 1.5 * ap1 - 0.5 * an1;
  Tensor A;
  require_values(gpam_attention(q, k, v, wneg, lam, AttentionMask(), &A), {a0 + 3 * a1});
  require_values(A, {a0, a1});
  REQUIRE(a0 < 0);  // an affine, not convex, combination
}

TEST_CASE("gpam: gradients of q, k, v, wneg and lam under every mask", "[gpam][gradcheck]") {
  Generator gen(21);
  for (const AttentionMask& mask : standard_masks(6)) {
    Tensor q = query(gen), k = rand64({B, H, 6, dh}, gen), v = rand64({B, H, 6, dh}, gen);
    Tensor wneg = wneg_init(gen), lam = lam_of({0.2, 0.45});
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) {
      return gpam_attention(in[0], in[1], in[2], in[3], in[4], mask);
    }, (std::vector<Tensor>{q, k, v, wneg, lam}));
  }
}

TEST_CASE("gpam: forward, A and every gradient equal the naive reference", "[gpam]") {
  Generator gen(22);
  for (const AttentionMask& mask : standard_masks(6)) {
    Tensor q = query(gen), k = rand64({B, H, 6, dh}, gen), v = rand64({B, H, 6, dh}, gen);
    Tensor wneg = wneg_init(gen), lam = lam_of({0.2, 0.7});
    auto fused = [&](const std::vector<Tensor>& in) { return gpam_attention(in[0], in[1], in[2], in[3], in[4], mask); };
    auto reference = [&](const std::vector<Tensor>& in) { return naive::gpam(in[0], in[1], in[2], in[3], in[4], mask); };
    REQUIRE_EQUALS_NAIVE(fused, reference, (std::vector<Tensor>{q, k, v, wneg, lam}));
    Tensor a_fused, a_naive;
    gpam_attention(q, k, v, wneg, lam, mask, &a_fused);
    naive::gpam(q, k, v, wneg, lam, mask, &a_naive);
    REQUIRE(max_abs_diff(a_fused, a_naive) < 1e-12);
  }
}

TEST_CASE("gpam: rows of A sum to 1, some entries are negative, masked rows are 0", "[gpam]") {
  Generator gen(23);
  const AttentionMask both = standard_masks(T)[3];  // item 1, query 0 sees no key
  Tensor q = query(gen, T, false), k = rand64({B, H, T, dh}, gen, 1, false), v = rand64({B, H, T, dh}, gen, 1, false);
  Tensor A;
  Tensor out = gpam_attention(q, k, v, wneg_init(gen, false), lam_of({0.2, 0.5}, false), both, &A);
  std::vector<double> a = A.to_vector(), rows = sum(A, {-1}).to_vector();
  double lowest = 0;
  for (double e : a) lowest = std::min(lowest, e);
  REQUIRE(lowest < 0);
  REQUIRE(lowest >= -0.5);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const double expected = (b == 1 && i == 0) ? 0.0 : 1.0;
        REQUIRE(std::fabs(rows[(b * H + h) * T + i] - expected) <= 1e-12);
      }
  REQUIRE(max_abs_diff(slice(slice(out, 0, 1, 2), 2, 0, 1), Tensor::zeros({1, H, 1, dh}, DType::F64)) == 0);
}

TEST_CASE("gpam: causal outputs ignore later positions", "[gpam]") {
  Generator gen(24);
  const AttentionMask causal = standard_masks(T)[1];
  Tensor q = query(gen, T, false), k = rand64({B, H, T, dh}, gen, 1, false), v = rand64({B, H, T, dh}, gen, 1, false);
  Tensor wneg = wneg_init(gen, false), lam = lam_of({0.2, 0.5}, false);
  Tensor out = gpam_attention(q, k, v, wneg, lam, causal);
  for (int64_t i = 0; i < T - 1; ++i) {
    Tensor moved = gpam_attention(perturb_after(q, 2, i), perturb_after(k, 2, i), perturb_after(v, 2, i), wneg, lam, causal);
    REQUIRE(max_abs_diff(slice(moved, 2, 0, i + 1), slice(out, 2, 0, i + 1)) == 0);
    REQUIRE(max_abs_diff(slice(moved, 2, i + 1, T), slice(out, 2, i + 1, T)) > 0);
  }
}

TEST_CASE("gpam: lam = 0 is plain attention; a fully masked row passes no gradient", "[gpam]") {
  Generator gen(25);
  AttentionMask mask;
  mask.key_padding = Tensor::from_bools({false, false, true, true, true, true}, {2, 3});
  Tensor q = query(gen, 2), k = rand64({B, H, 3, dh}, gen), v = rand64({B, H, 3, dh}, gen);
  Tensor wneg = wneg_init(gen), lam = lam_of({0, 0});
  Tensor out = gpam_attention(q, k, v, wneg, lam, mask);
  REQUIRE(max_abs_diff(out, scaled_dot_product_attention(q, k, v, mask)) < 1e-15);
  Generator wgen(3);
  out.backward(randn(out.shape(), wgen, 0, 1, DType::F64));
  for (const Tensor& t : {q.grad(), k.grad(), v.grad()}) {
    REQUIRE(max_abs_diff(slice(t, 0, 1, 2), Tensor::zeros({1, H, t.size(2), dh}, DType::F64)) == 0);
    for (double e : t.to_vector()) REQUIRE(std::isfinite(e));
  }
  for (double e : wneg.grad().to_vector()) REQUIRE(std::isfinite(e));
  REQUIRE(std::fabs(lam.grad().to_vector()[0]) > 0);  // at lam = 0 the gradient still sees An
}

TEST_CASE("gpam: float32 forward matches float64", "[gpam]") {
  Generator gen(26);
  for (const AttentionMask& mask : standard_masks(T)) {
    Tensor q = query(gen, T, false), k = rand64({B, H, T, dh}, gen, 1, false), v = rand64({B, H, T, dh}, gen, 1, false);
    Tensor wneg = wneg_init(gen, false), lam = lam_of({0.2, 0.9}, false);
    Tensor out32 = gpam_attention(q.to(DType::F32), k.to(DType::F32), v.to(DType::F32), wneg.to(DType::F32),
                                  lam.to(DType::F32), mask);
    REQUIRE(out32.dtype() == DType::F32);
    REQUIRE(relative_difference(out32, gpam_attention(q, k, v, wneg, lam, mask)) < 1e-4);
  }
}

TEST_CASE("gpam: bad inputs name the op and the shapes", "[gpam][errors]") {
  Tensor q = Tensor::zeros({2, 2, 5, 4}), k = Tensor::zeros({2, 2, 6, 4}), v = Tensor::zeros({2, 2, 6, 4});
  Tensor wneg = Tensor::zeros({2, 4, 4}), lam = Tensor::zeros({2});
  const auto op = Catch::Contains("gpam_attention");
  REQUIRE_THROWS_WITH(gpam_attention(q, k, v, Tensor::zeros({2, 4, 3}), lam, {}), op && Catch::Contains("(2, 4, 3)"));
  REQUIRE_THROWS_WITH(gpam_attention(q, k, v, wneg, Tensor::zeros({3}), {}), op && Catch::Contains("float32(3)"));
  REQUIRE_THROWS_WITH(gpam_attention(q, k, v, wneg, lam.to(DType::F64), {}), op && Catch::Contains("float64"));
  REQUIRE_THROWS_WITH(gpam_attention(q, Tensor::zeros({2, 3, 6, 4}), v, wneg, lam, {}),
                      op && Catch::Contains("(2, 3, 6, 4)"));
  AttentionMask mask;
  mask.key_padding = Tensor::from_ints(std::vector<int32_t>(12, 0), {2, 6});
  REQUIRE_THROWS_WITH(gpam_attention(q, k, v, wneg, lam, mask), op && Catch::Contains("int32(2, 6)"));
}

namespace {

// Tile 4 against T = 7, S = 9: short last tiles, and causal tiles cut through their middle.
Tensor tiled_gpam(const std::vector<Tensor>& in, const AttentionMask& mask, Tensor* probs = nullptr) {
  return tiled_gpam_attention(in[0], in[1], in[2], in[3], in[4], mask, probs, 4);
}

Tensor dense_gpam(const std::vector<Tensor>& in, const AttentionMask& mask) {
  return gpam_attention(in[0], in[1], in[2], in[3], in[4], mask);
}

std::vector<Tensor> gpam_inputs(Generator& gen, int64_t t, int64_t s, DType dtype = DType::F64) {
  std::vector<Tensor> in{query(gen, t), rand64({B, H, s, dh}, gen), rand64({B, H, s, dh}, gen), wneg_init(gen),
                         lam_of({0.2, 0.45})};
  if (dtype == DType::F64) return in;
  for (Tensor& x : in) x = x.detach().to(dtype).requires_grad_();
  return in;
}

}  // namespace

TEST_CASE("gpam tiled: forward and every gradient equal the dense op", "[gpam][tiled]") {
  Generator gen(25);
  for (const AttentionMask& mask : standard_masks(9))
    for (auto [t, s] : {std::pair<int64_t, int64_t>{9, 9}, {7, 9}, {3, 9}}) {
      INFO("T " << t << " S " << s << " causal " << mask.causal << " padding " << mask.key_padding.defined());
      const std::vector<Tensor> in = gpam_inputs(gen, t, s);
      REQUIRE(max_difference_with_gradients([&](const auto& x) { return tiled_gpam(x, mask); },
                                            [&](const auto& x) { return dense_gpam(x, mask); }, in) < 1e-12);
      const std::vector<Tensor> in32 = gpam_inputs(gen, t, s, DType::F32);
      REQUIRE(max_difference_with_gradients([&](const auto& x) { return tiled_gpam(x, mask); },
                                            [&](const auto& x) { return dense_gpam(x, mask); }, in32) < 1e-5);
    }
}

TEST_CASE("gpam tiled: gradients of q, k, v, wneg and lam by finite differences", "[gpam][tiled][gradcheck]") {
  Generator gen(26);
  for (const AttentionMask& mask : standard_masks(6))
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return tiled_gpam(in, mask); }, gpam_inputs(gen, 5, 6));
}

TEST_CASE("gpam tiled: a fully masked row is zero; A only when drawing", "[gpam][tiled]") {
  Generator gen(27);
  const AttentionMask mask = standard_masks(9)[3];
  check_masked_row_and_probs([&](const auto& in, Tensor* probs) { return tiled_gpam(in, mask, probs); },
                             [&](const auto& in, Tensor* probs) {
                               return gpam_attention(in[0], in[1], in[2], in[3], in[4], mask, probs);
                             },
                             gpam_inputs(gen, 7, 9), {0});
}
