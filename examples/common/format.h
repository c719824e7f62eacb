// Numbers as the training programs print them: fixed decimals, percentages and p-values.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>

namespace dl::train {

inline std::string fixed(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

inline std::string percent(double fraction) { return fixed(100 * fraction, 1) + "%"; }

// A p-value with two significant digits and no leading zero, as papers print them: .09, .0031,
// 1; "<.0001" below that; "n/a" for NaN (fewer than two seeds).
inline std::string p_value(double p) {
  if (std::isnan(p)) return "n/a";
  if (p < 1e-4) return "<.0001";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", p);
  const std::string s = buf;
  return s.rfind("0.", 0) == 0 ? s.substr(1) : s;
}

}  // namespace dl::train
