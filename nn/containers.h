// Containers: compose modules without writing a subclass, as PyTorch's nn.ModuleList,
// nn.ModuleDict and nn.Sequential do. Each registers its items as children, so their
// parameters appear in named_parameters() and the state dict under the item's name:
//
//   ModuleList<M>:  children "0", "1", ...          (blocks.0.self_attn.wq.weight)
//   ModuleDict:     children by the names given      (encoder.weight, head.bias)
//   Sequential:     children "0", "1", ...; forward(x) runs them in order, each item's
//                   forward(const Tensor&) on the previous one's output
//
//   Generator gen(0);
//   auto mlp = std::make_shared<Sequential>();
//   mlp->push_back(std::make_shared<Linear>(4, 8, gen));
//   mlp->push_back(std::make_shared<LayerNorm>(8));
//   Tensor y = mlp->forward(x);  // parameters 0.weight, 0.bias, 1.weight, 1.bias
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "nn/module.h"

namespace dl {

template <class M>
class ModuleList : public Module {
 public:
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    items_.push_back(register_module(std::to_string(items_.size()), std::move(m)));
    return items_.back();
  }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) const { return *items_.at(i); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

class ModuleDict : public Module {
 public:
  // Adds m under name (a new name: a repeated or empty one, or one with a dot, throws).
  template <class M> std::shared_ptr<M> insert(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
  bool contains(const std::string& name) const;
  // The module under name, as M; throws naming the missing name or the wrong type.
  template <class M> std::shared_ptr<M> at(const std::string& name) const {
    std::shared_ptr<M> m = std::dynamic_pointer_cast<M>(child(name));
    DL_CHECK(m != nullptr, "ModuleDict", "module '" + name + "' is not of the requested type");
    return m;
  }

 private:
  std::shared_ptr<Module> child(const std::string& name) const;  // throws when absent
};

class Sequential : public Module {
 public:
  // Appends m, whose forward takes one tensor (Linear, LayerNorm, FeedForward, Dropout,
  // self-attention's forward(x), another Sequential, ...).
  template <class M> std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    register_module(std::to_string(steps_.size()), m);
    steps_.push_back([m](const Tensor& x) { return m->forward(x); });
    return m;
  }
  size_t size() const { return steps_.size(); }
  Tensor forward(const Tensor& x) const;  // the items in order; x itself when empty

 private:
  std::vector<std::function<Tensor(const Tensor&)>> steps_;
};

}  // namespace dl
