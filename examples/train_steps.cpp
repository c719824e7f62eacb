// Trains a small causal LM for N Adam steps and checks that nothing is left behind: the leak
// check's workload (README, "Reliability").
//
//   valgrind --leak-check=full --error-exitcode=1 build-valgrind/bin/train_steps --steps 100
//   build-sanitize/bin/train_steps --steps 100      (LeakSanitizer reports at exit)
//
// The task: each sequence counts up modulo the vocabulary from a random start, so the loss falls
// within a few dozen steps. Dropout is on, so its masks and generator are exercised too. After
// training (and an optional checkpoint round trip) every tensor and tape node is released, so
// the library's own counters must be back at zero; the program exits 1 if they are not.
//
// Data parallel (nn/distributed/reducer.h): `mpirun -np N build/bin/train_steps --micro-batches M`
// splits each global batch of 8 rows into M micro-batches, rank r computing a contiguous block of
// them; the saved weights are bitwise those of a plain run with the same M, for any N <= M.
// Every rank draws the same global batch from the same generator, so the data order does not
// depend on N; dropout's generators are reseeded per micro-batch for the same reason. Only rank
// 0 prints and writes the checkpoint.
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include "autograd/graph.h"
#include "examples/common/cli.h"
#include "examples/common/train.h"
#include "models/lm.h"
#include "nn/checkpoint.h"
#include "nn/distributed/reducer.h"
#include "nn/distributed/world.h"
#include "nn/optim.h"
#include "ops/ops.h"

using namespace dl;

namespace {

constexpr int64_t kBatch = 8;  // rows of a global batch

// Dropout's masks in micro-batch i of a step come from a seed of (seed, step, i) alone, so they
// are the same whichever rank computes the micro-batch.
void reseed_dropout(Module& model, uint64_t seed, int64_t step, int64_t micro_batch) {
  uint64_t k = 0;
  for (auto& [name, gen] : model.named_generators())
    gen->seed(seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(step * 1000003 + micro_batch + 1)) ^ ++k);
}

// This rank's share of one step: the backward of each of its micro-batches (loss scaled by 1/M,
// so the fold is the global batch's mean gradient) and the chain that folds them across ranks.
// Returns the global batch's mean loss on rank 0 (folded in micro-batch order too), else 0.
double data_parallel_step(CausalLM& model, dist::ChainReducer& reducer, const Tensor& tokens, int64_t step,
                          int64_t micro_batches, const dist::MicroBatchRange& mine, uint64_t seed) {
  const int64_t rows = kBatch / micro_batches, T = tokens.size(1) - 1;
  std::vector<double> losses;
  for (int64_t i = mine.first; i < mine.first + mine.count; ++i) {
    const Tensor rows_i = slice(tokens, 0, i * rows, (i + 1) * rows);
    const Tensor inputs = slice(rows_i, 1, 0, T).contiguous(), targets = slice(rows_i, 1, 1, T + 1).contiguous();
    reseed_dropout(model, seed, step, i);
    Tensor loss = model.loss(inputs, targets) * (1.0 / static_cast<double>(micro_batches));
    reducer.backward(loss, i == mine.first + mine.count - 1);
    losses.push_back(loss.item());
  }
  reducer.finish();
  // the generators' state after the step (checkpointed) must not depend on which micro-batch this
  // rank ran last either
  reseed_dropout(model, seed, step, micro_batches);
  double total = 0;
  for (double l : dist::World::get().gather(losses)) total += l;
  return total;
}

// (B, T + 1) int32 rows start, start + 1, ... (mod vocab) from random starts.
Tensor counting_batch(int64_t B, int64_t T, int64_t vocab, Generator& gen) {
  std::vector<int32_t> ids(B * (T + 1));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t start = gen.randint(0, vocab);
    for (int64_t t = 0; t <= T; ++t) ids[b * (T + 1) + t] = static_cast<int32_t>((start + t) % vocab);
  }
  return Tensor::from_ints(ids, {B, T + 1});
}

