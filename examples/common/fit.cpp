#include "examples/common/fit.h"

#include <algorithm>
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

namespace {

// A copy of every parameter, to restore the best epoch's weights from.
std::map<std::string, Tensor> snapshot(const Module& model) {
  NoGradGuard no_grad;
  std::map<std::string, Tensor> copy;
  for (const auto& [name, p] : model.named_parameters()) copy[name] = p.detach().clone();
  return copy;
}

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

FitResult fit(Objective& objective, const TaskData& data, const TrainOptions& o, Progress* progress,
              const std::function<void(const EpochMetrics&, bool best)>& on_epoch) {
  DL_CHECK(o.epochs >= 1 && o.batch >= 1 && o.lr > 0, "fit",
           "need epochs >= 1, batch >= 1 and lr > 0, got " + std::to_string(o.epochs) + ", " +
               std::to_string(o.batch) + ", " + std::to_string(o.lr));
  Module& model = objective.model();
  AdamOptions adam_options;
  adam_options.lr = o.lr;
  adam_options.beta1 = o.beta1;
  adam_options.beta2 = o.beta2;
  Adam adam(model.named_parameters(), adam_options);
  Generator order_gen(o.seed * 0x9E3779B97F4A7C15ULL + 7);  // not the data's or the weights' stream
  const int64_t n = data.train.size();
  FitResult result;
  std::map<std::string, Tensor> best_weights;
  Score best_val;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const double start = Progress::steady_seconds();
    if (progress) progress->start_epoch();
    model.train();
    const std::vector<int64_t> order = tasks::epoch_order(n, order_gen);
    Score train;
    for (int64_t begin = 0; begin < n; begin += o.batch) {
      const int64_t end = std::min(n, begin + o.batch);
      auto [loss, accuracy] = objective.train_batch(tasks::gather_rows(data.train, order, begin, end));
      adam.zero_grad();
      loss.backward();
      adam.step();
      const double value = loss.item();
      train.loss += value * (end - begin);
      train.accuracy += accuracy * (end - begin);
      if (progress) progress->step(value, accuracy);
    }
    EpochMetrics m;
    m.epoch = epoch;
    m.train = {train.loss / n, train.accuracy / n};
    m.val = evaluate(objective, data.val, o.batch);
    m.seconds = Progress::steady_seconds() - start;
    const bool is_best = result.history.empty() || better(m.val, best_val);
    if (is_best) {
      best_val = m.val;
      result.best_epoch = epoch;
      best_weights = snapshot(model);
    }
    result.history.push_back(m);
    if (progress)
      progress->end_epoch("val loss " + fixed(m.val.loss, 4) + "  val acc " + percent(m.val.accuracy) +
                          (is_best ? "  (best)" : ""));
    if (on_epoch) on_epoch(m, is_best);
  }
  model.load_state_dict(best_weights);
  return result;
}

}  // namespace dl::train
