// The Objectives of the two model families (examples/common/fit.h): classification
// (cross-entropy, accuracy of the argmax) and seq2seq (teacher forcing for the loss; full-sequence
// accuracy of greedy decoding for evaluation).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>
#include "examples/common/fit.h"
#include "models/classifier.h"
#include "models/transformer.h"

namespace dl::train {

// The index of the largest of each row of logits (..., C).
std::vector<int32_t> argmax_rows(const Tensor& logits);

class ClassifierObjective : public Objective {
 public:
  explicit ClassifierObjective(Classifier& model) : model_(model) {}
  Module& model() override { return model_; }
  std::pair<Tensor, double> train_batch(const tasks::Split& batch) override;
  Score eval_batch(const tasks::Split& batch) override;

 private:
  Classifier& model_;
};

// Targets y (B, T) with the decoder input shift_right(y, start); pad marks target positions that
// are not scored (copy and reverse), or is -1 when every position counts (sorting).
class Seq2SeqObjective : public Objective {
 public:
  Seq2SeqObjective(Seq2Seq& model, int32_t start, int32_t pad) : model_(model), start_(start), pad_(pad) {}
  Module& model() override { return model_; }
  std::pair<Tensor, double> train_batch(const tasks::Split& batch) override;
  // The loss with teacher forcing; the accuracy of greedy decoding, as at test time.
  Score eval_batch(const tasks::Split& batch) override;

 private:
  Tensor padding(const Tensor& src) const;
  Seq2Seq& model_;
  int32_t start_, pad_;
};

}  // namespace dl::train
