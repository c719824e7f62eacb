// Small modules over single ops, with PyTorch's parameter names and initialisation.
//   Embedding(V, C):   weight (V, C) ~ N(0, 1);  ids (...) int32 -> (..., C)
//   LayerNorm(C, eps): weight (C) = 1, bias (C) = 0;  x (..., C) -> (..., C)
//   RMSNorm(C, eps):   weight (C) = 1;                x (..., C) -> (..., C)
//   Dropout(p, seed):  no parameters; draws its masks from its own generator, identity in eval()
//   ModuleList<M>:     children named "0", "1", ... (blocks.0.attn.wq.weight)
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

}  // namespace dl
