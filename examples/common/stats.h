// The statistics a sweep reports over its seeds: mean and sample standard deviation, and Welch's
// t-test of whether two models' accuracies differ by more than their seed-to-seed spread.
#pragma once
#include <vector>

namespace dl::stats {

struct MeanStd {
  double mean, std;  // std: the sample standard deviation (divides by n - 1; 0 for one value)
};
MeanStd mean_std(const std::vector<double>& v);  // NaN, NaN for no values

// P(|T| >= t) for Student's t distribution with df > 0 degrees of freedom (df need not be an
// integer): the regularized incomplete beta function I_x(df/2, 1/2) at x = df / (df + t^2).
double student_t_two_sided_p(double t, double df);

// Welch's t-test of "a and b have the same mean", without assuming equal variances:
//   t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b)
//   df = (s_a^2/n_a + s_b^2/n_b)^2 / ((s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1))   (Welch-Satterthwaite)
// and the two-sided p-value. NaN when either side has fewer than 2 values; when both spreads are
// 0 it is 1 for equal means and 0 otherwise.
double welch_p(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace dl::stats
