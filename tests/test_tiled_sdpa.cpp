#include <cstring>
#include <limits>
#include "ops/sdpa.h"
#include "ops/attention_select.h"
#include "tests/attention_reference.h"
#include "tests/testing.h"
#include "tests/tiled_checks.h"

using namespace dl;
using namespace dl::testing;

namespace {

// Tile 4 against T = 7, S = 9: every tile row and column has a short last tile, and the causal
// mask cuts tiles through their middle.
constexpr int64_t kSmallTile = 4;

Tensor tiled(const std::vector<Tensor>& in, const AttentionMask& mask, int64_t tile = kSmallTile) {
  return tiled_scaled_dot_product_attention(in[0], in[1], in[2], mask, nullptr, tile);
}

Tensor dense(const std::vector<Tensor>& in, const AttentionMask& mask) {
  return scaled_dot_product_attention(in[0], in[1], in[2], mask);
}

std::vector<Tensor> qkv(int64_t T, int64_t S, DType dtype, Generator& gen, int64_t dh = 4) {
  std::vector<Tensor> in;
  for (int64_t n : {T, S, S}) in.push_back(randn({2, 2, n, dh}, gen, 0.0, 1.0, dtype).requires_grad_());
  return in;
}

}  // namespace

TEST_CASE("tiled sdpa: forward and every gradient equal the dense op, float64", "[tiled][sdpa]") {
  Generator gen(31);
  for (const AttentionMask& mask : standard_masks(9)) {
    for (auto [T, S] : {std::pair<int64_t, int64_t>{9, 9}, {7, 9}, {3, 9}}) {
      INFO("T " << T << " S " << S << " causal " << mask.causal << " padding " << mask.key_padding.defined());
      const std::vector<Tensor> in = qkv(T, S, DType::F64, gen);
      const double diff = max_difference_with_gradients([&](const auto& x) { return tiled(x, mask); },
                                                        [&](const auto& x) { return dense(x, mask); }, in);
      REQUIRE(diff < 1e-12);
    }
  }
  const std::vector<Tensor> in = qkv(3, 9, DType::F64, gen);
  REQUIRE(max_difference_with_gradients([&](const auto& x) { return tiled(x, cached_causal()); },
                                        [&](const auto& x) { return dense(x, cached_causal()); }, in) < 1e-12);
}

TEST_CASE("tiled sdpa: the default tile over several tiles equals the dense op", "[tiled][sdpa]") {
  Generator gen(32);
  for (const AttentionMask& mask : standard_masks(150)) {
    const std::vector<Tensor> in = qkv(150, 150, DType::F64, gen, 8);  // 150 = 2 full tiles + 22
    REQUIRE(max_difference_with_gradients([&](const auto& x) { return tiled(x, mask, kAttentionTile); },
                                          [&](const auto& x) { return dense(x, mask); }, in) < 1e-12);
  }
}

TEST_CASE("tiled sdpa: float32 equals the dense op within 1e-5", "[tiled][sdpa]") {
  Generator gen(33);
  for (const AttentionMask& mask : standard_masks(9)) {
    const std::vector<Tensor> in = qkv(7, 9, DType::F32, gen);
    Tensor out = tiled(in, mask);
    REQUIRE(out.dtype() == DType::F32);
    REQUIRE(max_difference_with_gradients([&](const auto& x) { return tiled(x, mask); },
                                          [&](const auto& x) { return dense(x, mask); }, in) < 1e-5);
  }
}

TEST_CASE("tiled sdpa: gradients by finite differences under every mask", "[tiled][sdpa][gradcheck]") {
  Generator gen(34);
  for (const AttentionMask& mask : standard_masks(6)) {
    Tensor q = rand64({2, 2, 5, 3}, gen), k = rand64({2, 2, 6, 3}, gen), v = rand64({2, 2, 6, 2}, gen);
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return tiled(in, mask); }, (std::vector<Tensor>{q, k, v}));
  }
  AttentionMask causal = standard_masks(5)[1];
  Tensor x = rand64({2, 2, 5, 4}, gen);  // one tensor as q, k and v: the tape sums three gradients
  CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return tiled({in[0], in[0], in[0]}, causal); },
                  std::vector<Tensor>{x});
}

