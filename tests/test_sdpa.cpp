#include "ops/sdpa.h"
#include "nn/attention.h"
#include "tests/attention_reference.h"
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

Tensor sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMask& mask) {
  return scaled_dot_product_attention(q, k, v, mask);
}

}  // namespace

TEST_CASE("sdpa: values by hand", "[sdpa]") {
  // one query, two keys: scores (0, 2 / sqrt(2)), so P = (1, e^sqrt2) / (1 + e^sqrt2)
  Tensor q = Tensor::from_vector({1, 0}, {1, 1, 1, 2}, DType::F64);
  Tensor k = Tensor::from_vector({0, 0, 2, 0}, {1, 1, 2, 2}, DType::F64);
  Tensor v = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2}, DType::F64);
  const double p1 = std::exp(std::sqrt(2.0)) / (1 + std::exp(std::sqrt(2.0))), p0 = 1 - p1;
  Tensor probs;
  require_values(scaled_dot_product_attention(q, k, v, AttentionMask(), &probs), {p0 + 3 * p1, 2 * p0 + 4 * p1});
  require_values(probs, {p0, p1});
  REQUIRE(probs.shape() == Shape{1, 1, 1, 2});
  REQUIRE_FALSE(probs.requires_grad());

  // causal, two queries: query 0 sees only key 0, so its output is v_0
  AttentionMask causal;
  causal.causal = true;
  Tensor q2 = Tensor::from_vector({1, 0, 1, 0}, {1, 1, 2, 2}, DType::F64);
  require_values(sdpa(q2, k, v, causal), {1, 2, p0 + 3 * p1, 2 * p0 + 4 * p1});
  // with one cached key before the queries (query_offset 1), query 0 sees both keys
  causal.query_offset = 1;
  require_values(sdpa(q, k, v, causal), {p0 + 3 * p1, 2 * p0 + 4 * p1});
}

TEST_CASE("sdpa: gradients under every mask, self and cross", "[sdpa][gradcheck]") {
  Generator gen(11);
  for (const AttentionMask& mask : standard_masks(5)) {
    Tensor q = rand64({2, 2, 5, 4}, gen), k = rand64({2, 2, 5, 4}, gen), v = rand64({2, 2, 5, 4}, gen);
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return sdpa(in[0], in[1], in[2], mask); },
                    (std::vector<Tensor>{q, k, v}));
  }
  // cross-attention shapes (T != S) with padding, and one tensor as q, k and v at once
  AttentionMask padding = standard_masks(6)[2];
  Tensor q = rand64({2, 2, 3, 4}, gen), k = rand64({2, 2, 6, 4}, gen), v = rand64({2, 2, 6, 4}, gen);
  CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return sdpa(in[0], in[1], in[2], padding); },
                  (std::vector<Tensor>{q, k, v}));
  AttentionMask causal = standard_masks(5)[1];
  Tensor x = rand64({2, 2, 5, 4}, gen);
  CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return sdpa(in[0], in[0], in[0], causal); },
                  std::vector<Tensor>{x});
}

TEST_CASE("sdpa: forward, probs and every gradient equal the naive reference", "[sdpa]") {
  Generator gen(12);
  for (const AttentionMask& mask : standard_masks(6)) {
    // q arrives as a strided view (heads split from (B, T, H, dh)), as in a module
    Tensor q = rand64({2, 5, 2, 4}, gen), k = rand64({2, 2, 6, 4}, gen), v = rand64({2, 2, 6, 4}, gen);
    auto fused = [&](const std::vector<Tensor>& in) { return sdpa(permute(in[0], {0, 2, 1, 3}), in[1], in[2], mask); };
    auto reference = [&](const std::vector<Tensor>& in) {
      return naive::sdpa(permute(in[0], {0, 2, 1, 3}), in[1], in[2], mask);
    };
    REQUIRE_EQUALS_NAIVE(fused, reference, (std::vector<Tensor>{q, k, v}));
    Tensor p_fused, p_naive;
    scaled_dot_product_attention(permute(q, {0, 2, 1, 3}), k, v, mask, &p_fused);
    naive::sdpa(permute(q, {0, 2, 1, 3}), k, v, mask, &p_naive);
    REQUIRE(max_abs_diff(p_fused, p_naive) < 1e-12);
  }
}

