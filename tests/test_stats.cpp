// The sweep's statistics: Student's t tail against its closed forms for 1, 2 and 3 degrees of
// freedom and against table critical values, and Welch's test against a hand-worked example.
#include <catch2/catch.hpp>

#include <cmath>
#include "examples/common/stats.h"

using namespace dl::stats;

TEST_CASE("stats: Student's t two-sided p against closed forms and tables", "[stats]") {
  for (double t : {0.0, 0.3, 1.0, 2.5, 7.0, 40.0}) {
    INFO("t = " << t);
    // df 1 is the Cauchy distribution; df 2 and 3 have closed-form CDFs too
    REQUIRE(student_t_two_sided_p(t, 1) == Approx(1 - 2 / M_PI * std::atan(t)).margin(1e-13));
    REQUIRE(student_t_two_sided_p(-t, 2) == Approx(1 - t / std::sqrt(2 + t * t)).margin(1e-13));
    const double u = t / std::sqrt(3.0);
    REQUIRE(student_t_two_sided_p(t, 3) == Approx(1 - 2 / M_PI * (u / (1 + u * u) + std::atan(u))).margin(1e-13));
  }
  // the 97.5% quantiles of t tables: two-sided p = .05
  REQUIRE(student_t_two_sided_p(2.570582, 5) == Approx(0.05).margin(1e-7));
  REQUIRE(student_t_two_sided_p(2.228139, 10) == Approx(0.05).margin(1e-7));
  REQUIRE(student_t_two_sided_p(1.959964, 1e7) == Approx(0.05).margin(1e-6));  // the normal limit
  REQUIRE(student_t_two_sided_p(INFINITY, 4) == 0);
  REQUIRE(std::isnan(student_t_two_sided_p(1, 0)));
  REQUIRE(std::isnan(student_t_two_sided_p(NAN, 3)));
}

TEST_CASE("stats: Welch's t-test on a worked example and its edge cases", "[stats]") {
  // a: mean 2, variance 1; b: mean 5.5, variance 5/3. Squared standard errors 1/3 and 5/12.
  const std::vector<double> a = {1, 2, 3}, b = {4, 5, 6, 7};
  const double va = 1.0 / 3, vb = 5.0 / 12;
  const double t = (2 - 5.5) / std::sqrt(va + vb);
  const double df = (va + vb) * (va + vb) / (va * va / 2 + vb * vb / 3);
  REQUIRE(df == Approx(4.9592).epsilon(1e-4));
  REQUIRE(welch_p(a, b) == Approx(student_t_two_sided_p(t, df)).epsilon(1e-12));
  REQUIRE(welch_p(a, b) == Approx(0.0100).margin(2e-4));
  REQUIRE(welch_p(b, a) == welch_p(a, b));
  REQUIRE(welch_p(a, a) == Approx(1.0));
  REQUIRE(welch_p({0.5, 0.5}, {0.5, 0.5}) == 1);  // no spread, equal means
  REQUIRE(welch_p({0.5, 0.5}, {0.9, 0.9}) == 0);  // no spread, different means
  REQUIRE(std::isnan(welch_p({0.5}, {0.4, 0.6})));
  const MeanStd s = mean_std(b);
  REQUIRE(s.mean == 5.5);
  REQUIRE(s.std == Approx(std::sqrt(5.0 / 3)));
  REQUIRE(mean_std({0.7}).std == 0);
  REQUIRE(std::isnan(mean_std({}).mean));
}
