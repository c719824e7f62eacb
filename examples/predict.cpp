// One example through a trained model, from its checkpoint alone (the run it stores: task,
// sizes, seed, input scaling). For a classifier: the example's label, the prediction and its
// probability, and an SVG of the example's input (a relational game's image) beside every
// layer's attention and relation heatmaps. For a sequence task: the source, the target and the
// greedy decoding; --tokens decodes a sequence of your own (copy and reverse).
//
//   build/bin/predict --load runs/occurs_dat/checkpoint.safetensors --example 3 --split hexomino
//   build/bin/predict --load runs/copy/checkpoint.safetensors --tokens "3 1 2 7"
#include <iostream>
#include <sstream>
#include "examples/common/format.h"
#include "examples/common/sequence_tasks.h"
#include "examples/common/task_model.h"
#include "examples/common/train.h"
#include "models/checkpoint.h"
#include "ops/ops.h"

namespace {

using namespace dl;
using namespace dl::train;

struct Flags {
  std::string load, split = "test", out, tokens;
  int64_t example = 0;
};

const tasks::Split& split_named(const tasks::TaskData& data, const std::string& name) {
  if (name == "test") return data.test;
  const auto it = data.extra_tests.find(name);
  std::string sets = "test";
  for (const auto& item : data.extra_tests) sets += ", " + item.first;
  DL_CHECK(it != data.extra_tests.end(), "predict", "--split " + name + ": this task's sets are " + sets);
  return it->second;
}

std::string symbols(const std::vector<double>& ids) {  // symbol values; pad and start left out
  std::string s;
  for (double id : ids)
    if (id >= tasks::kFirstSymbol) s += (s.empty() ? "" : " ") + std::to_string(static_cast<int>(id) - tasks::kFirstSymbol);
  return s;
}

void classify(const Flags& f, LoadedRun& run, Classifier& model, std::ostream& out) {
  const tasks::Split& split = split_named(run.data, f.split);
  DL_CHECK(f.example >= 0 && f.example < split.size(), "predict",
           "--example " + std::to_string(f.example) + " is not in " + f.split + " (examples 0.." +
               std::to_string(split.size() - 1) + ")");
  const Tensor x = slice(split.x, 0, f.example, f.example + 1).contiguous();  // (1, N, F)
  const int label = static_cast<int>(split.y.at({f.example}));
  const Prediction p = predict(model, x);
  out << run.spec.task << ", " << f.split << " example " << f.example << ": label " << label << ", predicted "
      << p.label << " with probability " << fixed(p.probability, 4) << (p.label == label ? " (right)" : " (wrong)")
      << "\n";
  const std::string path = f.out.empty() ? "predict_" + f.split + "_" + std::to_string(f.example) + ".svg" : f.out;
  const std::string title = run.spec.task + ", " + f.split + " example " + std::to_string(f.example) + ": label " +
                            std::to_string(label) + ", predicted " + std::to_string(p.label) + " (p " +
                            fixed(p.probability, 2) + ")";
  plot::save_svg(path, plot::to_svg(example_figure(model, x, !run.data.extra_tests.empty(), title)));
  out << "wrote " << path << "\n";
}

void decode(const Flags& f, LoadedRun& run, Seq2Seq& model, std::ostream& out) {
  const Seq2SeqSetup s = seq2seq_setup(run.spec, run.data);
  const int64_t T = s.config.max_len;
  Tensor src, target;
  if (!f.tokens.empty()) {
    DL_CHECK(s.config.src_vocab > 0, "predict", "--tokens: " + run.spec.task + " takes feature vectors, not tokens");
    std::istringstream in(f.tokens);
    std::vector<int32_t> ids;
    for (std::string word; in >> word;) {
      int v = -1;
      try {
        v = std::stoi(word);
      } catch (const std::exception&) {
      }
      const int64_t n_symbols = s.config.src_vocab - tasks::kFirstSymbol;
      DL_CHECK(v >= 0 && v < n_symbols, "predict", "--tokens: '" + word + "' is not a symbol 0.." +
                                                        std::to_string(n_symbols - 1));
      ids.push_back(v + tasks::kFirstSymbol);
    }
    DL_CHECK(!ids.empty() && static_cast<int64_t>(ids.size()) <= T, "predict",
             "--tokens: need 1.." + std::to_string(T) + " symbols, got " + std::to_string(ids.size()));
    ids.resize(static_cast<size_t>(T), tasks::kPad);
    src = Tensor::from_ints(ids, {1, T});
  } else {
    const tasks::Split& split = split_named(run.data, f.split);
    DL_CHECK(f.example >= 0 && f.example < split.size(), "predict",
             "--example " + std::to_string(f.example) + " is not in " + f.split + " (examples 0.." +
                 std::to_string(split.size() - 1) + ")");
    src = slice(split.x, 0, f.example, f.example + 1).contiguous();
    target = slice(split.y, 0, f.example, f.example + 1).contiguous();
  }
  const Tensor padding = s.pad >= 0 && src.dtype() == DType::I32 ? padding_mask(src, s.pad) : Tensor();
  const Decoded d = model.greedy_decode(src, s.start, T, padding);
  const std::vector<double> got = d.tokens.to_vector();
  if (s.config.src_vocab > 0) {
    out << "source   " << symbols(src.to_vector()) << "\n";
    if (target.defined()) out << "target   " << symbols(target.to_vector()) << "\n";
    // the decoding up to its first pad: what the model says the sequence is
    std::vector<double> until_pad;
    for (double t : got) {
      if (t == tasks::kPad) break;
      until_pad.push_back(t);
    }
    out << "decoded  " << symbols(until_pad) << "\n";
    return;
  }
  std::string order, want;
  for (double t : got) order += std::to_string(static_cast<int>(t)) + " ";
  out << "decoded order  " << order << "\n";
  if (target.defined())
    for (double t : target.to_vector()) want += std::to_string(static_cast<int>(t)) + " ";
  if (!want.empty()) out << "target order   " << want << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app("Run one example through a trained model: its label, the prediction, and its attention maps.");
  app.add_option("--load", f.load, "the checkpoint of a run (its checkpoint.safetensors)")->required();
  app.add_option("--example", f.example, "the example's index in the split")->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--split", f.split, "test, or a held-out set (hexomino, stripes)")->capture_default_str();
  app.add_option("--tokens", f.tokens, "sequence tasks: a source of your own, symbols separated by spaces");
  app.add_option("--out", f.out, "the picture's file (default predict_<split>_<example>.svg)");
  cli::CommonFlags common;
  app.add_option("--threads", common.threads, "threads (0: DL_NUM_THREADS, else all cores)")->check(cli::NonNegative);
  cli::parse_or_exit(app, common, argc, argv);
  return guarded([&] {
    LoadedRun run = load_run(app, RunSpec{}, f.load);
    with_task_model(run.spec, run.data, [&](auto& model, Objective&, auto&&) {
      load_model_into(run.path, model);
      using M = std::decay_t<decltype(model)>;
      if constexpr (std::is_same_v<M, Classifier>) {
        DL_CHECK(f.tokens.empty(), "predict", "--tokens is for sequence tasks; " + run.spec.task + " is a classifier's");
        classify(f, run, model, std::cout);
      } else {
        decode(f, run, model, std::cout);
      }
      return 0;
    });
  }, std::cerr);
}