TEST_CASE("sdpa: causal outputs ignore later positions", "[sdpa]") {
  Generator gen(13);
  AttentionMask causal = standard_masks(5)[1];
  Tensor q = rand64({2, 2, 5, 4}, gen, 1, false), k = rand64({2, 2, 5, 4}, gen, 1, false),
         v = rand64({2, 2, 5, 4}, gen, 1, false);
  Tensor out = sdpa(q, k, v, causal);
  for (int64_t i = 0; i < 4; ++i) {
    Tensor moved = sdpa(perturb_after(q, 2, i), perturb_after(k, 2, i), perturb_after(v, 2, i), causal);
    REQUIRE(max_abs_diff(slice(moved, 2, 0, i + 1), slice(out, 2, 0, i + 1)) == 0);
    REQUIRE(max_abs_diff(slice(moved, 2, i + 1, 5), slice(out, 2, i + 1, 5)) > 0);
  }
}

TEST_CASE("sdpa: a fully masked row is zero and passes zero gradients", "[sdpa]") {
  Generator gen(14);
  AttentionMask mask;
  mask.key_padding = Tensor::from_bools({false, true, false, true, true, true, true, true}, {2, 4});
  Tensor q = rand64({2, 2, 3, 4}, gen), k = rand64({2, 2, 4, 4}, gen), v = rand64({2, 2, 4, 4}, gen);
  Tensor out = sdpa(q, k, v, mask);
  Generator wgen(1);
  out.backward(randn(out.shape(), wgen, 0, 1, DType::F64));
  // batch item 1 has no visible key: its output and every gradient of its q, k, v are 0
  for (const Tensor& t : {out.detach(), q.grad(), k.grad(), v.grad()}) {
    REQUIRE(max_abs_diff(slice(t, 0, 1, 2), Tensor::zeros({1, 2, t.size(2), 4}, DType::F64)) == 0);
    for (double e : t.to_vector()) REQUIRE(std::isfinite(e));
  }
  // the padded keys of item 0 get no gradient either, the kept ones do
  REQUIRE(max_abs_diff(slice(slice(k.grad(), 0, 0, 1), 2, 1, 2), Tensor::zeros({1, 2, 1, 4}, DType::F64)) == 0);
  REQUIRE(max_abs_diff(slice(slice(v.grad(), 0, 0, 1), 2, 0, 1), Tensor::zeros({1, 2, 1, 4}, DType::F64)) > 0);
}

TEST_CASE("sdpa: key padding equals dropping the padded keys", "[sdpa]") {
  Generator gen(15);
  AttentionMask padding = standard_masks(6)[2];  // item 0 pads keys 4 and 5
  Tensor q = rand64({2, 2, 3, 4}, gen, 1, false), k = rand64({2, 2, 6, 4}, gen, 1, false),
         v = rand64({2, 2, 6, 4}, gen, 1, false);
  Tensor padded = slice(sdpa(q, k, v, padding), 0, 0, 1);
  Tensor dropped = sdpa(slice(q, 0, 0, 1), slice(slice(k, 0, 0, 1), 2, 0, 4), slice(slice(v, 0, 0, 1), 2, 0, 4),
                        AttentionMask());
  REQUIRE(max_abs_diff(padded, dropped) < 1e-14);
}

TEST_CASE("sdpa: float32 forward matches float64", "[sdpa]") {
  Generator gen(16);
  for (const AttentionMask& mask : standard_masks(5)) {
    Tensor q = rand64({2, 2, 5, 4}, gen, 1, false), k = rand64({2, 2, 5, 4}, gen, 1, false),
           v = rand64({2, 2, 5, 4}, gen, 1, false);
    Tensor out32 = sdpa(q.to(DType::F32), k.to(DType::F32), v.to(DType::F32), mask);
    REQUIRE(out32.dtype() == DType::F32);
    REQUIRE(relative_difference(out32, sdpa(q, k, v, mask)) < 1e-4);
  }
}

// The packed op against its composition: heads split off (B, T, H*dh), the 4-D op, heads merged.
TEST_CASE("sdpa packed: forward, probs and every gradient equal split, sdpa, merge", "[sdpa]") {
  Generator gen(14);
  for (const AttentionMask& mask : standard_masks(6)) {
    for (int64_t heads : {1, 3}) {
      INFO("heads " << heads);
      // self and cross shapes; v's heads (dv = 2) narrower than q's and k's (dh = 4)
      Tensor q = rand64({2, 5, heads * 4}, gen), k = rand64({2, 6, heads * 4}, gen), v = rand64({2, 6, heads * 2}, gen);
      const std::vector<Tensor> in{q, k, v};
      Tensor p_packed, p_split;
      Tensor packed = packed_scaled_dot_product_attention(q, k, v, heads, mask, &p_packed);
      Tensor composed = merge_heads(scaled_dot_product_attention(split_heads(q, heads), split_heads(k, heads),
                                                                 split_heads(v, heads), mask, &p_split));
      REQUIRE(packed.shape() == (Shape{2, 5, heads * 2}));
      REQUIRE(packed.is_contiguous());
      REQUIRE(max_abs_diff(packed, composed) < 1e-12);
      REQUIRE(max_abs_diff(p_packed, p_split) < 1e-12);
      Tensor w = rand64(packed.shape(), gen, 1.0, false);
      std::vector<Tensor> grads_packed, grads_composed;
      for (const Tensor& x : in) x.zero_grad();
      sum(mul(packed, w)).backward();
      for (const Tensor& x : in) grads_packed.push_back(x.grad());
      for (const Tensor& x : in) x.zero_grad();
      sum(mul(composed, w)).backward();
      for (size_t i = 0; i < in.size(); ++i) {
        INFO("gradient of input " << i);
        REQUIRE(grads_packed[i].is_contiguous());
        REQUIRE(max_abs_diff(grads_packed[i], in[i].grad()) < 1e-12);
      }
    }
  }
}

