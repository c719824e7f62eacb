// Small modules over single ops, with PyTorch's parameter names and initialisation.
//   Embedding(V, C):   weight (V, C) ~ N(0, 1);  ids (...) int32 -> (..., C)
//   LayerNorm(C, eps): weight (C) = 1, bias (C) = 0;  x (..., C) -> (..., C)
//   RMSNorm(C, eps):   weight (C) = 1;                x (..., C) -> (..., C)
//   Dropout(p, seed):  no parameters; draws its masks from its own generator, identity in eval()
#pragma once
#include <memory>
#include <string>
#include <vector>
#include "autograd/random.h"
#include "nn/module.h"

namespace dl {

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Generator& gen, DType dtype = DType::F32);
  Tensor forward(const Tensor& ids) const;
  Tensor weight;  // (V, C)
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, DType dtype = DType::F32);
  Tensor forward(const Tensor& x) const;
  double eps;
  Tensor weight, bias;  // (C)
};

class RMSNorm : public Module {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6, DType dtype = DType::F32);
  Tensor forward(const Tensor& x) const;
  double eps;
  Tensor weight;  // (C)
};

class Dropout : public Module {
 public:
  explicit Dropout(double p, uint64_t seed = 0);
  Dropout(const Dropout&) = delete;  // the module holds a pointer to its own generator
  Dropout& operator=(const Dropout&) = delete;
  Tensor forward(const Tensor& x);  // advances the generator when training with p > 0
  double p;

 private:
  Generator gen_;
};

}  // namespace dl
