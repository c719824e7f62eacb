// The one training loop of the toy-task programs: shuffled mini-batches, Adam, validation after
// every epoch, the best epoch's weights kept (and restored at the end). What differs between
// model families is an Objective: the loss and accuracy of a batch (examples/common/objectives.h).
#pragma once
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>
#include "examples/common/dataset.h"
#include "nn/module.h"

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

struct FitResult {
  std::vector<EpochMetrics> history;
  int best_epoch = 0;  // the epoch of the highest validation accuracy (lower loss breaks ties)
};

// Trains on data.train for options.epochs, validating on data.val after each epoch, then loads
// the best epoch's weights back into the model. on_epoch runs after each epoch with its metrics
// and whether it is the best so far (to write metrics and save a checkpoint); progress (may be
// null) shows the steps.
FitResult fit(Objective& objective, const tasks::TaskData& data, const TrainOptions& options,
              Progress* progress, const std::function<void(const EpochMetrics&, bool best)>& on_epoch = {});

}  // namespace dl::train
