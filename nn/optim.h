// Optimizers with PyTorch's update rules (dampening 0, no amsgrad). Per parameter p with gradient g:
//   SGD:   g += wd p;  if mu: buf = mu buf + g,  g = nesterov ? g + mu buf : buf;  p -= lr g
//   Adam:  g += wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  t += 1
//          p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   AdamW: p *= 1 - lr wd  (decoupled decay, before the Adam update, which then has wd = 0)
// step() runs under NoGradGuard and updates parameter data in place; a parameter without a
// gradient is skipped (its state, including Adam's per-parameter t, does not advance).
//
// State is a set of named tensors "<param name>.<slot>" (momentum_buffer; exp_avg, exp_avg_sq,
// step), created as zeros when the optimizer is built, plus the count of step() calls, so a
// checkpoint restores an optimizer exactly.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>
#include "autograd/tensor.h"

namespace dl {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  // params: e.g. module.named_parameters(); the names key the state.
  Optimizer(NamedTensors params, double lr);
  virtual ~Optimizer() = default;

  void step();
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  int64_t step_count() const { return steps_; }
  const NamedTensors& params() const { return params_; }

  std::map<std::string, Tensor> state_dict() const;  // shares storage with the live state
  // Copies state in; every entry must exist on both sides with equal shape and dtype.
  void load_state_dict(const std::map<std::string, Tensor>& state, int64_t step_count);

 protected:
  // Declares a per-parameter state tensor, zeros shaped like the parameter (scalar: shape ()).
  void add_slot(const std::string& slot, bool scalar = false);
  const Tensor& state(size_t param, const std::string& slot) const { return state_[param].at(slot); }
  // Updates parameter i in place from its dense gradient g.
  virtual void update(size_t i, const Tensor& p, const Tensor& g) = 0;

 private:
  NamedTensors params_;
  std::vector<std::map<std::string, Tensor>> state_;  // per parameter: slot -> tensor
  double lr_;
  int64_t steps_ = 0;
};

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
};

class SGD : public Optimizer {
 public:
  SGD(NamedTensors params, SGDOptions options);
  const SGDOptions options;

 protected:
  void update(size_t i, const Tensor& p, const Tensor& g) override;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // PyTorch's AdamW uses 0.01 by default: pass it explicitly
};

class Adam : public Optimizer {
 public:
  Adam(NamedTensors params, AdamOptions options) : Adam(std::move(params), options, false) {}
  const AdamOptions options;

 protected:
  Adam(NamedTensors params, AdamOptions options, bool decoupled);
  void update(size_t i, const Tensor& p, const Tensor& g) override;

 private:
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  AdamW(NamedTensors params, AdamOptions options) : Adam(std::move(params), options, true) {}
};

// Scales every gradient by max_norm / (total + 1e-6) when the total L2 norm over all of them
// exceeds max_norm (as torch.nn.utils.clip_grad_norm_); returns the total norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace dl