TEST_CASE("tiled sdpa: a fully masked row is zero; P only when drawing", "[tiled][sdpa]") {
  Generator gen(35);
  const AttentionMask mask = standard_masks(9)[3];
  check_masked_row_and_probs(
      [&](const auto& in, Tensor* probs) {
        return tiled_scaled_dot_product_attention(in[0], in[1], in[2], mask, probs, kSmallTile);
      },
      [&](const auto& in, Tensor* probs) { return scaled_dot_product_attention(in[0], in[1], in[2], mask, probs); },
      qkv(7, 9, DType::F64, gen), {0});
}

TEST_CASE("tiled sdpa: L is each row's log-sum-exp, +inf for a row with no visible key", "[tiled][sdpa]") {
  Generator gen(36);
  AttentionMask mask = standard_masks(9)[3];
  std::vector<Tensor> in = qkv(7, 9, DType::F64, gen);
  Tensor O, L;
  tiled_attention_forward(in[0], in[1], in[2], mask, 0.5, kSmallTile, O, L);  // scale 1 / sqrt(4)
  REQUIRE(L.shape() == Shape{2, 2, 7});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 7; ++i) {
        double total = 0;
        for (int64_t j = 0; j < 9; ++j) {
          if (mask.masked(b, i, j, 9)) continue;
          double z = 0;
          for (int64_t c = 0; c < 4; ++c) z += in[0].at({b, h, i, c}) * in[1].at({b, h, j, c});
          total += std::exp(0.5 * z);
        }
        const double expected = total > 0 ? std::log(total) : std::numeric_limits<double>::infinity();
        INFO("b " << b << " h " << h << " i " << i);
        if (total > 0) REQUIRE(std::fabs(L.at({b, h, i}) - expected) < 1e-12);
        else REQUIRE(L.at({b, h, i}) == expected);
      }
}

TEST_CASE("tiled sdpa: 1 and 2 threads give the same bits", "[tiled][sdpa][threads]") {
  ThreadCountGuard guard;
  Generator gen(38);
  const std::vector<Tensor> in = qkv(150, 150, DType::F32, gen, 8);
  auto run = [&](int threads) {
    set_num_threads(threads);
    for (const Tensor& x : in) x.zero_grad();
    Tensor out = tiled(in, standard_masks(150)[3], kAttentionTile);
    Generator wgen(2);
    out.backward(randn(out.shape(), wgen));
    return std::vector<Tensor>{out.detach(), in[0].grad(), in[1].grad(), in[2].grad()};
  };
  const std::vector<Tensor> one = run(1), two = run(2);
  for (size_t n = 0; n < one.size(); ++n)
    REQUIRE(std::memcmp(one[n].raw_data(), two[n].raw_data(), one[n].numel() * sizeof(float)) == 0);
}

TEST_CASE("tiled sdpa: bad inputs name the op, the shapes and the tile", "[tiled][sdpa][errors]") {
  Tensor q = Tensor::zeros({2, 2, 5, 4}), k = Tensor::zeros({2, 2, 6, 4}), v = Tensor::zeros({2, 2, 6, 4});
  const auto op = Catch::Contains("tiled_scaled_dot_product_attention");
  REQUIRE_THROWS_WITH(tiled({q, Tensor::zeros({2, 2, 6, 3}), v}, {}), op && Catch::Contains("(2, 2, 6, 3)"));
  REQUIRE_THROWS_WITH(tiled({q, k, v}, {}, 0), op && Catch::Contains("tile size must be positive, got 0"));
}

TEST_CASE("tiled sdpa: the selection runs dense below the threshold, tiled from it", "[tiled][sdpa]") {
  Generator gen(39);
  REQUIRE_FALSE(use_tiled_attention(511, 512));
  REQUIRE(use_tiled_attention(512, 512));
  REQUIRE_FALSE(use_tiled_attention(1, 4096));  // one decoding step against a long key cache
  for (int64_t T : {64, 512}) {
    std::vector<Tensor> in;
    for (int n = 0; n < 3; ++n) in.push_back(rand64({1, 1, T, 4}, gen));
    const AttentionMask causal = standard_masks(T)[1];
    Tensor probs;
    Tensor out = sdpa_dense_or_tiled(in[0], in[1], in[2], causal, &probs);
    REQUIRE(probs.defined() == (T == 64));  // the dense P comes for free; the tiled form keeps none
    REQUIRE(max_difference_with_gradients(
                [&](const auto& x) { return sdpa_dense_or_tiled(x[0], x[1], x[2], causal); },
                [&](const auto& x) { return dense(x, causal); }, in) < 1e-12);
  }
}
