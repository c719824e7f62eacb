// Every attention op through every row path of its softmax (no mask and causal take the prefix
// path, key padding the per-entry path), in float32 and float64, with scores far beyond exp's
// range (about 89 overflows a float, 710 a double): the row maximum must be subtracted, so the
// results stay finite and exact. And a row whose visible scores are all -inf is all zeros on
// either path, like a row whose keys are all masked.
#include "ops/differential_attention.h"
#include "ops/gpam_attention.h"
#include "ops/relational_attention.h"
#include "ops/sdpa.h"
#include "tests/testing.h"

#include <functional>
#include <limits>

using namespace dl;
using namespace dl::testing;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// softmax of two scores, in float64 and by the difference only (exact for any magnitude)
std::pair<double, double> softmax2(double s0, double s1) {
  const double p1 = 1 / (1 + std::exp(s0 - s1));
  return {1 - p1, p1};
}

struct MaskCase {
  const char* name;
  AttentionMask mask;
  bool sees_key1;  // whether the one query sees key 1
};

// One query, two keys: each mask either shows both keys or only key 0, on either row path.
std::vector<MaskCase> mask_cases() {
  AttentionMask none, causal, padding_none, padding_key1, causal_padding;
  causal.causal = causal_padding.causal = true;
  causal.query_offset = causal_padding.query_offset = 1;  // query at position 1: sees keys 0, 1
  padding_none.key_padding = causal_padding.key_padding = Tensor::from_bools({false, false}, {1, 2});
  padding_key1.key_padding = Tensor::from_bools({false, true}, {1, 2});
  AttentionMask causal_first;  // query at position 0: sees key 0 only, prefix path
  causal_first.causal = true;
  return {{"no mask", none, true},
          {"causal", causal, true},
          {"causal, key 1 in the future", causal_first, false},
          {"padding, nothing padded", padding_none, true},
          {"padding key 1", padding_key1, false},
          {"causal and padding", causal_padding, true}};
}

Tensor col(const std::vector<double>& v, DType dt) {  // (1, 1, n, 1)
  return Tensor::from_vector(v, {1, 1, int64_t(v.size()), 1}, dt);
}

// O for one query with scores s over values v (only key 0 when !both)
double attend(double s0, double s1, double v0, double v1, bool both) {
  if (!both) return v0;
  auto [p0, p1] = softmax2(s0, s1);
  return p0 * v0 + p1 * v1;
}

void require_close(double got, double expected, DType dt) {
  const double tol = dt == DType::F32 ? 2e-6 : 1e-12;
  INFO("got " << got << ", expected " << expected);
  REQUIRE(std::isfinite(got));
  REQUIRE(std::fabs(got - expected) <= tol * std::max(1.0, std::fabs(expected)));
}

}  // namespace

