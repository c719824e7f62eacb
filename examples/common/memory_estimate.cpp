#include "examples/common/memory_estimate.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include "examples/common/tasks.h"

namespace dl::train {

namespace {

constexpr double kFloat = 4;  // bytes of a float32

std::string gigabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes >= 1e9 ? "%.1f GB" : "%.0f MB", bytes >= 1e9 ? bytes / 1e9 : bytes / 1e6);
  return buf;
}

// The first number in a file, or a negative value when there is none ("max" reads as none).
double read_number(const std::string& path) {
  std::ifstream in(path);
  double v = -1;
  return in >> v ? v : -1;
}

double meminfo_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kb * 1024;
  }
  return -1;
}

}  // namespace

MemoryEstimate estimate_memory(const RunSpec& spec, const tasks::Sizes& sizes) {
  // The shapes of one example: (T, F) inputs (F = 1 for tokens) and the target's length.
  const tasks::TaskData probe = tasks::make_task(spec.task, {2, 2, 2}, spec.common.seed, tasks::images_named(spec.images));
  const double x_per_example = static_cast<double>(probe.train.x.numel()) / probe.train.size();
  const double y_per_example = static_cast<double>(probe.train.y.numel()) / probe.train.size();
  const double T = static_cast<double>(probe.train.x.size(1));
  const double examples = static_cast<double>(sizes.train) + sizes.val +
                          static_cast<double>(sizes.test) * (1 + probe.extra_tests.size());
  const ModelSpec& m = spec.model;
  const double d = static_cast<double>(m.d), d_ff = static_cast<double>(m.d_ff);
  const AttentionConfig a = m.attention();
  const double heads = static_cast<double>(a.total_heads());
  // A layer: its attention's parameters (the kind's module, built once here to count them) and
  // SwiGLU's three d x d_ff; a seq2seq model has an encoder and a decoder with cross-attention.
  Generator gen(0);
  const double attention = static_cast<double>(attention_kind(a.kind).build(a, {m.d, 0, DType::F32}, gen)->num_parameters());
  const bool seq2seq = is_seq2seq_task(spec.task);
  const double layers = static_cast<double>(m.layers) * (seq2seq ? 2 : 1);
  const double per_layer = attention + 3 * d * d_ff + (seq2seq ? 2 * d * d : 0);
  const double features = x_per_example / T;
  MemoryEstimate e;
  e.parameters = kFloat * (layers * per_layer + (features + T + 2) * d + d * d);
  e.optimizer = 4 * e.parameters;
  e.data = kFloat * examples * (x_per_example + y_per_example);
  // Per token per layer the backward keeps about 12 d + 4 d_ff values and, per head, a row of
  // scores, probabilities and dropout mask (3 T); their gradients take as much again.
  const double batch = static_cast<double>(std::min<int64_t>(spec.batch, std::max<int64_t>(sizes.train, 1)));
  e.activations = 2 * kFloat * batch * T * layers * (12 * d + 4 * d_ff + 3 * heads * T);
  return e;
}

double available_memory(std::string* source) {
  double available = meminfo_available();
  std::string from = "MemAvailable in /proc/meminfo";
  double limit = read_number("/sys/fs/cgroup/memory.max"), usage = read_number("/sys/fs/cgroup/memory.current");
  if (limit < 0) {
    limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    usage = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  if (limit > 0 && limit < 1e18 && (available < 0 || limit - std::max(usage, 0.0) < available)) {
    available = limit - std::max(usage, 0.0);
    from = "the cgroup's memory limit " + gigabytes(limit) + " less its usage";
  }
  if (source) *source = from;
  return available;
}

void check_memory(const RunSpec& spec, const tasks::Sizes& sizes) {
  const MemoryEstimate e = estimate_memory(spec, sizes);
  std::string source;
  const double available = available_memory(&source);
  if (available < 0 || e.total() <= available) return;
  std::ostringstream msg;
  msg << "run: this configuration needs about " << gigabytes(e.total()) << " (parameters " << gigabytes(e.parameters)
      << ", optimizer state " << gigabytes(e.optimizer) << ", data " << gigabytes(e.data) << ", activations "
      << gigabytes(e.activations) << "), more than the " << gigabytes(available) << " available (" << source
      << "); it grows with --layers " << spec.model.layers << ", --d " << spec.model.d << ", --d-ff "
      << spec.model.d_ff << ", --batch " << spec.batch << " and the sizes --train-size " << sizes.train
      << ", --val-size " << sizes.val << ", --test-size " << sizes.test;
  throw Error(msg.str());
}

}  // namespace dl::train