TEST_CASE("sdpa packed: gradients under every mask", "[sdpa][gradcheck]") {
  Generator gen(15);
  for (const AttentionMask& mask : standard_masks(5)) {
    Tensor q = rand64({2, 5, 6}, gen), k = rand64({2, 5, 6}, gen), v = rand64({2, 5, 4}, gen);
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) {
      return packed_scaled_dot_product_attention(in[0], in[1], in[2], 2, mask);
    }, (std::vector<Tensor>{q, k, v}));
  }
  // one tensor as q, k and v at once, its gradients summed over the three uses
  AttentionMask causal = standard_masks(5)[1];
  Tensor x = rand64({2, 5, 6}, gen);
  CHECK_GRADIENTS([&](const std::vector<Tensor>& in) {
    return packed_scaled_dot_product_attention(in[0], in[0], in[0], 3, causal);
  }, std::vector<Tensor>{x});
}

TEST_CASE("sdpa packed: bad inputs name the op, the heads and the shapes", "[sdpa][errors]") {
  Tensor q = Tensor::zeros({2, 5, 8}), k = Tensor::zeros({2, 6, 8}), v = Tensor::zeros({2, 6, 8});
  const auto op = Catch::Contains("packed_scaled_dot_product_attention");
  auto packed = [](const Tensor& q_, const Tensor& k_, const Tensor& v_, int64_t heads) {
    return packed_scaled_dot_product_attention(q_, k_, v_, heads, {});
  };
  REQUIRE_THROWS_WITH(packed(q, k, v, 3), op && Catch::Contains("H = 3") && Catch::Contains("(2, 5, 8)"));
  REQUIRE_THROWS_WITH(packed(q, k, v, 0), op && Catch::Contains("H = 0"));
  REQUIRE_THROWS_WITH(packed(Tensor::zeros({2, 2, 5, 4}), k, v, 2), op && Catch::Contains("(2, 2, 5, 4)"));
  REQUIRE_THROWS_WITH(packed(q, Tensor::zeros({2, 6, 4}), v, 2), op && Catch::Contains("(2, 2, 6, 2)"));
  REQUIRE_THROWS_WITH(packed(q, k, Tensor::zeros({2, 5, 8}), 2), op && Catch::Contains("(2, 2, 5, 4)"));
  REQUIRE_THROWS_WITH(packed(q, k, v.to(DType::F64), 2), op && Catch::Contains("float64"));
}

TEST_CASE("sdpa: bad inputs name the op and the shapes", "[sdpa][errors]") {
  Tensor q = Tensor::zeros({2, 2, 5, 4}), k = Tensor::zeros({2, 2, 6, 4}), v = Tensor::zeros({2, 2, 6, 4});
  const auto op = Catch::Contains("scaled_dot_product_attention");
  REQUIRE_THROWS_WITH(sdpa(q, Tensor::zeros({2, 2, 6, 3}), v, {}), op && Catch::Contains("(2, 2, 6, 3)"));
  REQUIRE_THROWS_WITH(sdpa(q, k, Tensor::zeros({2, 2, 5, 4}), {}), op && Catch::Contains("(2, 2, 5, 4)"));
  REQUIRE_THROWS_WITH(sdpa(Tensor::zeros({2, 5, 4}), k, v, {}), op && Catch::Contains("(2, 5, 4)"));
  REQUIRE_THROWS_WITH(sdpa(q, k, v.to(DType::F64), {}), op && Catch::Contains("float64"));
  AttentionMask mask;
  mask.key_padding = Tensor::from_bools(std::vector<bool>(10, false), {2, 5});
  REQUIRE_THROWS_WITH(sdpa(q, k, v, mask), op && Catch::Contains("(2, 5)") && Catch::Contains("(2, 6)"));
  mask.key_padding = Tensor::zeros({2, 6});
  REQUIRE_THROWS_WITH(sdpa(q, k, v, mask), op && Catch::Contains("float32(2, 6)"));
}
