// Greedy decoding throughput at the sorting task's sizes: the Seq2Seq model train_seq2seq builds
// for --task sorting (d 64, d_ff 128, 2 encoder and 2 decoder layers, 10 objects of 12 features,
// 10 target tokens), with fresh weights (the cost of a step does not depend on what they learned).
// Per model it decodes one batch of test sources twice, with the per-layer decoding caches
// (greedy_decode: one new position per step) and without (greedy_decode_uncached: the whole
// prefix again every step), and prints after the CPU line (examples/common/cpu_info.h)
//
//   bench_decode model=dat mode=cached batch=128 steps=10 ms=... tokens_per_s=...
//   bench_decode model=dat cached_speedup=... tokens_agree=yes
//   bench_decode dat_over_transformer_cached=...          (with both models)
//
// ms is the median over --repeat decodes (after one untimed) of one whole greedy_decode, the
// encoder's pass included; tokens_per_s = batch x steps / that time. tokens_agree says the two
// paths decoded the same tokens (the tests check this, and the logits, exactly).
//
//   build/bin/bench_decode                                   transformer and dat, 1 thread
//   build/bin/bench_decode --model dat --batch 1 --threads 2 --repeat 9
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>
#include "examples/common/cli.h"
#include "examples/common/cpu_info.h"
#include "examples/common/task_model.h"
#include "examples/common/tasks.h"
#include "ops/ops.h"

using namespace dl;

namespace {

struct Options {
  std::vector<std::string> models = {"transformer", "dat"};
  int64_t batch = 128;  // train_seq2seq's --batch for sorting
  int repeat = 5;
  int threads = 1;
};

struct Timing {
  double ms = 0;  // median of one whole greedy decode
  Tensor tokens;  // (B, steps) of the last decode
};

template <class Decode>
Timing time_decodes(int repeat, Decode&& decode) {
  Timing t;
  t.tokens = decode();  // untimed: first-touch allocations
  std::vector<double> ms;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    t.tokens = decode();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  t.ms = ms[ms.size() / 2];
  return t;
}

// Prints the model's two lines and returns its cached decoding time.
double bench_model(const std::string& model, const Options& o) {
  train::RunSpec spec = train::family_defaults("sorting");
  spec.model.kind = model;
  const tasks::TaskData data = tasks::make_task("sorting", {o.batch, 1, 1}, spec.common.seed);
  const train::Seq2SeqSetup setup = train::seq2seq_setup(spec, data);
  Generator gen(spec.common.seed);
  Seq2Seq net(setup.config, gen);
  const Tensor& src = data.train.x;  // (B, 10, 12)
  const int64_t steps = data.train.y.size(1);
  const Timing cached = time_decodes(o.repeat, [&] { return net.greedy_decode(src, setup.start, steps).tokens; });
  const Timing full = time_decodes(o.repeat, [&] { return net.greedy_decode_uncached(src, setup.start, steps).tokens; });
  for (const auto& [mode, t] : {std::pair<const char*, const Timing&>{"cached", cached}, {"uncached", full}})
    std::printf("bench_decode model=%s mode=%s batch=%lld steps=%lld ms=%.2f tokens_per_s=%.0f\n", model.c_str(),
                mode, static_cast<long long>(o.batch), static_cast<long long>(steps), t.ms,
                1e3 * double(o.batch * steps) / t.ms);
  const bool agree = cached.tokens.to_vector() == full.tokens.to_vector();
  std::printf("bench_decode model=%s cached_speedup=%.2f tokens_agree=%s\n", model.c_str(), full.ms / cached.ms,
              agree ? "yes" : "no");
  return cached.ms;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Greedy decoding tokens/s at the sorting task's sizes, with and without the decoding caches"};
  app.add_option("--model", o.models, "models of models/registry.h (transformer, dat, gpam, diff)")
      ->check(CLI::IsMember(model_names()))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "sequences decoded at once")->check(cli::Positive)->capture_default_str();
  app.add_option("--repeat", o.repeat, "timed decodes per mode; the median is kept")
      ->check(cli::Positive)
      ->capture_default_str();
  app.add_option("--threads", o.threads, "threads")->check(cli::Positive)->capture_default_str();
  cli::parse_or_exit(app, argc, argv);
  set_num_threads(o.threads);
  std::printf("%s\n", cpu_line().c_str());
  try {
    std::map<std::string, double> cached_ms;
    for (const std::string& model : o.models) cached_ms[model] = bench_model(model, o);
    if (cached_ms.count("transformer") && cached_ms.count("dat"))
      std::printf("bench_decode dat_over_transformer_cached=%.2f\n", cached_ms["dat"] / cached_ms["transformer"]);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_decode: %s\n", e.what());
    return 1;
  }
  return 0;
}
