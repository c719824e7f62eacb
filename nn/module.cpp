#include "nn/module.h"

#include <set>
#include "nn/state_dict.h"

namespace dl {

// Depth-first: a module's own parameters, then each child's, all in registration order. A tensor
// registered twice (tied weights) is listed once, under its first name, as in PyTorch.
std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const TensorImpl*> seen;
  auto add = [&](const std::string& name, const Tensor& p) {
    if (seen.insert(p.impl_ptr().get()).second) out.emplace_back(name, p);
  };
  for (const auto& [name, p] : params_) add(name, p);
  for (const auto& [name, child] : children_)
    for (const auto& [sub, p] : child->named_parameters()) add(name + "." + sub, p);
  return out;
}

std::vector<std::pair<std::string, Generator*>> Module::named_generators() const {
  std::vector<std::pair<std::string, Generator*>> out;
  std::set<const Generator*> seen;  // a module shared by two parents is listed once
  for (const auto& [name, g] : generators_)
    if (seen.insert(g).second) out.emplace_back(name, g);
  for (const auto& [name, child] : children_)
    for (const auto& [sub, g] : child->named_generators())
      if (seen.insert(g).second) out.emplace_back(name + "." + sub, g);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (const auto& [name, p] : params_) out.emplace(name, p);
  for (const auto& [name, child] : children_)
    for (const auto& [sub, p] : child->state_dict()) out.emplace(name + "." + sub, p);
  return out;
}

std::map<std::string, std::string> Module::tied_names() const {
  std::map<const TensorImpl*, std::string> first;
  for (const auto& [name, p] : named_parameters()) first.emplace(p.impl_ptr().get(), name);
  std::map<std::string, std::string> ties;
  for (const auto& [name, p] : state_dict()) {
    const std::string& primary = first.at(p.impl_ptr().get());
    if (primary != name) ties.emplace(name, primary);
  }
  return ties;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state) {
  const char* op = "load_state_dict";
  StateDict own;
  for (const auto& [name, p] : named_parameters()) own.emplace(name, p);
  copy_state_dict(own, without_ties(state, tied_names(), op), op);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.zero_grad();
}

void Module::to(DType dtype) {
  DL_CHECK(is_floating(dtype), "Module::to", std::string("parameters must be float, got ") + dtype_name(dtype));
  for (const Tensor& p : parameters()) {
    if (p.dtype() == dtype) continue;
    Tensor converted = p.detach().to(dtype);  // dense, not recorded
    TensorImpl& im = p.impl();
    im.storage = converted.impl().storage;
    im.offset = 0;
    im.strides = converted.strides();
    im.dtype = dtype;
    im.grad.reset();  // a stale gradient of the old dtype would poison accumulation
  }
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  DL_CHECK(!name.empty() && name.find('.') == std::string::npos, "register_parameter",
           "invalid parameter name '" + name + "'");
  for (const auto& [n, p] : params_)
    DL_CHECK(n != name, "register_parameter", "duplicate parameter name '" + name + "'");
  DL_CHECK(value.defined() && is_floating(value.dtype()), "register_parameter",
           "parameter '" + name + "' must be a float tensor");
  Tensor leaf = value.grad_fn() ? value.detach() : value;
  leaf.requires_grad_(true);
  params_.emplace_back(name, leaf);
  return leaf;
}

void Module::register_generator(const std::string& name, Generator& gen) {
  DL_CHECK(!name.empty() && name.find('.') == std::string::npos, "register_generator",
           "invalid generator name '" + name + "'");
  for (const auto& [n, g] : generators_)
    DL_CHECK(n != name, "register_generator", "duplicate generator name '" + name + "'");
  generators_.emplace_back(name, &gen);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  DL_CHECK(child != nullptr, "register_module", "module '" + name + "' is null");
  DL_CHECK(!name.empty() && name.find('.') == std::string::npos, "register_module",
           "invalid module name '" + name + "'");
  for (const auto& [n, c] : children_)
    DL_CHECK(n != name, "register_module", "duplicate module name '" + name + "'");
  children_.emplace_back(name, std::move(child));
}

}  // namespace dl
