#include "nn/state_dict.h"

namespace dl {

StateSpec spec_of(const StateDict& state) {
  StateSpec spec;
  for (const auto& [name, t] : state) spec.emplace(name, TensorSpec{t.shape(), t.dtype()});
  return spec;
}

void check_state_spec(const StateDict& own, const StateSpec& given, const std::string& op) {
  for (const auto& [name, t] : given) DL_CHECK(own.count(name), op, "unknown tensor '" + name + "'");
  for (const auto& [name, mine] : own) {
    auto it = given.find(name);
    DL_CHECK(it != given.end(), op, "missing tensor '" + name + "'");
    const TensorSpec& t = it->second;
    DL_CHECK(t.shape == mine.shape() && t.dtype == mine.dtype(), op,
             "tensor '" + name + "' is " + dtype_name(t.dtype) + shape_str(t.shape) + " but expected " + mine.str());
  }
}

void check_state_dict(const StateDict& own, const StateDict& given, const std::string& op) {
  check_state_spec(own, spec_of(given), op);
}

void copy_state_dict(const StateDict& own, const StateDict& given, const std::string& op) {
  check_state_dict(own, given, op);
  for (const auto& [name, mine] : own) Tensor(mine).copy_(given.at(name));
}

}  // namespace dl
