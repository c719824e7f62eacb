// A training run killed with SIGKILL at a random moment and resumed from its last checkpoint ends
// bitwise identical to an uninterrupted one, and its checkpoint is never half-written.
//
// Exact resume needs every input of a step to be restored or recomputed: the model and the
// optimizer come from the checkpoint (nn/checkpoint.h), and the batch of step s is a pure function
// of (seed, s), so no data generator state needs saving. The model trains with dropout: the
// checkpoint carries each Dropout's generator, so the resumed run draws the same masks.
//
// The killed run is this test binary re-executed (fork + exec of /proc/self/exe) with the hidden
// test case [resume_child]; a fresh process avoids forking a live thread pool.
#include "tests/testing.h"
#include "tests/bitwise.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>
#include "models/classifier.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"

extern char** environ;

using namespace dl;
using namespace dl::testing;

namespace {

constexpr int64_t kSteps = 60, kEvery = 5;  // train 60 steps, checkpoint every 5
constexpr uint64_t kSeed = 11;
const std::string kCheckpoint = "ckpt.safetensors";
const char* const kDirVariable = "DL_RESUME_DIR";      // where the child trains
const char* const kReadyVariable = "DL_RESUME_READY";  // the fd the child writes to as it starts training

ClassifierConfig config() {
  ClassifierConfig c;
  c.in_features = 3;
  c.max_len = 4;
  c.n_classes = 3;
  c.layers = 1;
  c.mlp_hidden = 8;
  c.block = {16, 32, FFNKind::SwiGLU, true, 0.1, bench_attention("transformer", 2)};
  return c;
}

struct Run {
  Generator gen{kSeed};
  Classifier model{config(), gen};
  Adam opt{model.named_parameters(), AdamOptions{1e-2}};
  int64_t step = 0;        // steps taken
  double last_loss = 0.0;  // the loss of step `step - 1`
};

// The batch of step s: a pure function of (seed, s).
std::pair<Tensor, Tensor> batch(int64_t step) {
  Generator g(kSeed * 1000003 + static_cast<uint64_t>(step));
  const Tensor x = randn({8, 4, 3}, g);  // (B, N, F)
  std::vector<int32_t> y(8);
  for (int32_t& label : y) label = static_cast<int32_t>(g.randint(0, 3));
  return {x, Tensor::from_ints(y, {8})};
}

std::string exact(double v) {  // hexadecimal floating point: parses back to the same bits
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

// Trains on to kSteps, saving a checkpoint every kEvery steps when path is given.
void train(Run& r, const std::string& path) {
  while (r.step < kSteps) {
    const auto [x, y] = batch(r.step);
    r.opt.zero_grad();
    Tensor loss = cross_entropy(r.model.forward(x), y);
    r.last_loss = loss.item();
    loss.backward();
    r.opt.step();
    ++r.step;
    if (!path.empty() && r.step % kEvery == 0)
      save_checkpoint(path, r.model, &r.opt, r.step, {{"loss", exact(r.last_loss)}});
  }
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Continues from the checkpoint at path, if there is one.
void resume(Run& r, const std::string& path) {
  if (!exists(path)) return;
  const CheckpointInfo info = load_checkpoint(path, r.model, &r.opt);
  r.step = info.step;
  r.last_loss = std::strtod(info.metadata.at("loss").c_str(), nullptr);
}


// Starts this binary's [resume_child] test in dir and returns once it has loaded its checkpoint
// and begins to train (or has died). Its stdout (the Catch2 summary) is discarded, its stderr
// (sanitizer reports) kept.
pid_t spawn_child(const std::string& dir) {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(std::string(kDirVariable) + "=" + dir);
  env.push_back(std::string(kReadyVariable) + "=" + std::to_string(ready[1]));
  std::vector<char*> envp;
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  char arg0[] = "run_tests", arg1[] = "[resume_child]";
  char* argv[] = {arg0, arg1, nullptr};
  const pid_t pid = fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    close(ready[0]);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  close(ready[1]);
  char byte;
  REQUIRE(read(ready[0], &byte, 1) >= 0);  // 1 byte: training begins; 0: the child ended first
  close(ready[0]);
  REQUIRE(pid > 0);
  return pid;
}

}  // namespace

TEST_CASE("resume: the run that the SIGKILL test kills", "[.][resume_child]") {
  const char *dir = std::getenv(kDirVariable), *ready_fd = std::getenv(kReadyVariable);
  if (!dir || !ready_fd) return;  // not started by the test below (e.g. run_tests '~[slow]')
  const std::string path = std::string(dir) + "/" + kCheckpoint;
  Run r;
  resume(r, path);
  const int ready = std::atoi(ready_fd);
  REQUIRE(write(ready, "r", 1) == 1);
  close(ready);
  train(r, path);
}

TEST_CASE("resume: killed with SIGKILL at random moments, resumed, ends bitwise identical", "[resume]") {
  TempDir dir;
  Run reference;  // uninterrupted, with the same checkpoint writes, timed to aim the kills
  const auto t0 = std::chrono::steady_clock::now();
  train(reference, dir / "reference.safetensors");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::remove((dir / "reference.safetensors").c_str());

  const uint64_t seed = std::random_device()();
  INFO("kill-time seed " << seed << ", uninterrupted run " << seconds << " s");
  std::mt19937_64 rng(seed);
  const std::string path = dir / kCheckpoint;
  int64_t saved = 0;  // the step of the last checkpoint
  for (int round = 0; round < 3; ++round) {
    // a random moment of the child's remaining training, or just after it ends
    const double wait = std::uniform_real_distribution<double>(0.0, 1.2 * seconds * (kSteps - saved) / kSteps)(rng);
    INFO("round " << round << ": from step " << saved << ", SIGKILL after " << wait << " s");
    const pid_t pid = spawn_child(dir.path);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
    // a kill during a save may strand that writer's temp file, never a torn checkpoint
    for (const std::string& f : dir.files()) {
      if (f == kCheckpoint) continue;
      REQUIRE(f == kCheckpoint + ".tmp." + std::to_string(pid));
      std::remove((dir / f).c_str());
    }
    if (exists(path)) {
      Run probe;
      REQUIRE_NOTHROW(resume(probe, path));
      REQUIRE((probe.step % kEvery == 0 && saved <= probe.step && probe.step <= kSteps));
      saved = probe.step;
    }
  }

  Run resumed;
  resume(resumed, path);
  train(resumed, path);
  REQUIRE(dir.files() == std::vector<std::string>{kCheckpoint});
  REQUIRE(std::memcmp(&resumed.last_loss, &reference.last_loss, sizeof(double)) == 0);
  require_bitwise(reference.model.state_dict(), resumed.model.state_dict());
  require_bitwise(reference.opt.state_dict(), resumed.opt.state_dict());
}
