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

// Runs body(lo, hi) over chunks of an n-element parameter. Elementwise, so the chunking never
// changes a result. The bodies take their arrays as restrict parameters: through captured
// pointers GCC cannot prove w, m, v and g apart and leaves the loop scalar.
template <class F>
static void for_each_chunk(int64_t n, F&& body) {
  parallel_for(0, n, kElementGrain, body);
}

SGD::SGD(NamedTensors params, SGDOptions o) : Optimizer(std::move(params), o.lr), options(o) {
  DL_CHECK(!o.nesterov || o.momentum > 0, "SGD", "Nesterov momentum needs momentum > 0");
  if (o.momentum != 0.0) add_slot("momentum_buffer");
}

// d = g + wd w; with momentum: buf = mu buf + d, d = nesterov ? d + mu buf : buf; w -= rate d
template <class T>
static void sgd_chunk(int64_t n, T* __restrict w, T* __restrict buf, const T* __restrict g, T wd,
                      T mu, T rate, bool nesterov) {
  for (int64_t k = 0; k < n; ++k) {
    T d = g[k] + wd * w[k];
    if (buf) {
      buf[k] = mu * buf[k] + d;
      d = nesterov ? d + mu * buf[k] : buf[k];
    }
    w[k] -= rate * d;
  }
}

void SGD::update(size_t i, const Tensor& p, const Tensor& g) {
  dispatch_float(p, "SGD", [&](auto zero) {
    using T = decltype(zero);
    T* w = p.data<T>();
    const T* gr = g.data<T>();
    T* buf = options.momentum != 0.0 ? state(i, "momentum_buffer").data<T>() : nullptr;
    const T rate = static_cast<T>(lr()), wd = static_cast<T>(options.weight_decay);
    const T mu = static_cast<T>(options.momentum);
    for_each_chunk(p.numel(), [&](int64_t lo, int64_t hi) {
      sgd_chunk(hi - lo, w + lo, buf ? buf + lo : nullptr, gr + lo, wd, mu, rate, options.nesterov);
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

template <class T>
struct AdamStep {
  T decay, wd, b1, b2, step_size, bc2_sqrt, eps;
};

// w *= decay; d = g + wd w; m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2;
// w -= step_size m / (sqrt(v) / bc2_sqrt + eps)
template <class T>
static void adam_chunk(int64_t n, T* __restrict w, T* __restrict m, T* __restrict v,
                       const T* __restrict g, const AdamStep<T>& c) {
  for (int64_t k = 0; k < n; ++k) {
    w[k] *= c.decay;
    const T d = g[k] + c.wd * w[k];
    m[k] = c.b1 * m[k] + (1 - c.b1) * d;
    v[k] = c.b2 * v[k] + (1 - c.b2) * d * d;
    w[k] -= c.step_size * m[k] / (std::sqrt(v[k]) / c.bc2_sqrt + c.eps);
  }
}

void Adam::update(size_t i, const Tensor& p, const Tensor& g) {
  Tensor step_t = state(i, "step");
  const double t = step_t.item() + 1;
  step_t.fill_(t);
  const double b1 = options.beta1, b2 = options.beta2;
  const double step_size = lr() / (1 - std::pow(b1, t));
  const double bc2_sqrt = std::sqrt(1 - std::pow(b2, t));
  dispatch_float(p, "Adam", [&](auto zero) {
    using T = decltype(zero);
    T* w = p.data<T>();
    const T* gr = g.data<T>();
    T* m = state(i, "exp_avg").data<T>();
    T* v = state(i, "exp_avg_sq").data<T>();
    const T wd = static_cast<T>(decoupled_ ? 0.0 : options.weight_decay);
    const T decay = static_cast<T>(decoupled_ ? 1 - lr() * options.weight_decay : 1.0);
    const AdamStep<T> c{decay, wd, static_cast<T>(b1), static_cast<T>(b2), static_cast<T>(step_size),
                        static_cast<T>(bc2_sqrt), static_cast<T>(options.eps)};
    for_each_chunk(p.numel(), [&](int64_t lo, int64_t hi) { adam_chunk(hi - lo, w + lo, m + lo, v + lo, gr + lo, c); });
  });
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  double sq = 0.0;  // summed in one fixed order, so the norm never depends on threads
  for (const Tensor& p : params) {
    if (!p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    dispatch_float(g, "clip_grad_norm", [&](auto zero) {
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
