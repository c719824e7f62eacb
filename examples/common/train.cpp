#include "examples/common/train.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include "examples/common/progress.h"
#include "examples/common/run_dir.h"
#include "examples/common/sequence_tasks.h"
#include "examples/common/svg.h"
#include "examples/common/tasks.h"
#include "models/checkpoint.h"
#include "models/classifier.h"
#include "models/transformer.h"
#include "nn/optim.h"
#include "ops/ops.h"

namespace dl::train {

using json = nlohmann::json;
using tasks::Split;
using tasks::TaskData;

namespace {

std::string fixed(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string percent(double fraction) { return fixed(100 * fraction, 1) + "%"; }

// The index of the largest of each row of logits (..., C).
std::vector<int32_t> argmax_rows(const Tensor& logits) {
  const int64_t C = logits.size(-1);
  const std::vector<double> v = logits.to_vector();
  std::vector<int32_t> out(v.size() / C);
  for (size_t r = 0; r < out.size(); ++r)
    out[r] = static_cast<int32_t>(std::max_element(v.begin() + r * C, v.begin() + (r + 1) * C) - (v.begin() + r * C));
  return out;
}

// The fraction of examples (rows of target (B, ...)) that predicted (row-major) gets right at
// every position whose target is not pad (-1: every position counts).
double sequence_accuracy(const std::vector<int32_t>& predicted, const Tensor& target, int32_t pad) {
  const int64_t B = target.size(0), T = target.numel() / B;
  const std::vector<double> y = target.to_vector();
  int64_t right = 0;
  for (int64_t b = 0; b < B; ++b) {
    bool ok = true;
    for (int64_t t = 0; t < T; ++t) {
      const int32_t want = static_cast<int32_t>(y[b * T + t]);
      ok = ok && (want == pad || predicted[b * T + t] == want);
    }
    right += ok;
  }
  return static_cast<double>(right) / B;
}

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

// ---------------------------------------------------------------- the loop

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

// ---------------------------------------------------------------- objectives

namespace {

class ClassifierObjective : public Objective {
 public:
  explicit ClassifierObjective(Classifier& model) : model_(model) {}
  Module& model() override { return model_; }

  std::pair<Tensor, double> train_batch(const Split& batch) override {
    const Tensor logits = model_.forward(batch.x);  // (B, C)
    return {cross_entropy(logits, batch.y), sequence_accuracy(argmax_rows(logits), batch.y, -1)};
  }
  Score eval_batch(const Split& batch) override {
    const auto [loss, accuracy] = train_batch(batch);  // the same computation, not recorded
    return {loss.item(), accuracy};
  }

 private:
  Classifier& model_;
};

// Targets y (B, T) with the decoder input shift_right(y, start); pad marks target positions that
// are not scored (copy and reverse), or is -1 when every position counts (sorting).
class Seq2SeqObjective : public Objective {
 public:
  Seq2SeqObjective(Seq2Seq& model, int32_t start, int32_t pad) : model_(model), start_(start), pad_(pad) {}
  Module& model() override { return model_; }

  std::pair<Tensor, double> train_batch(const Split& batch) override {
    const Tensor logits = model_.forward(batch.x, tasks::shift_right(batch.y, start_), padding(batch.x));  // (B, T, V)
    return {cross_entropy(logits, batch.y, pad_ >= 0 ? pad_ : -100), sequence_accuracy(argmax_rows(logits), batch.y, pad_)};
  }
  // The loss with teacher forcing; the accuracy of greedy decoding, as at test time.
  Score eval_batch(const Split& batch) override {
    const double loss = train_batch(batch).first.item();  // not recorded here
    const Decoded out = model_.greedy_decode(batch.x, start_, batch.y.size(1), padding(batch.x));
    const std::vector<double> tokens = out.tokens.to_vector();
    return {loss, sequence_accuracy(std::vector<int32_t>(tokens.begin(), tokens.end()), batch.y, pad_)};
  }

 private:
  Tensor padding(const Tensor& src) const {
    return pad_ >= 0 && src.dtype() == DType::I32 ? padding_mask(src, pad_) : Tensor();
  }
  Seq2Seq& model_;
  int32_t start_, pad_;
};

}  // namespace

// ---------------------------------------------------------------- pictures

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

// Pictures of the first k test examples: per example, every layer's maps (one row per layer).
void draw_attention(Classifier& model, const TaskData& data, const std::string& task, const RunDir& dir, int k,
                    std::vector<std::string>& files) {
  const Split batch = first_rows(data.test, k);
  model.eval();
  NoGradGuard no_grad;
  const Tensor probs = softmax(model.forward(batch.x));  // (k, C)
  const std::vector<int32_t> predicted = argmax_rows(probs);
  const bool grid = !data.extra_tests.empty();  // a relational game: its tokens are the 9 cells
  for (int64_t i = 0; i < batch.size(); ++i) {
    const std::vector<std::string> labels =
        grid ? cell_labels(pick(batch.x, 0, i)) : object_labels(batch.x.size(1), "object");
    std::vector<plot::Panel> panels;
    for (int64_t l = 0; l < model.config.layers; ++l)
      add_layer_maps(panels, model.attention_maps(static_cast<size_t>(l)), i, "layer " + std::to_string(l + 1), labels);
    const int columns = static_cast<int>(panels.size() / model.config.layers);
    const std::string title = task + ", test example " + std::to_string(i) + ": label " +
                              std::to_string(static_cast<int>(batch.y.at({i}))) + ", predicted " +
                              std::to_string(predicted[i]) + " (p " + fixed(probs.at({i, predicted[i]}), 2) + ")";
    const std::string name = "attention_" + std::to_string(i) + ".svg";
    plot::save_svg(dir.file(name), plot::to_svg(plot::Figure{title, panels, columns}));
    files.push_back(name);
  }
  model.train();
}

// The labels of a token sequence: symbols as numbers, pad and start by name.
std::vector<std::string> token_labels(const std::vector<double>& tokens, int32_t start, int32_t pad, int32_t first) {
  std::vector<std::string> labels;
  for (double t : tokens) {
    const int32_t id = static_cast<int32_t>(t);
    labels.push_back(id == start ? "<start>" : id == pad ? "<pad>" : std::to_string(id - first));
  }
  return labels;
}

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

}  // namespace

// ---------------------------------------------------------------- runs

bool is_seq2seq_task(const std::string& task) { return task == "sorting" || task == "copy" || task == "reverse"; }

AttentionConfig ModelSpec::attention() const {
  AttentionConfig a;
  a.heads = heads;
  if (kind == "transformer") return a;
  if (kind == "gpam") {
    a.kind = AttentionKind::GPAM;
    return a;
  }
  DL_CHECK(kind == "dat", "model", "unknown model kind '" + kind + "' (expected transformer, dat or gpam)");
  a.kind = AttentionKind::Dual;  // tasks.md's DAT: symmetric relations, positional symbols
  a.n_sa = n_sa;
  a.n_ra = n_ra;
  a.symmetric = true;
  a.symbols = SymbolKind::Positional;
  return a;
}

std::string ModelSpec::str() const {
  const std::string heads_text = kind == "dat" ? std::to_string(n_sa) + " sa + " + std::to_string(n_ra) + " ra heads"
                                               : std::to_string(heads) + " heads";
  return kind + " (" + heads_text + "), " + std::to_string(layers) + " layers, d " + std::to_string(d) + ", d_ff " +
         std::to_string(d_ff) + ", dropout " + fixed(dropout, 2);
}

TrainOptions RunSpec::train_options() const { return {common.epochs, batch, lr, beta1, beta2, common.seed}; }

namespace {

BlockConfig block_config(const ModelSpec& m) {
  BlockConfig b;
  b.d = m.d;
  b.d_ff = m.d_ff;
  b.dropout = m.dropout;
  b.attention = m.attention();
  b.validate();
  DL_CHECK(m.layers >= 1, "model", "layers must be positive, got " + std::to_string(m.layers));
  return b;
}

tasks::Sizes resolved_sizes(const RunSpec& spec) {
  const tasks::Sizes d = tasks::default_sizes(spec.task);
  return {spec.sizes.train > 0 ? spec.sizes.train : d.train, spec.sizes.val > 0 ? spec.sizes.val : d.val,
          spec.sizes.test > 0 ? spec.sizes.test : d.test};
}

json spec_json(const RunSpec& s, const tasks::Sizes& sizes) {
  return {{"task", s.task},
          {"train_size", sizes.train},
          {"val_size", sizes.val},
          {"test_size", sizes.test},
          {"model_kind", s.model.kind},
          {"seed", s.common.seed},
          {"epochs", s.common.epochs},
          {"batch", s.batch},
          {"lr", s.lr},
          {"betas", {s.beta1, s.beta2}},
          {"load", s.load},
          {"eval_only", s.eval_only}};
}

// Float inputs are standardised with one mean and standard deviation over the training split's
// values. Relational-game pixels lie in [0, 1] and are mostly 0: unscaled, their embeddings are
// about 10x smaller than the N(0, 1) learned positions, which drown them (occurs then stays near
// 50% for tens of epochs; standardised, DAT learns it in a few). Token inputs are left alone. A
// checkpoint stores the two numbers, so a loaded model sees inputs scaled as in its training.
struct InputScale {
  double mean = 0, std = 1;

