#include "examples/common/task_model.h"

#include <cmath>
#include <cstdio>
#include "autograd/graph.h"
#include "examples/common/sequence_tasks.h"
#include "ops/ops.h"

namespace dl::train {

using tasks::Split;
using tasks::TaskData;

InputScale InputScale::of(const RunSpec& spec, const Split& train) {
  if (train.x.dtype() == DType::I32 || (!is_seq2seq_task(spec.task) && spec.model.embed == "official")) return {};
  const std::vector<double> v = train.x.to_vector();
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  const double mean = sum / v.size();
  for (double x : v) sq += (x - mean) * (x - mean);
  const double std = std::sqrt(sq / v.size());
  return {mean, std > 0 ? std : 1.0};
}

namespace {

double metadata_number(const std::map<std::string, std::string>& metadata, const std::string& key,
                       const std::string& path) {
  const auto it = metadata.find(key);
  DL_CHECK(it != metadata.end(), "run", "checkpoint '" + path + "' stores no " + key + " (not written by these programs?)");
  const std::string& text = it->second;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  DL_CHECK(!text.empty() && *end == '\0' && std::isfinite(v), "run",
           "checkpoint '" + path + "': metadata " + key + " = \"" + text + "\" is not a finite number");
  return v;
}

}  // namespace

InputScale InputScale::from(const std::map<std::string, std::string>& metadata, const std::string& path) {
  const InputScale s{metadata_number(metadata, "input_mean", path), metadata_number(metadata, "input_std", path)};
  DL_CHECK(s.std > 0, "run", "checkpoint '" + path + "': metadata input_std = " + metadata.at("input_std") +
                                 " must be positive");
  return s;
}

std::map<std::string, std::string> InputScale::metadata() const {
  char m[40], sd[40];
  std::snprintf(m, sizeof m, "%.17g", mean);
  std::snprintf(sd, sizeof sd, "%.17g", std);
  return {{"input_mean", m}, {"input_std", sd}};
}

void InputScale::apply(TaskData& data) const {
  NoGradGuard no_grad;
  auto scale = [&](Split& s) {
    if (s.x.dtype() != DType::I32) s.x = (s.x - Tensor::scalar(mean)) * Tensor::scalar(1.0 / std);
  };
  for (Split* s : {&data.train, &data.val, &data.test}) scale(*s);
  for (auto& item : data.extra_tests) scale(item.second);
}

ClassifierConfig classifier_config(const RunSpec& spec, const TaskData& data) {
  ClassifierConfig c;
  c.in_features = data.train.x.size(2);
  c.max_len = data.train.x.size(1);
  c.n_classes = 2;
  c.layers = spec.model.layers;
  c.mlp_hidden = spec.model.d;
  c.embedding = spec.model.embed == "official" ? EmbedKind::Official : EmbedKind::Compact;
  c.block = block_config(spec.model);
  if (c.embedding == EmbedKind::Official) {  // the DAT code's init, symbol source and symbol sizes
    AttentionConfig& a = c.block.attention;
    a.official = true;
    a.max_offset = c.max_len + 1;  // position-relative table: D = N + 1 (the tokens and the cls)
    a.n_symbols = c.max_len;       // symbolic attention: as many symbols as patches, 4 heads
    a.symbol_heads = 4;
  }
  return c;
}

Seq2SeqSetup seq2seq_setup(const RunSpec& spec, const TaskData& data) {
  const bool sorting = spec.task == "sorting";
  const int64_t T = data.train.y.size(1);
  Seq2SeqSetup s;
  Seq2SeqConfig& c = s.config;
  c.src_features = sorting ? data.train.x.size(2) : 0;
  c.src_vocab = sorting ? 0 : tasks::SequenceConfig{}.vocab_size();
  c.tgt_vocab = sorting ? T + 1 : c.src_vocab;
  c.max_len = T;
  c.encoder_layers = c.decoder_layers = spec.model.layers;
  c.block = block_config(spec.model);
  s.start = sorting ? static_cast<int32_t>(T) : tasks::kStart;
  s.pad = sorting ? -1 : tasks::kPad;
  return s;
}

}  // namespace dl::train
