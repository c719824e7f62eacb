// The model a run's spec names, built for its task's data, with its objective; and the input
// scaling a checkpoint carries. Shared by run_task (train.h) and the eval and predict programs,
// so a checkpoint is always rebuilt the way it was trained.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>
#include "examples/common/attention_pictures.h"
#include "examples/common/objectives.h"
#include "examples/common/run_spec.h"

namespace dl::train {

// With the compact classifier embedding (and for seq2seq features), float inputs are
// standardised with one mean and standard deviation over the training split's values.
// Relational-game pixels lie in [0, 1] and are mostly 0: unscaled, compact's embeddings are about
// 10x smaller than the N(0, 1) learned positions, which drown them (occurs then stays near 50% for
// tens of epochs; standardised, DAT learns it in a few). The official embedding normalises each
// token itself and gets the pixels as they are (mean 0, std 1 here). Token inputs are left alone.
// A checkpoint stores the two numbers, so a loaded model sees inputs scaled as in its training.
struct InputScale {
  double mean = 0, std = 1;

  static InputScale of(const RunSpec& spec, const tasks::Split& train);
  // From a checkpoint's metadata; a missing, unparsable or non-finite value (or std <= 0) is a
  // dl::Error naming the key and the file.
  static InputScale from(const std::map<std::string, std::string>& metadata, const std::string& path);
  std::map<std::string, std::string> metadata() const;  // input_mean, input_std
  void apply(tasks::TaskData& data) const;
};

ClassifierConfig classifier_config(const RunSpec& spec, const tasks::TaskData& data);

// Sorting: feature source, targets 0..T-1 all scored, start token T. Copy and reverse: token
// source and target over the same vocabulary, padded.
struct Seq2SeqSetup {
  Seq2SeqConfig config;
  int32_t start = 0, pad = -1;  // pad -1: every target position is scored
};
Seq2SeqSetup seq2seq_setup(const RunSpec& spec, const tasks::TaskData& data);

// Builds the spec's model (Classifier or Seq2Seq, initial weights from the spec's seed) and its
// objective and returns f(model, objective, draw), where draw(dir, k, files) writes the attention
// pictures of the first k test examples.
template <class F>
auto with_task_model(const RunSpec& spec, const tasks::TaskData& data, F&& f) {
  Generator gen(spec.common.seed);
  if (!is_seq2seq_task(spec.task)) {
    Classifier model(classifier_config(spec, data), gen);
    ClassifierObjective objective(model);
    return f(model, static_cast<Objective&>(objective), [&](const RunDir& dir, int k, std::vector<std::string>& files) {
      draw_attention(model, data, spec.task, dir, k, files);
    });
  }
  const Seq2SeqSetup s = seq2seq_setup(spec, data);
  Seq2Seq model(s.config, gen);
  Seq2SeqObjective objective(model, s.start, s.pad);
  return f(model, static_cast<Objective&>(objective), [&](const RunDir& dir, int k, std::vector<std::string>& files) {
    draw_attention(model, data, spec.task, dir, k, files, s.start, s.pad);
  });
}

}  // namespace dl::train
