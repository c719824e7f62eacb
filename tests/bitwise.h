// Bitwise equality of two named tensor sets (state dicts, optimizer state): checkpoints and
// resumed runs must reproduce every byte, not just come close.
#pragma once
#include <cstring>
#include <map>
#include <string>
#include "tests/testing.h"

namespace dl::testing {

inline void require_bitwise(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    const Tensor& u = b.at(name);
    REQUIRE(t.str() == u.str());
    REQUIRE(std::memcmp(t.raw_data(), u.raw_data(), t.numel() * dtype_size(t.dtype())) == 0);
  }
}

}  // namespace dl::testing
