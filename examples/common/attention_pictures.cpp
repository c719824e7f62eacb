#include "examples/common/attention_pictures.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include "examples/common/format.h"
#include "examples/common/objectives.h"
#include "examples/common/sequence_tasks.h"
#include "examples/common/svg.h"
#include "ops/ops.h"
#include "ops/tiled_sdpa.h"

namespace dl::train {

using tasks::Split;
using tasks::TaskData;

namespace {

// t with index i of axis taken, e.g. one example of a batch: (B, H, T, S) -> (H, T, S).
Tensor pick(const Tensor& t, int64_t axis, int64_t i) {
  Shape shape = t.shape();
  shape.erase(shape.begin() + axis);
  return reshape(slice(t, axis, i, i + 1).contiguous(), shape);
}

plot::Heatmap map_panel(const Tensor& matrix, const std::string& title, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols, const std::string& y_label, const std::string& x_label) {
  plot::Heatmap h = plot::heatmap(matrix, title);
  h.row_labels = rows;
  h.col_labels = cols;
  h.y_label = y_label;
  h.x_label = x_label;
  return h;
}

// One self-attention layer's maps for example b: every head's attention (query rows, key
// columns), every relational head's attention and every relation r[i, j].
void add_layer_maps(std::vector<plot::Panel>& panels, const AttentionMaps& m, int64_t b, const std::string& layer,
                    const std::vector<std::string>& labels) {
  const bool dual = m.relational.defined();
  if (m.attention.defined())
    for (int64_t h = 0; h < m.attention.size(1); ++h)
      panels.push_back(map_panel(pick(pick(m.attention, 0, b), 0, h),
                                 layer + (dual ? " sensory head " : " head ") + std::to_string(h + 1), labels, labels,
                                 "query", "key"));
  if (dual) {
    for (int64_t h = 0; h < m.relational.size(1); ++h)
      panels.push_back(map_panel(pick(pick(m.relational, 0, b), 0, h),
                                 layer + " relational head " + std::to_string(h + 1), labels, labels, "query", "key"));
    for (int64_t r = 0; r < m.relations.size(3); ++r)
      panels.push_back(map_panel(pick(pick(m.relations, 0, b), 2, r), layer + " relation " + std::to_string(r + 1),
                                 labels, labels, "object i", "object j"));
  }
}

}  // namespace

void save_learning_curves(const RunDir& dir, const std::string& title, const std::vector<EpochMetrics>& history) {
  plot::LineChart loss{"loss", "epoch", "cross-entropy", {}, false};
  plot::LineChart accuracy{"accuracy", "epoch", "accuracy", {}, false};
  plot::Series train_loss{"train", {}, {}, {}}, val_loss{"validation", {}, {}, {}};
  plot::Series train_acc{"train", {}, {}, {}}, val_acc{"validation", {}, {}, {}};
  for (const EpochMetrics& m : history) {
    for (plot::Series* s : {&train_loss, &val_loss, &train_acc, &val_acc}) s->x.push_back(m.epoch);
    train_loss.y.push_back(m.train.loss);
    val_loss.y.push_back(m.val.loss);
    train_acc.y.push_back(m.train.accuracy);
    val_acc.y.push_back(m.val.accuracy);
  }
  loss.series = {train_loss, val_loss};
  accuracy.series = {train_acc, val_acc};
  plot::Figure figure{title, {loss, accuracy}, 2};
  plot::save_svg(dir.file("learning_curves.svg"), plot::to_svg(figure));
}

namespace {

// "cell 4" for a cell holding an object, "empty 4" for a blank one (every pixel the same: black,
// however the inputs are scaled).
std::vector<std::string> cell_labels(const Tensor& example) {  // (N, F)
  std::vector<std::string> labels;
  const std::vector<double> v = example.to_vector();
  const int64_t N = example.size(0), F = example.size(1);
  for (int64_t i = 0; i < N; ++i) {
    const auto first = v.begin() + i * F, last = first + F;
    const bool empty = std::all_of(first, last, [&](double p) { return p == *first; });
    labels.push_back((empty ? "empty " : "cell ") + std::to_string(i));
  }
  return labels;
}

std::vector<std::string> object_labels(int64_t n, const std::string& name) {
  std::vector<std::string> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back(name + " " + std::to_string(i));
  return labels;
}

// The first k rows of a split (fewer if it is shorter).
Split first_rows(const Split& split, int k) {
  std::vector<int64_t> order(std::min<int64_t>(k, split.size()));
  std::iota(order.begin(), order.end(), 0);
  return tasks::gather_rows(split, order, 0, static_cast<int64_t>(order.size()));
}

// The input of one example as a picture: a relational game's 3 x 3 grid of P x P RGB patches as
// one (3P, 3P) image of the mean of its channels; any other input as its (N, F) matrix.
plot::Heatmap input_panel(const Tensor& example, bool grid) {  // (N, F)
  const int64_t N = example.size(0), F = example.size(1);
  const int64_t P = static_cast<int64_t>(std::lround(std::sqrt(F / 3.0)));
  if (!grid || N != 9 || 3 * P * P != F) return map_panel(example, "input", object_labels(N, "object"), {}, "", "feature");
  const std::vector<double> v = example.to_vector();
  plot::Heatmap h;
  h.title = "input image (mean of R, G, B)";
  h.rows = h.cols = 3 * P;
  h.values.assign(static_cast<size_t>(h.rows * h.cols), 0.0);
  for (int64_t row = 0; row < h.rows; ++row)
    for (int64_t col = 0; col < h.cols; ++col) {
      const int64_t cell = (row / P) * 3 + col / P, pixel = (row % P) * P + col % P;
      for (int64_t c = 0; c < 3; ++c) h.values[row * h.cols + col] += v[cell * F + pixel * 3 + c] / 3;
    }
  return h;
}

}  // namespace

plot::Figure example_figure(Classifier& model, const Tensor& x, bool grid, const std::string& title) {
  model.eval();
  NoGradGuard no_grad;
  AttentionMapsGuard maps;  // long inputs run tiled attention, which draws its maps only when asked
  model.forward(x);
  const Tensor example = pick(x, 0, 0);
  std::vector<std::string> labels = grid ? cell_labels(example) : object_labels(x.size(1), "object");
  if (model.config.embedding == EmbedKind::Official) labels.insert(labels.begin(), "cls");  // its first token
  std::vector<plot::Panel> panels;
  size_t per_layer = 0;
  for (int64_t l = 0; l < model.config.layers; ++l) {  // a row per layer, the input at its start
    const size_t before = panels.size();
    panels.push_back(input_panel(example, grid));
    add_layer_maps(panels, model.attention_maps(static_cast<size_t>(l)), 0, "layer " + std::to_string(l + 1), labels);
    per_layer = panels.size() - before;
  }
  model.train();
  return plot::Figure{title, panels, static_cast<int>(per_layer)};
}

void draw_attention(Classifier& model, const TaskData& data, const std::string& task, const RunDir& dir, int k,
                    std::vector<std::string>& files) {
  const Split batch = first_rows(data.test, k);
  const bool grid = !data.extra_tests.empty();  // a relational game: its tokens are the 9 cells
  for (int64_t i = 0; i < batch.size(); ++i) {
    const Tensor x = slice(batch.x, 0, i, i + 1).contiguous();  // (1, N, F)
    const Prediction p = predict(model, x);
    const std::string title = task + ", test example " + std::to_string(i) + ": label " +
                              std::to_string(static_cast<int>(batch.y.at({i}))) + ", predicted " +
                              std::to_string(p.label) + " (p " + fixed(p.probability, 2) + ")";
    const std::string name = "attention_" + std::to_string(i) + ".svg";
    plot::save_svg(dir.file(name), plot::to_svg(example_figure(model, x, grid, title)));
    files.push_back(name);
  }
}

Prediction predict(Classifier& model, const Tensor& x) {
  model.eval();
  NoGradGuard no_grad;
  const Tensor probs = softmax(model.forward(x));  // (1, C)
  const int32_t label = argmax_rows(probs)[0];
  model.train();
  return {label, probs.at({0, label})};
}

namespace {

// The labels of a token sequence: symbols as numbers, pad and start by name.
std::vector<std::string> token_labels(const std::vector<double>& tokens, int32_t start, int32_t pad, int32_t first) {
  std::vector<std::string> labels;
  for (double t : tokens) {
    const int32_t id = static_cast<int32_t>(t);
    labels.push_back(id == start ? "<start>" : id == pad ? "<pad>" : std::to_string(id - first));
  }
  return labels;
}

}  // namespace

// Per example, the encoder's self-attention (one row per layer) and the decoder's self- and
// cross-attention with teacher forcing (one row per layer).
void draw_attention(Seq2Seq& model, const TaskData& data, const std::string& task, const RunDir& dir, int k,
                    std::vector<std::string>& files, int32_t start, int32_t pad) {
  const Split batch = first_rows(data.test, k);
  const bool tokens = batch.x.dtype() == DType::I32;
  const int32_t symbol0 = tokens ? tasks::kFirstSymbol : 0;
  const Tensor src_padding = tokens ? padding_mask(batch.x, pad) : Tensor();
  model.eval();
  NoGradGuard no_grad;
  const Tensor tgt_in = tasks::shift_right(batch.y, start);
  model.forward(batch.x, tgt_in, src_padding);
  for (int64_t i = 0; i < batch.size(); ++i) {
    const std::vector<std::string> src = tokens ? token_labels(pick(batch.x, 0, i).to_vector(), -1, pad, symbol0)
                                                : object_labels(batch.x.size(1), "object");
    const std::vector<std::string> tgt = token_labels(pick(tgt_in, 0, i).to_vector(), start, pad, symbol0);
    std::vector<plot::Panel> enc, dec;
    for (size_t l = 0; l < model.encoder->blocks->size(); ++l)
      add_layer_maps(enc, model.encoder_attention(l), i, "encoder layer " + std::to_string(l + 1), src);
    for (size_t l = 0; l < model.decoder->size(); ++l) {
      const std::string layer = "decoder layer " + std::to_string(l + 1);
      add_layer_maps(dec, model.decoder_self_attention(l), i, layer, tgt);
      const Tensor cross = pick(model.decoder_cross_attention(l), 0, i);  // (H, T, S)
      for (int64_t h = 0; h < cross.size(0); ++h)
        dec.push_back(map_panel(pick(cross, 0, h), layer + " cross head " + std::to_string(h + 1), tgt, src,
                                "decoder input", "source"));
    }
    const std::string title = task + ", test example " + std::to_string(i) + " (teacher forcing)";
    const std::string name = "attention_" + std::to_string(i) + ".svg";
    const int enc_columns = static_cast<int>(enc.size() / model.encoder->blocks->size());
    const int dec_columns = static_cast<int>(dec.size() / model.decoder->size());
    plot::save_svg(dir.file(name), plot::to_svg(plot::Figure{title + ": encoder self-attention", enc, enc_columns}));
    const std::string dec_name = "attention_" + std::to_string(i) + "_decoder.svg";
    plot::save_svg(dir.file(dec_name),
                   plot::to_svg(plot::Figure{title + ": decoder self- and cross-attention", dec, dec_columns}));
    files.push_back(name);
    files.push_back(dec_name);
  }
  model.train();
}

}  // namespace dl::train