TEST_CASE("large logits: every attention op stays finite and exact on every mask path", "[attention][stability]") {
  // q = [1], k = [1000, 999], v = [1, 3]; dh = 1, so the scores are 1000 and 999
  const double q = 1, k0 = 1000, k1 = 999, v0 = 1, v1 = 3;
  for (DType dt : {DType::F32, DType::F64}) {
    for (const MaskCase& c : mask_cases()) {
      INFO(dtype_name(dt) << ", " << c.name);
      Tensor tq = col({q}, dt), tk = col({k0, k1}, dt), tv = col({v0, v1}, dt);
      SECTION("sdpa") {
        Tensor o = scaled_dot_product_attention(tq, tk, tv, c.mask);
        require_close(o.to_vector()[0], attend(q * k0, q * k1, v0, v1, c.sees_key1), dt);
      }
      SECTION("daGPAM") {
        // wneg = -1: the negative query is -relu(q) = -1, scores -1000 and -999
        const double lam = 0.25;
        Tensor o = gpam_attention(tq, tk, tv, Tensor::from_vector({-1}, {1, 1, 1}, dt),
                                  Tensor::from_vector({lam}, {1}, dt), c.mask);
        const double expected = (1 + lam) * attend(k0, k1, v0, v1, c.sees_key1) -
                                lam * attend(-k0, -k1, v0, v1, c.sees_key1);
        require_close(o.to_vector()[0], expected, dt);
      }
      SECTION("differential") {
        const double lam = 0.5;
        Tensor q2 = col({-2}, dt);  // scores -2000 and -1998
        Tensor o = differential_attention(tq, tk, q2, tk, tv, Tensor::from_vector({lam}, {1}, dt), c.mask);
        const double expected = attend(k0, k1, v0, v1, c.sees_key1) -
                                lam * attend(-2 * k0, -2 * k1, v0, v1, c.sees_key1);
        require_close(o.to_vector()[0], expected, dt);
      }
      SECTION("relational") {
        // q_rel, k_rel (B, T, d_r = 1, dp = 1); wr (H, dh, d_r) = 0.5; per-position symbols sv = v
        Tensor q_rel = Tensor::from_vector({2}, {1, 1, 1, 1}, dt);
        Tensor k_rel = Tensor::from_vector({1, -1}, {1, 2, 1, 1}, dt);
        Tensor wr = Tensor::from_vector({0.5}, {1, 1, 1}, dt);
        Tensor o = relational_attention(tq, tk, q_rel, k_rel, wr, tv, c.mask);
        // r = (2, -2); a = sum_j alpha_j (0.5 r_j + v_j)
        const double expected = attend(k0, k1, v0 + 1, v1 - 1, c.sees_key1);
        require_close(o.to_vector()[0], expected, dt);
      }
    }
  }
}

TEST_CASE("large logits: the sdpa gradients stay finite and exact", "[attention][stability]") {
  const double k0 = 1000, k1 = 999, v0 = 1, v1 = 3;
  for (DType dt : {DType::F32, DType::F64}) {
    for (const MaskCase& c : mask_cases()) {
      INFO(dtype_name(dt) << ", " << c.name);
      Tensor q = col({1}, dt).requires_grad_(), k = col({k0, k1}, dt).requires_grad_(),
             v = col({v0, v1}, dt).requires_grad_();
      scaled_dot_product_attention(q, k, v, c.mask).backward(Tensor::ones({1, 1, 1, 1}, dt));
      auto [p0, p1] = c.sees_key1 ? softmax2(k0, k1) : std::pair<double, double>{1, 0};
      const double o = p0 * v0 + p1 * v1;
      // dO/ds_j = p_j (v_j - O); s_j = q k_j, so dq = sum_j dO/ds_j k_j and dk_j = dO/ds_j q
      const double ds0 = p0 * (v0 - o), ds1 = p1 * (v1 - o);
      // the float32 dq sums terms of 1000 ds_j that nearly cancel: compare on their scale
      const double dq_scale = dt == DType::F32 ? 1000 : 1;
      INFO("dq");
      require_close(q.grad().to_vector()[0] / dq_scale, (ds0 * k0 + ds1 * k1) / dq_scale, dt);
      std::vector<double> dk = k.grad().to_vector(), dv = v.grad().to_vector();
      require_close(dk[0], ds0, dt);
      require_close(dk[1], ds1, dt);
      require_close(dv[0], p0, dt);
      require_close(dv[1], p1, dt);
    }
  }
}

TEST_CASE("a row whose visible scores are all -inf is zeros on the causal and the padded path", "[attention][stability]") {
  // dh = 1, q = [1, 1], k = [-inf, 0]: query 0 sees only key 0 (score -inf) under the causal
  // mask; query 1 sees both and puts all its weight on key 1
  for (DType dt : {DType::F32, DType::F64}) {
    INFO(dtype_name(dt));
    Tensor q = col({1, 1}, dt), k = col({-kInf, 0}, dt), v = col({1, 3}, dt);
    AttentionMask causal, causal_padded;
    causal.causal = causal_padded.causal = true;
    causal_padded.key_padding = Tensor::from_bools({false, false}, {1, 2});
    for (const AttentionMask& mask : {causal, causal_padded}) {
      Tensor probs;
      Tensor o = scaled_dot_product_attention(q, k, v, mask, &probs);
      REQUIRE(probs.to_vector() == std::vector<double>{0, 0, 0, 1});
      REQUIRE(o.to_vector() == std::vector<double>{0, 3});
    }
  }
}
