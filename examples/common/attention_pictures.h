// The pictures of a run: learning curves (loss and accuracy per epoch) and heatmaps of the
// attention of a few test examples, every layer and head (examples/common/svg.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "examples/common/fit.h"
#include "examples/common/run_dir.h"
#include "examples/common/svg.h"
#include "models/classifier.h"
#include "models/transformer.h"

namespace dl::train {

// dir/learning_curves.svg: train and validation loss and accuracy against the epoch.
void save_learning_curves(const RunDir& dir, const std::string& title, const std::vector<EpochMetrics>& history);

struct Prediction {
  int32_t label = 0;         // the most probable class
  double probability = 0;    // its softmax probability
};
Prediction predict(Classifier& model, const Tensor& x);  // x: one example, (1, N, F)

// One example x (1, N, F): a row per layer, the input (a relational game's image when grid)
// beside the layer's attention, relational attention and relation maps.
plot::Figure example_figure(Classifier& model, const Tensor& x, bool grid, const std::string& title);

// dir/attention_<i>.svg for the first k test examples (example_figure); the names written are
// appended to files.
void draw_attention(Classifier& model, const tasks::TaskData& data, const std::string& task, const RunDir& dir, int k,
                    std::vector<std::string>& files);

// dir/attention_<i>.svg (the encoder's self-attention, one row per layer) and
// dir/attention_<i>_decoder.svg (the decoder's self- and cross-attention with teacher forcing).
void draw_attention(Seq2Seq& model, const tasks::TaskData& data, const std::string& task, const RunDir& dir, int k,
                    std::vector<std::string>& files, int32_t start, int32_t pad);

}  // namespace dl::train
