#include "examples/common/fit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include "examples/common/format.h"
#include "autograd/graph.h"
#include "examples/common/progress.h"
#include "nn/optim.h"

namespace dl::train {

using tasks::Split;
using tasks::TaskData;

std::map<std::string, Tensor> snapshot(const Module& model) {
  NoGradGuard no_grad;
  std::map<std::string, Tensor> copy;
  for (const auto& [name, p] : model.named_parameters()) copy[name] = p.detach().clone();
  return copy;
}

namespace {

bool better(const Score& a, const Score& b) {
  return a.accuracy > b.accuracy || (a.accuracy == b.accuracy && a.loss < b.loss);
}


}  // namespace

Score evaluate(Objective& objective, const Split& split, int64_t batch) {
  Module& model = objective.model();
  const bool was_training = model.training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<int64_t> order(split.size());
  std::iota(order.begin(), order.end(), 0);
  Score total;
  for (int64_t begin = 0; begin < split.size(); begin += batch) {
    const int64_t end = std::min(split.size(), begin + batch);
    const Score s = objective.eval_batch(tasks::gather_rows(split, order, begin, end));
    total.loss += s.loss * (end - begin);
    total.accuracy += s.accuracy * (end - begin);
  }
  model.train(was_training);
  const double n = static_cast<double>(std::max<int64_t>(split.size(), 1));
  return {total.loss / n, total.accuracy / n};
}

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// what: e.g. "the loss is nan"; step counts from 1 over the whole run.
[[noreturn]] void diverged(const std::string& what, int epoch, int64_t step, double lr) {
  throw Error("training diverged: " + what + " at epoch " + std::to_string(epoch) + ", step " + std::to_string(step) +
              "; try a lower learning rate (--lr, now " + number(lr) + ")");
}

bool finite_weights(const Module& model) {
  for (const auto& [name, p] : model.named_parameters())
    for (double v : p.to_vector())
      if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

FitState fit(Objective& objective, const TaskData& data, const TrainOptions& o, Progress* progress,
             const EpochHook& on_epoch, const ResumeHook& resume) {
  DL_CHECK(o.epochs >= 1 && o.batch >= 1 && o.lr > 0 && std::isfinite(o.lr), "fit",
           "need epochs >= 1, batch >= 1 and a finite lr > 0, got " + std::to_string(o.epochs) + ", " +
               std::to_string(o.batch) + ", " + std::to_string(o.lr));
  Module& model = objective.model();
  AdamOptions adam_options;
  adam_options.lr = o.lr;
  adam_options.beta1 = o.beta1;
  adam_options.beta2 = o.beta2;
  Adam adam(model.named_parameters(), adam_options);
  Generator order_gen(o.seed * 0x9E3779B97F4A7C15ULL + 7);  // not the data's or the weights' stream
  FitState state;
  if (resume) {
    resume(state, adam);
    if (state.epoch > 0) order_gen.set_state(state.order);
    for (int e = 0; e < state.epoch && progress; ++e) progress->start_epoch();  // count the epochs done
  }
  std::vector<Tensor> params;
  for (const auto& [name, p] : model.named_parameters()) params.push_back(p);
  const int64_t n = data.train.size();
  for (int epoch = state.epoch + 1; epoch <= o.epochs; ++epoch) {
    const double start = Progress::steady_seconds();
    if (progress) progress->start_epoch();
    model.train();
    const std::vector<int64_t> order = tasks::epoch_order(n, order_gen);
    Score train;
    for (int64_t begin = 0; begin < n; begin += o.batch) {
      const int64_t end = std::min(n, begin + o.batch);
      auto [loss, accuracy] = objective.train_batch(tasks::gather_rows(data.train, order, begin, end));
      const double value = loss.item();
      ++state.step;
      if (!std::isfinite(value)) diverged("the loss is " + number(value), epoch, state.step, o.lr);
      adam.zero_grad();
      loss.backward();
      // An infinite max_norm never clips: this only measures the norm.
      const double norm = clip_grad_norm(params, INFINITY);
      if (!std::isfinite(norm)) diverged("the gradient norm is " + number(norm), epoch, state.step, o.lr);
      adam.step();
      train.loss += value * (end - begin);
      train.accuracy += accuracy * (end - begin);
      if (progress) progress->step(value, accuracy);
    }
    if (!finite_weights(model)) diverged("the weights are no longer finite", epoch, state.step, o.lr);
    EpochMetrics m;
    m.epoch = epoch;
    m.train = {train.loss / n, train.accuracy / n};
    m.val = evaluate(objective, data.val, o.batch);
    m.seconds = Progress::steady_seconds() - start;
    const bool is_best = state.history.empty() || better(m.val, state.history[state.best_epoch - 1].val);
    if (is_best) {
      state.best_epoch = epoch;
      state.best_weights = snapshot(model);
    }
    state.history.push_back(m);
    state.epoch = epoch;
    state.order = order_gen.state();
    if (progress)
      progress->end_epoch("val loss " + fixed(m.val.loss, 4) + "  val acc " + percent(m.val.accuracy) +
                          (is_best ? "  (best)" : ""));
    if (on_epoch) on_epoch(m, is_best, state, adam);
  }
  return state;
}

}  // namespace dl::train
