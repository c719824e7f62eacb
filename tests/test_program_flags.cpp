// The programs' flags and --load through their binaries: each row is a command, whether it must
// succeed (exit 0) or fail cleanly (exit 1..127: an error message, never a signal such as the
// abort of an uncaught exception, 134), a fragment its output must hold and one it must not.
// Every row is fast: flag errors end the program before it does any work.
#include "tests/testing.h"
#include "tests/programs.h"

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>
#include "nn/safetensors.h"

using namespace dl;
using namespace dl::testing;

namespace {

struct Row {
  std::string program, args;
  bool succeeds;
  std::string must_say, must_not_say;
};

void run_rows(const std::vector<Row>& rows, const std::string& cwd) {
  for (const Row& row : rows) {
    const ProgramRun run = run_program(row.program, row.args, cwd, 60);
    INFO(row.program << " " << row.args << "\nexit " << run.exit_code << ", output:\n" << run.output);
    if (row.succeeds) REQUIRE(run.exit_code == 0);
    else REQUIRE((run.exit_code > 0 && run.exit_code < 128));
    REQUIRE(run.output.find(row.must_say) != std::string::npos);
    if (!row.must_not_say.empty()) REQUIRE(run.output.find(row.must_not_say) == std::string::npos);
  }
}

// train_classifier's flags for a model small enough to train in a blink.
const std::string kTiny = "--threads 1 --task occurs --d 16 --d-ff 32 --layers 1 --heads 2 --test-size 32 ";

}  // namespace

TEST_CASE("program flags: bad values are refused naming the flag and value; --help exits 0", "[programs][flags]") {
  TempDir dir;
  run_rows(
      {
          {"bench_attention", "--help", true, "--steps", "fused ms"},  // help only: the benchmark did not run
          {"bench_attention", "--steps 0", false, "--steps: must be positive, got 0", "fused ms"},
          {"bench_attention", "--threads -2", false, "--threads: must be zero or more, got -2", "fused ms"},
          {"bench_attention", "--steps inf", false, "--steps", "fused ms"},
          {"bench_attention", "--no-such-flag", false, "--no-such-flag", "fused ms"},
          {"bench", "--config XXXL", false, "--config: XXXL not in {S,M,L,XL,XXL,all}", "ms_per_step"},
          {"bench_attention", "--seq 0", false, "--seq: must be positive, got 0", "ms/step"},
          {"bench_attention", "--seq 64 --impl sparse", false, "--impl", "ms/step"},
          {"bench_attention", "--seq 64 --tile 0", false, "--tile: must be positive, got 0", "ms/step"},
          // the long-context mode is quick at T = 64: one row, naming the implementation and the tile
          {"bench_attention", "--seq 64 --impl tiled --tile 16 --unmasked --warmup 0 --steps 1", true,
           "sdpa tiled T=64    tile=16", "fused ms"},
          {"bench_attention", "--seq 64 --op softmax", false, "--op", "ms/step"},
          {"bench_attention", "--seq 64 --op relational --impl tiled --tile 16 --warmup 0 --steps 1", true,
           "relational tiled T=64    tile=16", "fused ms"},
          {"bench_kernels", "--help", true, "--quick", "ns/elem"},
          {"bench_kernels", "--repeat 0", false, "--repeat: must be positive, got 0", "ns/elem"},
          {"bench_kernels", "--threads -1", false, "--threads: must be zero or more, got -1", "ns/elem"},
          {"bench_kernels", "--elements 100", false, "--elements", "ns/elem"},
          {"bench_kernels", "--elements 5000", false, "--elements must be a multiple of 1024", "ns/elem"},
          {"bench_kernels", "--no-such-flag", false, "--no-such-flag", "ns/elem"},
          {"train_steps", "--help", true, "--checkpoint", "final loss"},
          {"train_steps", "--steps 0", false, "--steps: must be positive, got 0", ""},
          {"train_steps", "--attention lstm", false, "--model: lstm not in {transformer,dat,gpam,diff}", ""},
          {"train_steps", "--seed -1", false, "--seed: must be zero or more, got -1", ""},
          {"train_steps", "--checkpoint /nonexistent/dir/x.st", false, "folder '/nonexistent/dir' does not exist",
           "step 10"},
          {"train_steps", "--steps 1 --checkpoint /proc/x.st", false, "cannot create /proc/x.st.tmp", ""},
          {"train_classifier", "--lr inf", false, "--lr: must be a finite number, got inf", "epoch"},
          {"train_classifier", "--lr nan", false, "--lr: must be a finite number, got nan", "epoch"},
          {"train_classifier", "--lr -1", false, "--lr: must be positive, got -1", "epoch"},
          {"train_classifier", "--dropout nan", false, "--dropout: must be a finite number, got nan", "epoch"},
          {"train_classifier", "--seed -1", false, "--seed: must be zero or more, got -1", "epoch"},
          {"train_classifier", "--seed 1e3", false, "--seed", "epoch"},
          // --model takes the registry's names (models/registry.h), and lists them
          {"train_classifier", "--model lstm", false, "diff", "epoch"},
          {"bench", "--model lstm", false, "transformer", "ms_per_step"},
      },
      dir.path);
}

TEST_CASE("program flags: a bad --load file is an error naming the file and the fault", "[programs][flags]") {
  TempDir dir;
  // a real checkpoint from the program itself, then broken copies of it
  const ProgramRun trained = run_program(
      "train_classifier", kTiny + "--epochs 1 --train-size 64 --val-size 32 --batch 32 --pictures 0 --out trained",
      dir.path, 60);
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  const std::string good = dir / "trained/checkpoint.safetensors";
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 1000);

  std::ofstream(dir / "truncated.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 100);
  SafeTensors st = read_safetensors(good);
  const std::string weight = st.tensors.begin()->first;
  std::vector<double> w = st.tensors.at(weight).to_vector();
  w.back() = NAN;
  st.tensors[weight] = Tensor::from_vector(w, st.tensors.at(weight).shape());
  write_safetensors(dir / "nan.safetensors", st.tensors, st.metadata);
  const std::string sparse = dir / "sparse.safetensors";  // 2 GB of zeros: header length 0
  std::ofstream(sparse).close();
  REQUIRE(truncate(sparse.c_str(), int64_t(1) << 31) == 0);
  std::ofstream(dir / "text.safetensors") << "not a checkpoint";
  std::ofstream(dir / "short.safetensors") << "abc";

  const std::string load = kTiny + "--eval-only --pictures 0 --load ";
  run_rows(
      {
          {"train_classifier", load + "trained/checkpoint.safetensors --out ok", true, "test accuracy", ""},
          {"train_classifier", load + "sparse.safetensors --out a", false, "sparse.safetensors: malformed JSON header",
           "test accuracy"},
          {"train_classifier", load + "truncated.safetensors --out b", false,
           "truncated.safetensors: tensor", "test accuracy"},
          {"train_classifier", load + "nan.safetensors --out c", false,
           "nan.safetensors: tensor '" + weight + "'", "test accuracy"},
          {"train_classifier", load + "nan.safetensors --out c", false, "holds a non-finite value (nan) at element " +
           std::to_string(w.size() - 1), "test accuracy"},
          {"train_classifier", load + "text.safetensors --out d", false,
           "text.safetensors: header length 7521891404167278446 is absurd", "test accuracy"},
          {"train_classifier", load + "short.safetensors --out e", false,
           "short.safetensors: file is 3 bytes, shorter than the 8-byte header length", "test accuracy"},
      },
      dir.path);
}
