// Fused attention ops against their twins composed from primitive ops (tests/composed_attention.h):
// one step = forward + backward, float32, causal mask, B = 16, T = 128, d = 256 in 8 heads.
// Per op it prints the median step time of each and the peak of live tensor storage during a
// step (above the inputs), so the table shows what fusing saves in time and in memory.
//
// Peak storage is sampled by a second thread polling dl::live_storage_bytes() (the library keeps
// no high-water mark), in separate steps from the timed ones, so it is a close lower bound.
//
//   build/bin/bench_attention [--steps 10] [--warmup 2] [--threads N]
//
// Adding an op means adding one Entry: its name, its input leaves and the two functions.
//
// Long context (--seq T): dense against tiled sdpa (ops/tiled_sdpa.h), or with --op relational
// relational attention (ops/tiled_relational_attention.h: d_r = 8 relations of 32, symbols shared
// by the batch), one implementation and one T per run, so the process's peak RSS belongs to that
// configuration alone. Float32, causal (or --unmasked), B=1, 8 heads of 32 (the XXL bench size);
// scripts/bench_long_context.sh runs the whole table. "kept" is the tensor storage the tape holds
// between the forward and the backward (the output included): the attention state saved.
//
//   build/bin/bench_attention --seq 1024 --impl tiled [--op relational] [--tile 64] [--unmasked] [--steps 3]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <iostream>
#include <vector>
#include "autograd/parallel.h"
#include "examples/common/cli.h"
#include "examples/common/train.h"
#include "ops/differential_attention.h"
#include "ops/gpam_attention.h"
#include "ops/relational_attention.h"
#include "ops/sdpa.h"
#include "ops/tiled_relational_attention.h"
#include "ops/tiled_sdpa.h"
#include "tests/composed_attention.h"

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t B = 16, T = 128, d = 256, H = 8, dh = d / H;

struct Entry {
  std::string name;
  std::vector<Tensor> inputs;  // float32 leaves that require grad
  TensorFn fused, composed;
};

AttentionMask causal() {
  AttentionMask mask;
  mask.causal = true;
  return mask;
}

Tensor leaf(const Shape& shape, Generator& gen, double scale = 1.0) {
  return randn(shape, gen, 0.0, scale).requires_grad_();
}

Entry sdpa_entry(Generator& gen) {
  return {"sdpa", {leaf({B, H, T, dh}, gen), leaf({B, H, T, dh}, gen), leaf({B, H, T, dh}, gen)},
          [](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], causal()); },
          [](const std::vector<Tensor>& in) { return sdpa_composed(in[0], in[1], in[2], causal()); }};
}

Entry gpam_entry(Generator& gen) {
  std::vector<double> w = randn({H, dh, dh}, gen, 0.0, 0.02).to_vector();
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < dh; ++i) w[(h * dh + i) * dh + i] -= 1.0;  // -I plus noise, as the module
  return {"gpam",
          {leaf({B, H, T, dh}, gen), leaf({B, H, T, dh}, gen), leaf({B, H, T, dh}, gen),
           Tensor::from_vector(w, {H, dh, dh}).requires_grad_(), Tensor::full({H}, 0.2).requires_grad_()},
          [](const std::vector<Tensor>& in) { return gpam_attention(in[0], in[1], in[2], in[3], in[4], causal()); },
          [](const std::vector<Tensor>& in) { return gpam_composed(in[0], in[1], in[2], in[3], in[4], causal()); }};
}

Entry differential_entry(Generator& gen) {
  const int64_t half = dh / 2;  // each head's query and key split in two halves; v keeps dh
  return {"differential",
          {leaf({B, H, T, half}, gen), leaf({B, H, T, half}, gen), leaf({B, H, T, half}, gen),
           leaf({B, H, T, half}, gen), leaf({B, H, T, dh}, gen), Tensor::scalar(0.5).requires_grad_()},
          [](const std::vector<Tensor>& in) {
            return differential_attention(in[0], in[1], in[2], in[3], in[4], in[5], causal());
          },
          [](const std::vector<Tensor>& in) {
            return differential_composed(in[0], in[1], in[2], in[3], in[4], in[5], causal());
          }};
}

