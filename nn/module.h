// Module: a node in a tree of named parameters, as in PyTorch.
//
// To compose modules without a subclass, use the containers of nn/containers.h (ModuleList,
// ModuleDict, Sequential). A subclass registers its parameters and children in its constructor:
//     weight = register_parameter("weight", init(...));
//     attn = register_module("attn", std::make_shared<MultiHeadAttention>(...));
// and defines its own forward(...) (no virtual forward: signatures differ between modules).
// Names compose with dots in registration order (blocks.0.attn.wq.weight), so a state dict maps
// one-to-one onto a PyTorch re-implementation with the same names.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "autograd/random.h"
#include "autograd/tensor.h"

namespace dl {

class Module {
 public:
  virtual ~Module() = default;

  std::vector<std::pair<std::string, Tensor>> named_parameters() const;  // depth-first, in order
  // The direct children, in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  std::vector<Tensor> parameters() const;
  int64_t num_parameters() const;
  // name -> parameter (shares storage). As in PyTorch, a tensor registered twice (tied weights,
  // e.g. a symmetric RelationalAttention's wk_rel = wq_rel) is here under each of its names,
  // while named_parameters() lists it once, under its first.
  std::map<std::string, Tensor> state_dict() const;
  // The second and later names of tied tensors -> the first name.
  std::map<std::string, std::string> tied_names() const;
  // Copies values in; every name must exist on both sides with equal shape and dtype, otherwise
  // throws naming the offending tensor (unknown, missing, or mismatched). The second names of a
  // tied tensor may be absent (states saved without them); present, they must hold the very
  // values of the first name (without_ties in nn/state_dict.h).
  void load_state_dict(const std::map<std::string, Tensor>& state);

  // The random streams the module and its children draw from in training (Dropout's), by dotted
  // name, depth-first: checkpoints save them, so a resumed run draws the same masks.
  std::vector<std::pair<std::string, Generator*>> named_generators() const;

  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool training() const { return training_; }
  void zero_grad();
  // Converts every parameter in place (same tensor handles), e.g. to float64 for gradient checks.
  void to(DType dtype);

 protected:
  Tensor register_parameter(const std::string& name, Tensor value);  // makes it require grad
  void register_generator(const std::string& name, Generator& gen);  // gen: a member of this module
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<std::string, Generator*>> generators_;
  bool training_ = true;
};

}  // namespace dl
