#include <cmath>
#include <cstring>
#include <limits>
#include <vector>
#include "ops/fast_math.h"
#include "ops/loops.h"
#include "tests/testing.h"

using namespace dl;

namespace {

// |got - want| in units of float's spacing at want (FLT_MIN at least, as near 0 erf is tiny).
double ulps(float got, double want) {
  const double ulp = std::max(std::ldexp(1.0, std::ilogb(want) - 23), double(std::numeric_limits<float>::min()));
  return std::fabs(double(got) - want) / ulp;
}

}  // namespace

TEST_CASE("fast_exp: float e^x within 2 ulp for x <= 0, 0 below FLT_MIN, NaN kept", "[fast_math]") {
  double worst = 0;
  for (double x = -87.3; x <= 0; x += 0.0007) worst = std::max(worst, ulps(fast_exp(float(x)), std::exp(double(float(x)))));
  CHECK(worst <= 2.0);
  REQUIRE(fast_exp(0.0f) == 1.0f);
  REQUIRE(fast_exp(-88.0f) == 0.0f);
  REQUIRE(fast_exp(-std::numeric_limits<float>::infinity()) == 0.0f);
  REQUIRE(std::isnan(fast_exp(std::numeric_limits<float>::quiet_NaN())));
  REQUIRE(fast_exp(-1.0) == std::exp(-1.0));  // double is libm's
}

TEST_CASE("fast_erf: float erf within 3 ulp, odd, saturating at +-1", "[fast_math]") {
  double worst = 0;
  for (double x = -6; x <= 6; x += 0.0003) {
    const float xf = float(x);
    worst = std::max(worst, ulps(fast_erf(xf), std::erf(double(xf))));
    REQUIRE(fast_erf(-xf) == -fast_erf(xf));
  }
  CHECK(worst <= 3.0);
  const float inf = std::numeric_limits<float>::infinity();
  REQUIRE(fast_erf(inf) == 1.0f);
  REQUIRE(fast_erf(-inf) == -1.0f);
  REQUIRE(fast_erf(0.0f) == 0.0f);
  REQUIRE(std::isnan(fast_erf(std::numeric_limits<float>::quiet_NaN())));
}

// The ops run fast_exp and fast_erf in loops the compiler vectorizes (ops/loops.h); a vector
// select or conversion that treated NaN, infinities or the clamp differently from the scalar
// code would show here. The reference calls go through a volatile function pointer, which the
// compiler cannot inline, so they stay scalar.
TEST_CASE("fast_exp and fast_erf: vectorized loops equal the scalar function bit for bit", "[fast_math]") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {0.0f, -0.0f, -87.336544f, -87.34f, -88.0f, -1e30f, -inf, nan, inf, 0.93f, -0.93f, 4.0f, -4.0f};
  for (double v = -100; v <= 10; v += 0.0137) x.push_back(float(v));
  std::vector<float> exp_in(x.size());  // fast_exp's domain is x <= 0 (and NaN)
  for (size_t i = 0; i < x.size(); ++i) exp_in[i] = std::isnan(x[i]) ? x[i] : -std::fabs(x[i]);
  float (*volatile scalar_exp)(float) = fast_exp;
  float (*volatile scalar_erf)(float) = fast_erf;
  std::vector<float> e(x.size()), r(x.size());
  map_dense_arrays(static_cast<int64_t>(x.size()), e.data(), [](float v) { return fast_exp(v); }, exp_in.data());
  map_dense_arrays(static_cast<int64_t>(x.size()), r.data(), [](float v) { return fast_erf(v); }, x.data());
  auto same_bits = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); };
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i]);
    REQUIRE(same_bits(e[i], scalar_exp(exp_in[i])));
    REQUIRE(same_bits(r[i], scalar_erf(x[i])));
  }
}