// The DAT benchmark setting: d_r = H relations, dp = dh, symmetric (q_rel passed twice),
// batch-shared positional symbols.
Entry relational_entry(Generator& gen) {
  const int64_t dr = H;
  return {"relational",
          {leaf({B, H, T, dh}, gen), leaf({B, H, T, dh}, gen), leaf({B, T, dr, dh}, gen),
           leaf({H, dh, dr}, gen, 1 / std::sqrt(double(dr))), leaf({1, H, T, dh}, gen)},
          [](const std::vector<Tensor>& in) {
            return relational_attention(in[0], in[1], in[2], in[2], in[3], in[4], causal());
          },
          [](const std::vector<Tensor>& in) {
            return relational_attention_composed(in[0], in[1], in[2], in[2], in[3], in[4], causal());
          }};
}

struct Options {
  int warmup = 2, steps = 10;  // untimed, timed steps per op and variant
  int threads = 0;
  int64_t seq = 0;              // > 0: the long-context mode at this T
  std::string impl = "tiled";   // its implementation: dense or tiled
  std::string op = "sdpa";      // its op: sdpa or relational
  int64_t tile = kAttentionTile;
  bool unmasked = false;        // its mask: causal unless set
};

// One step: zero the gradients, forward, backward from fixed weights w.
void step(const TensorFn& f, const std::vector<Tensor>& inputs, const Tensor& w) {
  for (const Tensor& x : inputs) x.zero_grad();
  f(inputs).backward(w);
}

double median_ms(const TensorFn& f, const std::vector<Tensor>& inputs, const Tensor& w, const Options& o) {
  for (int i = 0; i < o.warmup; ++i) step(f, inputs, w);
  std::vector<double> ms;
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step(f, inputs, w);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Live storage between the forward and the backward, above what was live before, in MB.
double kept_mb(const TensorFn& f, const std::vector<Tensor>& inputs) {
  const int64_t base = live_storage_bytes();
  const Tensor y = f(inputs);
  return static_cast<double>(live_storage_bytes() - base) / (1 << 20);
}

// Peak live storage during one step, above what was live before it, in MB.
double peak_mb(const TensorFn& f, const std::vector<Tensor>& inputs, const Tensor& w) {
  for (const Tensor& x : inputs) x.zero_grad();
  const int64_t base = live_storage_bytes();
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak{base};
  std::thread sampler([&] {
    while (!done.load()) peak.store(std::max(peak.load(), live_storage_bytes()));
  });
  step(f, inputs, w);
  done.store(true);
  sampler.join();
  return static_cast<double>(std::max(peak.load(), live_storage_bytes()) - base) / (1 << 20);
}

void run(const Options& o) {
  Generator gen(2024);
  std::vector<Entry> entries = {sdpa_entry(gen), gpam_entry(gen), differential_entry(gen),
                                relational_entry(gen)};
  std::printf("attention ops, forward + backward, float32, causal, B=%lld T=%lld d=%lld heads=%lld, "
              "%d threads, median of %d steps\n",
              static_cast<long long>(B), static_cast<long long>(T), static_cast<long long>(d),
              static_cast<long long>(H), num_threads(), o.steps);
  std::printf("%-14s %10s %12s %8s %14s %17s\n", "op", "fused ms", "composed ms", "speedup",
              "fused peak MB", "composed peak MB");
  for (const Entry& e : entries) {
    Tensor w = randn(e.fused(e.inputs).shape(), gen);
    const double fused = median_ms(e.fused, e.inputs, w, o), composed = median_ms(e.composed, e.inputs, w, o);
    const double fused_mb = peak_mb(e.fused, e.inputs, w), composed_mb = peak_mb(e.composed, e.inputs, w);
    std::printf("%-14s %10.2f %12.2f %7.2fx %14.1f %17.1f\n", e.name.c_str(), fused, composed,
                composed / fused, fused_mb, composed_mb);
  }
}

// Peak resident set of this process so far, in MB.
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024;  // ru_maxrss is in KB on Linux
}

