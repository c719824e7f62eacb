// Finite-difference gradient checker, in float64.
//
// For y = f(inputs) it draws a random weight tensor w (shape of y) and compares, for every element
// x_k of every input that requires grad,
//     analytic  d<w, y>/dx_k   from y.backward(w)
//     numeric   (<w, f(x + eps e_k)> - <w, f(x - eps e_k)>) / (2 eps)
// Weighting by a random w matters: <1, softmax(x)> is constant, so an unweighted sum would pass
// any softmax backward. An element passes when |analytic - numeric| <= atol + rtol * |numeric|.
//
// Inputs are perturbed in place, so tensors that f captures (a module's parameters) can be listed
// as inputs too and f may ignore its argument for them.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include "autograd/tensor.h"

namespace dl {

struct GradcheckOptions {
  double eps = 1e-6;
  double rtol = 1e-6;
  double atol = 1e-8;
  uint64_t seed = 1234;
};

struct InputReport {
  size_t input = 0;
  int64_t worst_element = -1;  // flat index of the element with the largest scaled error
  double analytic = 0, numeric = 0, abs_err = 0;
  bool ok = true;
};

struct GradcheckReport {
  bool ok = true;
  std::vector<InputReport> inputs;  // one per input that requires grad
  std::string str() const;          // one line per input: worst element, both values, verdict
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

GradcheckReport gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = GradcheckOptions());

}  // namespace dl
