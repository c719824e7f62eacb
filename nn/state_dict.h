// Loading named tensors into live ones (a module's parameters, an optimizer's state): shared by
// Module::load_state_dict, Optimizer::load_state_dict and load_checkpoint.
#pragma once
#include <map>
#include <string>
#include "autograd/tensor.h"

namespace dl {

using StateDict = std::map<std::string, Tensor>;

// What a tensor will be before its values are read (a checkpoint's header, say).
struct TensorSpec {
  Shape shape;
  DType dtype;
};
using StateSpec = std::map<std::string, TensorSpec>;

StateSpec spec_of(const StateDict& state);
// Throws "op: ..." naming the first tensor of `given` that `own` lacks (unknown), the first of
// `own` that `given` lacks (missing), or one whose shape or dtype differs.
void check_state_spec(const StateDict& own, const StateSpec& given, const std::string& op);
void check_state_dict(const StateDict& own, const StateDict& given, const std::string& op);
// check_state_dict, then copies every value of `given` into `own` (so nothing changes on error).
void copy_state_dict(const StateDict& own, const StateDict& given, const std::string& op);

// Tied tensors (Module::tied_names: second name -> first name) are stored under each name, as
// PyTorch does. These return `given` without the second names, having checked that each one
// present matches its first name: the same shape and dtype (specs), the same values (tensors).
// A second name may be absent (a state written before it was stored); its first name is not.
StateSpec without_ties(const StateSpec& given, const std::map<std::string, std::string>& ties, const std::string& op);
StateDict without_ties(const StateDict& given, const std::map<std::string, std::string>& ties, const std::string& op);

}  // namespace dl
