// The one training loop of the toy-task programs: shuffled mini-batches, Adam, validation after
// every epoch, the best epoch's weights kept (and restored at the end). What differs between
// model families is an Objective: the loss and accuracy of a batch (examples/common/objectives.h).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>
#include "examples/common/dataset.h"
#include "autograd/random.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace dl {
class Progress;
}

namespace dl::train {

struct TrainOptions {
  int epochs = 50;
  int64_t batch = 512;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.99;  // Adam, constant learning rate
  uint64_t seed = 0;                            // the order of the batches
};

struct Score {
  double loss = 0;      // the batches' mean losses (seq2seq: per scored target token), weighted by size
  double accuracy = 0;  // the fraction of examples right (seq2seq: at every scored position)
};

struct EpochMetrics {
  int epoch = 0;
  Score train, val;  // train: means over the epoch's batches, in training mode
  double seconds = 0;
};

// The part of training and evaluation that depends on the model family.
class Objective {
 public:
  virtual ~Objective() = default;
  virtual Module& model() = 0;
  // Training mode, recorded: the batch's mean loss and its accuracy as the loss saw it.
  virtual std::pair<Tensor, double> train_batch(const tasks::Split& batch) = 0;
  // Called in eval mode without recording: the batch's mean loss and accuracy.
  virtual Score eval_batch(const tasks::Split& batch) = 0;
};

// The score on a whole split, in batches, in eval mode without recording (the model's mode is
// restored afterwards).
Score evaluate(Objective& objective, const tasks::Split& split, int64_t batch);

// Where training stands between two epochs: all that fit needs to continue a run exactly, apart
// from the model and the optimizer (whose state a checkpoint holds).
struct FitState {
  int epoch = 0;                       // epochs completed
  int64_t step = 0;                    // optimizer steps taken
  Generator::State order{};            // the batch-order generator after `epoch` shuffles
  std::vector<EpochMetrics> history;   // one entry per completed epoch
  int best_epoch = 0;                  // the highest validation accuracy (lower loss breaks ties)
  std::map<std::string, Tensor> best_weights;  // that epoch's parameters
};

// A copy of every parameter of model (to load back with load_state_dict).
std::map<std::string, Tensor> snapshot(const Module& model);

// After each epoch: its metrics, whether it is the best so far, the state and the optimizer (to
// write metrics and checkpoints).
using EpochHook = std::function<void(const EpochMetrics&, bool best, const FitState&, const Optimizer&)>;
// Before the first epoch, to continue a run: fills the state and loads the optimizer's (and the
// model's) saved state.
using ResumeHook = std::function<void(FitState&, Optimizer&)>;

// Trains on data.train up to options.epochs, validating on data.val after each epoch. The model
// ends with the last epoch's weights; the best epoch's are in the returned state. progress (may be
// null) shows the steps.
//
// Divergence stops training at once: a non-finite loss or gradient norm, or non-finite weights
// at the end of an epoch, throw a dl::Error naming the epoch and step (so a non-finite model is
// never kept as the best).
FitState fit(Objective& objective, const tasks::TaskData& data, const TrainOptions& options, Progress* progress,
             const EpochHook& on_epoch = {}, const ResumeHook& resume = {});

}  // namespace dl::train