// The long-context inputs and op: sdpa {q, k, v}, or relational {q_attn, k_attn, q_rel, k_rel, wr, sv}.
struct LongContext {
  std::vector<Tensor> inputs;
  TensorFn f;
};

LongContext long_context(const Options& o, int64_t batch, int64_t heads, int64_t head_dim, Generator& gen) {
  const int64_t tile = o.tile;
  const bool dense = o.impl == "dense";
  const AttentionMask mask = o.unmasked ? AttentionMask() : causal();
  LongContext c;
  if (o.op == "relational") {
    c.inputs = {leaf({batch, heads, o.seq, head_dim}, gen), leaf({batch, heads, o.seq, head_dim}, gen),
                leaf({batch, o.seq, heads, head_dim}, gen), leaf({batch, o.seq, heads, head_dim}, gen),
                leaf({heads, head_dim, heads}, gen), leaf({1, heads, o.seq, head_dim}, gen)};
    c.f = [mask, tile, dense](const std::vector<Tensor>& in) {
      return dense ? relational_attention(in[0], in[1], in[2], in[3], in[4], in[5], mask)
                   : tiled_relational_attention(in[0], in[1], in[2], in[3], in[4], in[5], mask, nullptr, nullptr, tile);
    };
    return c;
  }
  for (int n = 0; n < 3; ++n) c.inputs.push_back(leaf({batch, heads, o.seq, head_dim}, gen));
  c.f = [mask, tile, dense](const std::vector<Tensor>& in) {
    return dense ? scaled_dot_product_attention(in[0], in[1], in[2], mask)
                 : tiled_scaled_dot_product_attention(in[0], in[1], in[2], mask, nullptr, tile);
  };
  return c;
}

void run_long_context(const Options& o) {
  const int64_t batch = 1, heads = 8, head_dim = 32;
  Generator gen(2024);
  const LongContext c = long_context(o, batch, heads, head_dim, gen);
  Tensor w = randn({batch, heads, o.seq, head_dim}, gen);
  const double ms = median_ms(c.f, c.inputs, w, o), mb = peak_mb(c.f, c.inputs, w), kept = kept_mb(c.f, c.inputs);
  std::printf("%s %-5s T=%-5lld tile=%-4lld B=%lld heads=%lld dh=%lld float32 %s, %d threads: "
              "%9.2f ms/step (median of %d), kept %8.2f MB, peak tensors %8.1f MB, peak RSS %8.1f MB\n",
              o.op.c_str(), o.impl.c_str(), static_cast<long long>(o.seq),
              static_cast<long long>(o.impl == "dense" ? 0 : o.tile), static_cast<long long>(batch),
              static_cast<long long>(heads), static_cast<long long>(head_dim), o.unmasked ? "unmasked" : "causal",
              num_threads(), ms, o.steps, kept, mb, peak_rss_mb());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Fused attention ops against their compositions from primitive ops: step time and peak memory");
  Options o;
  app.add_option("--warmup", o.warmup, "untimed steps per op")->capture_default_str()->check(cli::NonNegative);
  app.add_option("--steps", o.steps, "timed steps per op (the median is printed)")
      ->capture_default_str()
      ->check(cli::Positive);
  app.add_option("--threads", o.threads, "threads (0: DL_NUM_THREADS, else all cores)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  app.add_option("--seq", o.seq, "long-context mode: dense or tiled attention at this sequence length")
      ->check(cli::Positive);
  app.add_option("--impl", o.impl, "long-context implementation")
      ->capture_default_str()
      ->check(CLI::IsMember({"dense", "tiled"}));
  app.add_option("--op", o.op, "long-context op")->capture_default_str()->check(CLI::IsMember({"sdpa", "relational"}));
  app.add_flag("--unmasked", o.unmasked, "long-context mode without the causal mask (every key visible)");
  app.add_option("--tile", o.tile, "long-context tile size of the tiled op")->capture_default_str()->check(cli::Positive);
  cli::parse_or_exit(app, argc, argv);
  if (o.threads > 0) set_num_threads(o.threads);
  return train::guarded([&] { o.seq > 0 ? run_long_context(o) : run(o); }, std::cerr);
}
