// Linear layer, y = x W^T + b, with PyTorch's layout and default initialisation:
//   weight (out, in), bias (out), both ~ U(-1/sqrt(in), 1/sqrt(in))
// (kaiming_uniform with a = sqrt(5) for the weight, the same bound for the bias).
// forward: x (..., in) -> (..., out).
#pragma once
#include "autograd/random.h"
#include "nn/module.h"

namespace dl {

class Linear : public Module {
 public:
  // One order, as every module: sizes, then the generator, then options and dtype.
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true, DType dtype = DType::F32);

  Tensor forward(const Tensor& x) const;

  int64_t in_features, out_features;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined when constructed without bias
};

}  // namespace dl
