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

// given without ties' second names, each checked by same(second, first) when present.
template <class Map, class Same>
Map drop_ties(const Map& given, const std::map<std::string, std::string>& ties, const std::string& op, Same&& same) {
  Map out = given;
  for (const auto& [second, first] : ties) {
    auto it = given.find(second);
    if (it == given.end()) continue;
    auto primary = given.find(first);
    DL_CHECK(primary != given.end(), op,
             "tensor '" + second + "' is tied to '" + first + "', which is missing");
    DL_CHECK(same(it->second, primary->second), op,
             "tensors '" + second + "' and '" + first + "' are one tied tensor, but the two copies differ");
    out.erase(second);
  }
  return out;
}

StateSpec without_ties(const StateSpec& given, const std::map<std::string, std::string>& ties, const std::string& op) {
  return drop_ties(given, ties, op,
                   [](const TensorSpec& a, const TensorSpec& b) { return a.shape == b.shape && a.dtype == b.dtype; });
}

StateDict without_ties(const StateDict& given, const std::map<std::string, std::string>& ties, const std::string& op) {
  return drop_ties(given, ties, op, [](const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() && a.to_vector() == b.to_vector();
  });
}

void copy_state_dict(const StateDict& own, const StateDict& given, const std::string& op) {
  check_state_dict(own, given, op);
  for (const auto& [name, mine] : own) Tensor(mine).copy_(given.at(name));
}

}  // namespace dl