// Trains and returns the last loss; every tensor it made is gone when it returns.
double train_lm(const std::string& attention, int steps, int64_t micro_batches, int64_t bucket_bytes,
                uint64_t seed, const std::string& checkpoint) {
  const dist::World& world = dist::World::get();
  const dist::MicroBatchRange mine = dist::micro_batches_of(world.rank(), world.size(), micro_batches);
  LMConfig c;
  c.vocab = 16;
  c.max_len = 8;
  c.layers = 2;
  c.block = {32, 64, FFNKind::GELU, true, 0.1, bench_attention(attention, 2)};
  Generator gen(seed);
  CausalLM model(c, gen);
  Adam opt(model.named_parameters(), AdamOptions{1e-2});
  dist::ChainReducer reducer(world, model.parameters(), bucket_bytes);
  reducer.broadcast_parameters();
  if (world.is_root())
    std::printf("%d rank(s), %lld micro-batches of %lld rows, %lld bucket(s), %lld bytes reduced per step\n",
                world.size(), static_cast<long long>(micro_batches), static_cast<long long>(kBatch / micro_batches),
                static_cast<long long>(reducer.buckets()), static_cast<long long>(reducer.bytes_per_step()));
  double loss_value = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= steps; ++step) {
    const Tensor tokens = counting_batch(kBatch, c.max_len, c.vocab, gen);
    loss_value = data_parallel_step(model, reducer, tokens, step, micro_batches, mine, seed);
    opt.step();
    if (world.is_root() && (step % 10 == 0 || step == steps)) std::printf("step %d loss %.4f\n", step, loss_value);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (world.is_root())
    std::printf("mean step time %.2f ms, of which %.2f ms in the reducer's finish (rank 0)\n", 1e3 * seconds / steps,
                1e3 * reducer.seconds_in_finish() / steps);
  if (!checkpoint.empty() && world.is_root()) {
    save_checkpoint(checkpoint, model, &opt, steps);
    Generator other(seed + 1);
    CausalLM restored(c, other);
    Adam restored_opt(restored.named_parameters(), AdamOptions{1e-2});
    std::printf("checkpoint %s reloaded at step %lld\n", checkpoint.c_str(),
                static_cast<long long>(load_checkpoint(checkpoint, restored, &restored_opt).step));
  }
  return loss_value;
}

// The command line's hash: compared across ranks, so that a rank started with other flags is an
// error at the start, not a silent divergence.
uint64_t flags_hash(int argc, char** argv) {
  std::string line;
  for (int i = 1; i < argc; ++i) line += std::string(argv[i]) + '\0';
  return std::hash<std::string>()(line);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Train a small causal LM for N steps, then check that no tensor or tape node is left");
  cli::CommonFlags flags;
  int steps = 100;
  int64_t micro_batches = 1, bucket_bytes = int64_t{1} << 20;
  std::string attention = "transformer", checkpoint;
  app.add_option("--steps", steps, "training steps")->capture_default_str()->check(cli::Positive);
  app.add_option("--micro-batches", micro_batches,
                 "split each batch of 8 rows into this many (a divisor of 8); with mpirun -np N, N <= this")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 2, 4, 8}));
  app.add_option("--bucket-bytes", bucket_bytes, "gradients travel in buckets of about this many bytes")
      ->capture_default_str()
      ->check(cli::Positive);
  app.add_option("--model,--attention", attention, "model kind (models/registry.h)")
      ->capture_default_str()
      ->check(CLI::IsMember(model_names()));
  app.add_option("--checkpoint", checkpoint, "save and reload a checkpoint at this path at the end")
      ->check(cli::InExistingFolder);
  app.add_option("--seed", flags.seed, "random seed")->capture_default_str();
  app.add_option("--threads", flags.threads, "threads (0: DL_NUM_THREADS, else all cores)")
      ->capture_default_str()
      ->check(cli::NonNegative);
  cli::parse_or_exit(app, flags, argc, argv);

  int code = 1;
  const int error = train::guarded(
      [&] {
        const dist::World& world = dist::World::get();
        DL_CHECK(world.same_everywhere(flags_hash(argc, argv)), "train_steps",
                 "the ranks were started with different flags");
        const int64_t bytes_before = live_storage_bytes(), nodes_before = live_nodes();
        const double loss = train_lm(attention, steps, micro_batches, bucket_bytes, flags.seed, checkpoint);
        const int64_t bytes = live_storage_bytes() - bytes_before, nodes = live_nodes() - nodes_before;
        if (world.is_root())
          std::printf("final loss %.4f; left behind: %lld bytes of tensor storage, %lld tape nodes\n", loss,
                      static_cast<long long>(bytes), static_cast<long long>(nodes));
        code = bytes == 0 && nodes == 0 ? 0 : 1;
      },
      std::cerr);
  return dist::World::get().finish(error ? error : code);
}
