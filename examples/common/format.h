// Numbers as the training programs print them: fixed decimals and percentages.
#pragma once
#include <cstdio>
#include <string>

namespace dl::train {

inline std::string fixed(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

inline std::string percent(double fraction) { return fixed(100 * fraction, 1) + "%"; }

}  // namespace dl::train
