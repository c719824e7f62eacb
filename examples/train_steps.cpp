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
#include <cstdio>
#include <iostream>
#include "autograd/graph.h"
#include "examples/common/cli.h"
#include "examples/common/train.h"
#include "models/lm.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "ops/ops.h"

using namespace dl;

namespace {

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
double train_lm(const std::string& attention, int steps, uint64_t seed, const std::string& checkpoint) {
  LMConfig c;
  c.vocab = 16;
  c.max_len = 8;
  c.layers = 2;
  c.block = {32, 64, FFNKind::GELU, true, 0.1, bench_attention(attention, 2)};
  Generator gen(seed);
  CausalLM model(c, gen);
  Adam opt(model.named_parameters(), AdamOptions{1e-2});
  double loss_value = 0;
  for (int step = 1; step <= steps; ++step) {
    const Tensor tokens = counting_batch(8, c.max_len, c.vocab, gen);
    const Tensor inputs = slice(tokens, 1, 0, c.max_len), targets = slice(tokens, 1, 1, c.max_len + 1).contiguous();
    opt.zero_grad();
    Tensor loss = model.loss(inputs, targets);
    loss.backward();
    opt.step();
    loss_value = loss.item();
    if (step % 10 == 0 || step == steps) std::printf("step %d loss %.4f\n", step, loss_value);
  }
  if (!checkpoint.empty()) {
    save_checkpoint(checkpoint, model, &opt, steps);
    Generator other(seed + 1);
    CausalLM restored(c, other);
    Adam restored_opt(restored.named_parameters(), AdamOptions{1e-2});
    std::printf("checkpoint %s reloaded at step %lld\n", checkpoint.c_str(),
                static_cast<long long>(load_checkpoint(checkpoint, restored, &restored_opt).step));
  }
  return loss_value;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Train a small causal LM for N steps, then check that no tensor or tape node is left");
  cli::CommonFlags flags;
  int steps = 100;
  std::string attention = "transformer", checkpoint;
  app.add_option("--steps", steps, "training steps")->capture_default_str()->check(cli::Positive);
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
        const int64_t bytes_before = live_storage_bytes(), nodes_before = live_nodes();
        const double loss = train_lm(attention, steps, flags.seed, checkpoint);
        const int64_t bytes = live_storage_bytes() - bytes_before, nodes = live_nodes() - nodes_before;
        std::printf("final loss %.4f; left behind: %lld bytes of tensor storage, %lld tape nodes\n", loss,
                    static_cast<long long>(bytes), static_cast<long long>(nodes));
        code = bytes == 0 && nodes == 0 ? 0 : 1;
      },
      std::cerr);
  return error ? error : code;
}