  static InputScale of(const Split& train) {
    if (train.x.dtype() == DType::I32) return {};
    const std::vector<double> v = train.x.to_vector();
    double sum = 0, sq = 0;
    for (double x : v) sum += x;
    const double mean = sum / v.size();
    for (double x : v) sq += (x - mean) * (x - mean);
    const double std = std::sqrt(sq / v.size());
    return {mean, std > 0 ? std : 1.0};
  }
  static InputScale from(const std::map<std::string, std::string>& metadata, const std::string& path) {
    DL_CHECK(metadata.count("input_mean") && metadata.count("input_std"), "run",
             "checkpoint '" + path + "' stores no input_mean and input_std (not written by these programs?)");
    return {std::stod(metadata.at("input_mean")), std::stod(metadata.at("input_std"))};
  }
  std::map<std::string, std::string> metadata() const {
    char m[40], sd[40];
    std::snprintf(m, sizeof m, "%.17g", mean);
    std::snprintf(sd, sizeof sd, "%.17g", std);
    return {{"input_mean", m}, {"input_std", sd}};
  }
  void apply(TaskData& data) const {
    NoGradGuard no_grad;
    auto scale = [&](Split& s) {
      if (s.x.dtype() != DType::I32) s.x = (s.x - Tensor::scalar(mean)) * Tensor::scalar(1.0 / std);
    };
    for (Split* s : {&data.train, &data.val, &data.test}) scale(*s);
    for (auto& item : data.extra_tests) scale(item.second);
  }
};

// Everything after the model is built: load, train, test, draw, summarise. M is Classifier or
// Seq2Seq; draw(files) writes the attention pictures.
template <class M, class Draw>
json train_and_test(const RunSpec& spec, RunDir& dir, TaskData& data, M& model, Objective& objective,
                    std::ostream& out, bool terminal, double start, Draw&& draw) {
  InputScale scale = InputScale::of(data.train);
  if (!spec.load.empty()) {
    scale = InputScale::from(load_model_into(spec.load, model).metadata, spec.load);
    out << "loaded " << spec.load << "\n";
  }
  scale.apply(data);
  json config = spec_json(spec, {data.train.size(), data.val.size(), data.test.size()});
  config["input_mean"] = scale.mean;
  config["input_std"] = scale.std;
  config["model"] = model.config;
  dir.write_json("config.json", config);
  out << spec.task << ": train " << data.train.size() << ", val " << data.val.size() << ", test "
      << data.test.size();
  for (const auto& [name, split] : data.extra_tests) out << ", " << name << " " << split.size();
  out << "\nmodel " << spec.model.str() << ", " << model.num_parameters() << " parameters, " << num_threads()
      << " threads\n";

  const std::string checkpoint = dir.file("checkpoint.safetensors");
  std::vector<std::string> files = {"config.json"};
  FitResult fitted;
  if (!spec.eval_only) {
    const TrainOptions options = spec.train_options();
    const int64_t steps = (data.train.size() + options.batch - 1) / options.batch;
    Progress progress(out, terminal, options.epochs, steps);
    fitted = fit(objective, data, options, &progress, [&](const EpochMetrics& m, bool best) {
      dir.append_metrics({{"epoch", m.epoch},
                          {"train_loss", m.train.loss},
                          {"train_accuracy", m.train.accuracy},
                          {"val_loss", m.val.loss},
                          {"val_accuracy", m.val.accuracy},
                          {"seconds", m.seconds}});
      if (best) save_model(checkpoint, model, nullptr, m.epoch, scale.metadata());
    });
    save_learning_curves(dir, spec.task + ", " + spec.model.kind + ", " + std::to_string(data.train.size()) +
                                  " training examples", fitted.history);
    files.insert(files.end(), {"metrics.csv", "checkpoint.safetensors", "learning_curves.svg"});
  }

  const Score test = evaluate(objective, data.test, spec.batch);
  json heldout = json::object();
  out << "test accuracy " << percent(test.accuracy);
  for (const auto& [name, split] : data.extra_tests) {
    const double accuracy = evaluate(objective, split, spec.batch).accuracy;
    heldout[name] = accuracy;
    out << "  " << name << " " << percent(accuracy);
  }
  out << "\n";
  if (spec.pictures > 0) draw(files);

  const double best_val = fitted.history.empty() ? NAN : fitted.history[fitted.best_epoch - 1].val.accuracy;
  json summary = {{"task", spec.task},
                  {"model", spec.model.kind},
                  {"model_spec", spec.model.str()},
                  {"train_size", data.train.size()},
                  {"val_size", data.val.size()},
                  {"test_size", data.test.size()},
                  {"seed", spec.common.seed},
                  {"epochs", fitted.history.size()},
                  {"best_epoch", fitted.best_epoch},
                  {"best_val_accuracy", std::isnan(best_val) ? json() : json(best_val)},
                  {"test_accuracy", test.accuracy},
                  {"test_loss", test.loss},
                  {"heldout_accuracy", heldout},
                  {"parameters", model.num_parameters()},
                  {"threads", num_threads()},
                  {"wall_seconds", Progress::steady_seconds() - start},
                  {"folder", dir.folder()}};
  dir.write_json("summary.json", summary);
  files.push_back("summary.json");
  std::string listing;
  for (const std::string& f : files) listing += (listing.empty() ? "" : ", ") + f;
  out << "wrote " << dir.folder() << "/: " << listing << "\n";
  return summary;
}

}  // namespace

json run_task(const RunSpec& spec, std::ostream& out, bool terminal) {
  const double start = Progress::steady_seconds();
  const tasks::Sizes sizes = resolved_sizes(spec);  // throws for an unknown task
  const BlockConfig block = block_config(spec.model);
  DL_CHECK(spec.batch >= 1 && spec.lr > 0 && spec.common.epochs >= 1, "run",
           "need batch >= 1, lr > 0 and epochs >= 1, got " + std::to_string(spec.batch) + ", " +
               std::to_string(spec.lr) + ", " + std::to_string(spec.common.epochs));
  DL_CHECK(!spec.eval_only || !spec.load.empty(), "run", "--eval-only needs a checkpoint to --load");
  DL_CHECK(spec.load.empty() || std::filesystem::is_regular_file(spec.load), "run",
           "no checkpoint file '" + spec.load + "'");
  RunDir dir(spec.common.out);
  TaskData data = tasks::make_task(spec.task, sizes, spec.common.seed);
  Generator gen(spec.common.seed);

  if (!is_seq2seq_task(spec.task)) {
    ClassifierConfig c;
    c.in_features = data.train.x.size(2);
    c.max_len = data.train.x.size(1);
    c.n_classes = 2;
    c.layers = spec.model.layers;
    c.mlp_hidden = spec.model.d;
    c.block = block;
    Classifier model(c, gen);
    ClassifierObjective objective(model);
    return train_and_test(spec, dir, data, model, objective, out, terminal, start, [&](std::vector<std::string>& f) {
      draw_attention(model, data, spec.task, dir, spec.pictures, f);
    });
  }
  // Sorting: feature source, targets 0..T-1 all scored, start token T. Copy and reverse: token
  // source and target over the same vocabulary, padded.
  const bool sorting = spec.task == "sorting";
  const int64_t T = data.train.y.size(1);
  Seq2SeqConfig c;
  c.src_features = sorting ? data.train.x.size(2) : 0;
  c.src_vocab = sorting ? 0 : tasks::SequenceConfig{}.vocab_size();
  c.tgt_vocab = sorting ? T + 1 : c.src_vocab;
  c.max_len = T;
  c.encoder_layers = c.decoder_layers = spec.model.layers;
  c.block = block;
  const int32_t start_token = sorting ? static_cast<int32_t>(T) : tasks::kStart;
  const int32_t pad = sorting ? -1 : tasks::kPad;
  Seq2Seq model(c, gen);
  Seq2SeqObjective objective(model, start_token, pad);
  return train_and_test(spec, dir, data, model, objective, out, terminal, start, [&](std::vector<std::string>& f) {
    draw_attention(model, data, spec.task, dir, spec.pictures, f, start_token, pad);
  });
}

RunSpec family_defaults(const std::string& task) {
  RunSpec s;
  s.task = task;
  if (!is_seq2seq_task(task)) return s;
  s.model.d = 64;
  s.model.d_ff = 128;
  s.batch = 128;
  s.common.epochs = 100;
  s.sizes = {1000, 1000, 2000};
  s.pictures = 2;
  return s;
}

void apply_family_defaults(const CLI::App& app, RunSpec& spec) {
  const RunSpec d = family_defaults(spec.task);
  auto unless_given = [&](const char* flag, auto& value, const auto& fallback) {
    const CLI::Option* option = app.get_option_no_throw(flag);
    if (!option || option->count() == 0) value = fallback;
  };
  unless_given("--d", spec.model.d, d.model.d);
  unless_given("--d-ff", spec.model.d_ff, d.model.d_ff);
  unless_given("--batch", spec.batch, d.batch);
  unless_given("--epochs", spec.common.epochs, d.common.epochs);
  unless_given("--train-size", spec.sizes.train, d.sizes.train);
  unless_given("--val-size", spec.sizes.val, d.sizes.val);
  unless_given("--test-size", spec.sizes.test, d.sizes.test);
  unless_given("--pictures", spec.pictures, d.pictures);
}

void add_run_flags(CLI::App& app, RunSpec& s, const std::vector<std::string>& task_names) {
  app.add_option("--task", s.task, "task")->capture_default_str()->check(CLI::IsMember(task_names));
  app.add_option("--model", s.model.kind, "model kind")
      ->capture_default_str()
      ->check(CLI::IsMember({"transformer", "dat", "gpam"}));
  app.add_option("--layers", s.model.layers, "layers (seq2seq: of the encoder and of the decoder)")
      ->capture_default_str()
      ->check(cli::Positive);
  app.add_option("--d", s.model.d, "model width")->capture_default_str()->check(cli::Positive);
  app.add_option("--d-ff", s.model.d_ff, "feed-forward width (SwiGLU)")->capture_default_str()->check(cli::Positive);
  app.add_option("--heads", s.model.heads, "attention heads (transformer, gpam)")
      ->capture_default_str()
      ->check(cli::Positive);
  app.add_option("--n-sa", s.model.n_sa, "dat: sensory heads")->capture_default_str()->check(cli::NonNegative);
  app.add_option("--n-ra", s.model.n_ra, "dat: relational heads")->capture_default_str()->check(cli::NonNegative);
  app.add_option("--dropout", s.model.dropout, "dropout rate")->capture_default_str()->check(CLI::Range(0.0, 0.95));
  app.add_option("--train-size", s.sizes.train, "training examples (0: the task's default)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--val-size", s.sizes.val, "validation examples (0: the task's default)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--test-size", s.sizes.test, "test examples, also of each held-out set (0: the task's default)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--batch", s.batch, "batch size")->capture_default_str()->check(cli::Positive);
  app.add_option("--lr", s.lr, "Adam learning rate")->capture_default_str()->check(cli::Positive);
  app.add_option("--load", s.load, "start from this checkpoint (same model flags)")->check(CLI::ExistingFile);
  app.add_flag("--eval-only", s.eval_only, "with --load: only test the loaded model");
  app.add_option("--pictures", s.pictures, "test examples to draw attention maps of (0: none)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  cli::add_common_flags(app, s.common);
}

// ---------------------------------------------------------------- sweeps

namespace {

struct Stats {
  double mean = NAN, std = NAN;
};

Stats stats(const std::vector<double>& v) {
  if (v.empty()) return {};
  double sum = 0;
  for (double x : v) sum += x;
  const double mean = sum / v.size();
  double sq = 0;
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(sq / (v.size() - 1)) : 0.0};
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error("sweep: cannot read '" + path + "': " + e.what());
  }
}

std::string csv_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A run's accuracy on `set`: "test" or the name of a held-out set.
double accuracy_on(const json& run, const std::string& set) {
  return set == "test" ? run.at("test_accuracy").get<double>() : run.at("heldout_accuracy").at(set).get<double>();
}

// One row of results.csv per (model, train size): mean and std over seeds of each accuracy.
json aggregate(const std::vector<json>& runs, const SweepSpec& sweep, const std::vector<std::string>& sets) {
  json rows = json::array();
  for (const std::string& model : sweep.models)
    for (int64_t n : sweep.train_sizes) {
      json row = {{"model", model}, {"train_size", n}};
      for (const std::string& set : sets) {
        std::vector<double> values;
        for (const json& r : runs)
          if (r.at("model") == model && r.at("train_size") == n)
            values.push_back(accuracy_on(r, set));
        const Stats s = stats(values);
        row["seeds"] = values.size();
        row[set + "_mean"] = s.mean;
        row[set + "_std"] = s.std;
      }
      rows.push_back(row);
    }
  return rows;
}

void write_results(const RunDir& dir, const json& rows, const std::vector<json>& runs, const SweepSpec& sweep,
                   const std::vector<std::string>& sets) {
  std::string csv = "task,model,train_size,seed";
  for (const std::string& set : sets) csv += "," + set + "_accuracy";
  csv += ",best_epoch,wall_seconds\n";
  for (const json& r : runs) {
    csv += r.at("task").get<std::string>() + "," + r.at("model").get<std::string>() + "," +
           std::to_string(r.at("train_size").get<int64_t>()) + "," + std::to_string(r.at("seed").get<uint64_t>());
    for (const std::string& set : sets) csv += "," + csv_number(accuracy_on(r, set));
    csv += "," + std::to_string(r.at("best_epoch").get<int>()) + "," + csv_number(r.at("wall_seconds")) + "\n";
  }
  write_file_atomic(dir.file("runs.csv"), csv);

  std::string results = "model,train_size,seeds", md_head = "| model | train size | seeds |", md_rule = "|---|---:|---:|";
  for (const std::string& set : sets) {
    results += "," + set + "_mean," + set + "_std";
    md_head += " " + set + " accuracy |";
    md_rule += "---:|";
  }
  std::string md = "# " + sweep.base.task + ": accuracy, mean +- std over seeds\n\n" + md_head + "\n" + md_rule + "\n";
  results += "\n";
  for (const json& row : rows) {
    results += row["model"].get<std::string>() + "," + std::to_string(row["train_size"].get<int64_t>()) + "," +
               std::to_string(row["seeds"].get<size_t>());
    md += "| " + row["model"].get<std::string>() + " | " + std::to_string(row["train_size"].get<int64_t>()) + " | " +
          std::to_string(row["seeds"].get<size_t>()) + " |";
    for (const std::string& set : sets) {
      results += "," + csv_number(row[set + "_mean"]) + "," + csv_number(row[set + "_std"]);
      md += " " + fixed(row[set + "_mean"]) + " +- " + fixed(row[set + "_std"]) + " |";
    }
    results += "\n";
    md += "\n";
  }
  write_file_atomic(dir.file("results.csv"), results);
  write_file_atomic(dir.file("results.md"), md);

  std::vector<plot::Panel> panels;
  for (const std::string& set : sets) {
    plot::LineChart chart{set == "test" ? "test (in distribution)" : "held out: " + set, "training examples",
                          "accuracy", {}, true};
    for (const std::string& model : sweep.models) {
      plot::Series s{model, {}, {}, {}};
      for (const json& row : rows)
        if (row["model"] == model) {
          s.x.push_back(row["train_size"].get<double>());
          s.y.push_back(row[set + "_mean"].get<double>());
          s.spread.push_back(row[set + "_std"].get<double>());
        }
      chart.series.push_back(s);
    }
    panels.push_back(chart);
  }
  const std::string title = sweep.base.task + ": accuracy against training size (mean, shaded +- std over " +
                            std::to_string(sweep.seeds.size()) + " seeds)";
  plot::save_svg(dir.file("learning_curves.svg"),
                 plot::to_svg(plot::Figure{title, panels, static_cast<int>(std::min<size_t>(panels.size(), 3))}));
}

}  // namespace

json run_sweep(const SweepSpec& sweep, std::ostream& out, bool terminal) {
  DL_CHECK(!sweep.train_sizes.empty() && !sweep.models.empty() && !sweep.seeds.empty(), "sweep",
           "need at least one training size, model and seed");
  RunDir dir(sweep.base.common.out);
  const size_t total = sweep.train_sizes.size() * sweep.models.size() * sweep.seeds.size();
  std::vector<json> runs;
  for (int64_t n : sweep.train_sizes)
    for (const std::string& model : sweep.models)
      for (uint64_t seed : sweep.seeds) {
        RunSpec spec = sweep.base;
        spec.sizes.train = n;
        spec.model.kind = model;
        spec.common.seed = seed;
        spec.common.out = dir.file("runs/" + model + "_n" + std::to_string(n) + "_s" + std::to_string(seed));
        out << "\n== run " << runs.size() + 1 << "/" << total << ": " << model << ", " << n
            << " training examples, seed " << seed << "\n";
        const std::string summary = spec.common.out + "/summary.json";
        if (sweep.resume && std::filesystem::exists(summary)) {
          runs.push_back(read_json(summary));
          DL_CHECK(runs.back().value("task", "") == spec.task, "sweep",
                   summary + " is a run of another task; give the sweep its own --out");
          out << "done before: test accuracy " << percent(runs.back()["test_accuracy"].get<double>()) << "\n";
        } else {
          runs.push_back(run_task(spec, out, terminal));
        }
      }
  std::vector<std::string> sets = {"test"};
  for (const auto& item : runs.front()["heldout_accuracy"].items()) sets.push_back(item.key());
  const json rows = aggregate(runs, sweep, sets);
  write_results(dir, rows, runs, sweep, sets);
  std::ifstream md(dir.file("results.md"));
  out << "\n" << md.rdbuf() << "\nwrote " << dir.folder() << "/: results.csv, results.md, runs.csv, learning_curves.svg, runs/\n";
  return rows;
}

// ---------------------------------------------------------------- programs

int guarded(const std::function<void()>& body, std::ostream& err) {
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

std::string comparison_table(const std::vector<json>& summaries) {
  std::vector<std::string> sets;
  if (!summaries.empty())
    for (const auto& item : summaries.front()["heldout_accuracy"].items()) sets.push_back(item.key());
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %8s %10s", "model", "train", "test acc");
  std::string table = line;
  for (const std::string& s : sets) {
    std::snprintf(line, sizeof line, " %10s", s.c_str());
    table += line;
  }
  table += "  parameters    time\n";
  for (const json& r : summaries) {
    std::snprintf(line, sizeof line, "%-12s %8lld %10s", r["model"].get<std::string>().c_str(),
                  static_cast<long long>(r["train_size"].get<int64_t>()), percent(r["test_accuracy"]).c_str());
    table += line;
    for (const std::string& s : sets) {
      std::snprintf(line, sizeof line, " %10s", percent(r["heldout_accuracy"][s]).c_str());
      table += line;
    }
    std::snprintf(line, sizeof line, "  %10lld %6.0fs\n", static_cast<long long>(r["parameters"].get<int64_t>()),
                  r["wall_seconds"].get<double>());
    table += line;
  }
  return table;
}

}  // namespace dl::train
