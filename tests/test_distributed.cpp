// Data-parallel training (nn/distributed): the engine's hook that reports a leaf's gradient as
// complete, and, through the binaries under mpirun, weights bitwise the same for 1, 2 and 3
// ranks as for a plain run with the same micro-batches.
#include "tests/testing.h"
#include "tests/programs.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include "autograd/graph.h"
#include "ops/ops.h"

using namespace dl;
using namespace dl::testing;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// mpirun's part for `ranks` processes of this build's train_steps with `args`.
std::string train_steps_on(int ranks, const std::string& args) {
  return "-np " + std::to_string(ranks) + " " + program_dir() + "/train_steps " + args;
}

// `mpirun parts` (as root too, more ranks than cores allowed); parts joined by " : " start
// different command lines in one world. For the sanitizer build, whose LeakSanitizer reports
// what libmpi keeps until exit (tests/lsan.supp names those libraries): OpenMPI keeps its
// plugins loaded, and the full unwinder follows a leak's stack through libraries built without
// frame pointers, so that the suppressions see the MPI frames (both ignored by other builds).
ProgramRun mpirun(const std::string& parts) {
  return run_command("env ASAN_OPTIONS=\"${ASAN_OPTIONS}:fast_unwind_on_malloc=0\" mpirun --oversubscribe "
                     "--allow-run-as-root --mca mca_base_component_disable_dlclose 1 " + parts,
                     "", 60);
}

// The first byte at which two files' contents differ (the shorter one's size if one is a prefix of
// the other), or npos when they are equal: a failing check names an offset, not both checkpoints.
size_t first_difference(const std::string& a, const std::string& b) {
  if (a == b) return std::string::npos;
  const size_t n = std::min(a.size(), b.size());
  return static_cast<size_t>(std::mismatch(a.begin(), a.begin() + n, b.begin()).first - a.begin());
}

}  // namespace

TEST_CASE("LeafGradHook: each leaf once, when its gradient is whole, the last-used leaf first",
          "[distributed][autograd]") {
  Generator gen(3);
  Tensor a = rand64({3}, gen), b = rand64({3}, gen), c = rand64({3}, gen), unused = rand64({3}, gen);
  Tensor x = rand64({3}, gen, 1.0, false);
  // a feeds two ops, one early and one at the end; b only the first op; c only the last
  Tensor h = mul(a, b);
  Tensor loss = sum(add(mul(mul(h, x), c), a));
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> at_report;
  const std::map<const TensorImpl*, std::string> names{
      {a.impl_ptr().get(), "a"}, {b.impl_ptr().get(), "b"}, {c.impl_ptr().get(), "c"}, {unused.impl_ptr().get(), "u"}};
  {
    LeafGradHook hook([&](const Tensor& leaf) {
      const std::string& name = names.at(leaf.impl_ptr().get());
      order.push_back(name);
      at_report[name] = leaf.grad().to_vector();
    });
    loss.backward();
  }
  // c is done as soon as the last mul has run; a only after h's mul, its second consumer
  REQUIRE(order.size() == 3);
  CHECK(order.front() == "c");
  CHECK(std::count(order.begin(), order.end(), "a") == 1);
  CHECK(std::find(order.begin(), order.end(), "a") > std::find(order.begin(), order.end(), "c"));
  for (const auto& [name, leaf] : std::map<std::string, Tensor>{{"a", a}, {"b", b}, {"c", c}})
    CHECK(at_report.at(name) == leaf.grad().to_vector());  // the reported grad is already final
  // the hook ends with its scope: a second backward reports nothing
  order.clear();
  sum(mul(a, a)).backward();
  CHECK(order.empty());
}

TEST_CASE("train_steps under mpirun: weights bitwise those of one process, for 1, 2 and 3 ranks",
          "[distributed][programs]") {
  TempDir dir;
  const std::string args = "--steps 12 --micro-batches 4 --bucket-bytes 16384 --checkpoint ";
  const ProgramRun plain = run_program("train_steps", args + (dir / "plain.st"));
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.output.find("1 rank(s), 4 micro-batches of 2 rows, 5 bucket(s)") != std::string::npos);
  const std::string expected = read_bytes(dir / "plain.st");
  REQUIRE(!expected.empty());
  for (int ranks : {1, 2, 3}) {
    INFO(ranks << " ranks");
    const std::string path = dir / ("ranks" + std::to_string(ranks) + ".st");
    const ProgramRun run = mpirun(train_steps_on(ranks, args + path));
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    CHECK(run.output.find(std::to_string(ranks) + " rank(s)") != std::string::npos);
    // only rank 0 prints: one final line, not one per rank
    CHECK(run.output.find("final loss") == run.output.rfind("final loss"));
    CHECK(first_difference(read_bytes(path), expected) == std::string::npos);
  }
  // the micro-batches define the gradient (their fold), so another count is another run
  REQUIRE(run_program("train_steps", "--steps 12 --micro-batches 2 --checkpoint " + (dir / "m2.st")).exit_code == 0);
  CHECK(first_difference(read_bytes(dir / "m2.st"), expected) != std::string::npos);
}

TEST_CASE("train_steps under mpirun: fewer micro-batches than ranks, or ranks with other flags, are refused",
          "[distributed][programs]") {
  const ProgramRun few = mpirun(train_steps_on(3, "--steps 2 --micro-batches 2"));
  CHECK(few.exit_code != 0);
  CHECK(few.output.find("--micro-batches 2 is fewer than the 3 ranks") != std::string::npos);
  const ProgramRun other = mpirun(train_steps_on(1, "--steps 2 --micro-batches 2") + " : " +
                                  train_steps_on(1, "--steps 3 --micro-batches 2"));
  CHECK(other.exit_code != 0);
  CHECK(other.output.find("the ranks were started with different flags") != std::string::npos);
}
