#include "nn/optim.h"

#include <cmath>
#include <set>
#include "autograd/graph.h"
#include "autograd/parallel.h"
#include "nn/state_dict.h"
#include "ops/elementwise.h"

namespace dl {

Optimizer::Optimizer(NamedTensors params, double lr)
    : params_(std::move(params)), state_(params_.size()), lr_(lr) {
  std::set<const TensorImpl*> seen;
  for (const auto& [name, p] : params_) {
    DL_CHECK(p.defined() && is_floating(p.dtype()) && p.requires_grad(), "Optimizer",
             "parameter '" + name + "' must be a float tensor that requires grad");
    DL_CHECK(p.is_contiguous(), "Optimizer", "parameter '" + name + "' must be contiguous, got " + p.str());
    DL_CHECK(seen.insert(p.impl_ptr().get()).second, "Optimizer", "parameter '" + name + "' is listed twice");
  }
}

void Optimizer::add_slot(const std::string& slot, bool scalar) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i].second;
    state_[i].emplace(slot, Tensor::zeros(scalar ? Shape{} : p.shape(), p.dtype()));
  }
}

void Optimizer::step() {
  NoGradGuard no_grad;
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    DL_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype(), "Optimizer::step",
             "parameter '" + name + "' " + p.str() + " has gradient " + g.str());
    for (const auto& [slot, s] : state_[i])
      DL_CHECK(s.dtype() == p.dtype(), "Optimizer::step",
               "parameter '" + name + "' is now " + p.str() + " but its state was built for " +
                   dtype_name(s.dtype()) + ": build the optimizer after converting the module");
    update(i, p, g.contiguous());
  }
}

void Optimizer::zero_grad() {
  for (const auto& [name, p] : params_) p.zero_grad();
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i)
    for (const auto& [slot, t] : state_[i]) out.emplace(params_[i].first + "." + slot, t);
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state, int64_t step_count) {
  DL_CHECK(step_count >= 0, "Optimizer::load_state_dict", "negative step count " + std::to_string(step_count));
  copy_state_dict(state_dict(), state, "Optimizer::load_state_dict");
  steps_ = step_count;
}

// Runs f(i) for every element index of an n-element parameter. Elementwise, so the chunking
// never changes a result.
template <class F>
static void for_each_element(int64_t n, F&& f) {
  parallel_for(0, n, kElementGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) f(i);
  });
}

SGD::SGD(NamedTensors params, SGDOptions o) : Optimizer(std::move(params), o.lr), options(o) {
  DL_CHECK(!o.nesterov || o.momentum > 0, "SGD", "Nesterov momentum needs momentum > 0");
  if (o.momentum != 0.0) add_slot("momentum_buffer");
}

void SGD::update(size_t i, const Tensor& p, const Tensor& g) {
  dispatch_float(p.dtype(), "SGD", [&](auto zero) {
    using T = decltype(zero);
    T* w = p.data<T>();
    const T* gr = g.data<T>();
    T* buf = options.momentum != 0.0 ? state(i, "momentum_buffer").data<T>() : nullptr;
    const T rate = static_cast<T>(lr()), wd = static_cast<T>(options.weight_decay);
    const T mu = static_cast<T>(options.momentum);
    for_each_element(p.numel(), [&](int64_t k) {
      T d = gr[k] + wd * w[k];
      if (buf) {
        buf[k] = mu * buf[k] + d;
        d = options.nesterov ? d + mu * buf[k] : buf[k];
      }
      w[k] -= rate * d;
    });
  });
}

Adam::Adam(NamedTensors params, AdamOptions o, bool decoupled)
    : Optimizer(std::move(params), o.lr), options(o), decoupled_(decoupled) {
  DL_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps >= 0, "Adam",
           "betas must be in [0, 1) and eps >= 0");
  add_slot("exp_avg");
  add_slot("exp_avg_sq");
  add_slot("step", true);
}

void Adam::update(size_t i, const Tensor& p, const Tensor& g) {
  Tensor step_t = state(i, "step");
  const double t = step_t.item() + 1;
  step_t.fill_(t);
  const double b1 = options.beta1, b2 = options.beta2;
  const double step_size = lr() / (1 - std::pow(b1, t));
  const double bc2_sqrt = std::sqrt(1 - std::pow(b2, t));
  dispatch_float(p.dtype(), "Adam", [&](auto zero) {
    using T = decltype(zero);
    T* w = p.data<T>();
    const T* gr = g.data<T>();
    T* m = state(i, "exp_avg").data<T>();
    T* v = state(i, "exp_avg_sq").data<T>();
    const T wd = static_cast<T>(decoupled_ ? 0.0 : options.weight_decay);
    const T decay = static_cast<T>(decoupled_ ? 1 - lr() * options.weight_decay : 1.0);
    const T tb1 = static_cast<T>(b1), tb2 = static_cast<T>(b2), eps = static_cast<T>(options.eps);
    const T ss = static_cast<T>(step_size), bc2 = static_cast<T>(bc2_sqrt);
    for_each_element(p.numel(), [&](int64_t k) {
      w[k] *= decay;
      const T d = gr[k] + wd * w[k];
      m[k] = tb1 * m[k] + (1 - tb1) * d;
      v[k] = tb2 * v[k] + (1 - tb2) * d * d;
      w[k] -= ss * m[k] / (std::sqrt(v[k]) / bc2 + eps);
    });
  });
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  double sq = 0.0;  // summed in one fixed order, so the norm never depends on threads
  for (const Tensor& p : params) {
    if (!p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    dispatch_float(g.dtype(), "clip_grad_norm", [&](auto zero) {
      using T = decltype(zero);
      const T* d = g.data<T>();
      for (int64_t k = 0; k < g.numel(); ++k) sq += static_cast<double>(d[k]) * d[k];
    });
  }
  const double total = std::sqrt(sq);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    NoGradGuard no_grad;
    // new tensors rather than in-place scaling: two gradients may share storage
    for (const Tensor& p : params)
      if (p.grad().defined()) p.set_grad(mul(p.grad(), coef));
  }
  return total;
}

}  // namespace dl
