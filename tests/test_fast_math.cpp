#include <cmath>
#include <limits>
#include "ops/fast_math.h"
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
