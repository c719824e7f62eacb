#include "nn/containers.h"

namespace dl {

bool ModuleDict::contains(const std::string& name) const {
  for (const auto& [n, m] : named_children())
    if (n == name) return true;
  return false;
}

std::shared_ptr<Module> ModuleDict::child(const std::string& name) const {
  std::string names;
  for (const auto& [n, m] : named_children()) {
    if (n == name) return m;
    names += (names.empty() ? "" : ", ") + n;
  }
  throw Error("ModuleDict: no module '" + name + "' (it holds: " + (names.empty() ? "nothing" : names) + ")");
}

Tensor Sequential::forward(const Tensor& x) const {
  Tensor y = x;
  for (const auto& step : steps_) y = step(y);
  return y;
}

}  // namespace dl
