// The float kernels one at a time, against the memory bandwidth measured in the same process:
// ns per element of exp, erf, gelu forward and backward, a softmax row, layer_norm forward and
// backward and the AdamW step. An elementwise kernel on arrays larger than the caches can go no
// faster than the bytes it moves over the bandwidth of a triad (a = b + s c); its "x bound" is
// how many times slower than that it runs. Past 3x it is flagged: such a kernel is compute
// bound, usually because its loop did not vectorize for this CPU's vector ISA.
//
//   build/bin/bench_kernels                 2^23 elements a kernel, all cores
//   build/bin/bench_kernels --threads 1     one core
//   build/bin/bench_kernels --quick         2^16 elements, 2 repeats (a smoke test: cache sized,
//                                           so the bound means little)
//
// exp and erf are timed as the ops run them (ops/fast_math.h through ops/loops.h's chunked
// loop); the others through their ops, timed by the per-op profile (autograd/profile.h), so each
// figure includes what the op costs a training step: its output's allocation, its tape entry.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include "autograd/graph.h"
#include "autograd/parallel.h"
#include "autograd/profile.h"
#include "autograd/random.h"
#include "examples/common/cli.h"
#include "examples/common/cpu_info.h"
#include "nn/optim.h"
#include "ops/activation.h"
#include "ops/fast_math.h"
#include "ops/loops.h"
#include "ops/norm.h"
#include "ops/softmax.h"

using namespace dl;

namespace {

struct Options {
  int64_t elements = int64_t(1) << 23;
  int repeat = 7;  // the fastest repeat is kept: the machine is shared
  int threads = 0;
  bool quick = false;
};

struct Figure {
  std::string kernel;
  double seconds;         // fastest repeat
  double bytes_per_elem;  // bytes read and written per element, as the triad's are counted
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The fastest of `repeat` runs of f, in seconds.
template <class F>
double fastest(int repeat, F&& f) {
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// Bytes per second of a[i] = b[i] + s c[i] over n floats (12 bytes an element), the bound of
// every kernel below.
double triad_bandwidth(int64_t n, int repeat) {
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  const double t = fastest(repeat, [&] {
    map_dense_arrays(n, a.data(), [](float x, float y) { return x + 3.0f * y; }, b.data(), c.data());
  });
  return 12.0 * n / t;
}

// exp (of x <= 0, its domain) and erf over n floats, as the ops' loops run them.
std::vector<Figure> math_figures(int64_t n, int repeat, Generator& gen) {
  const Tensor x = rand_uniform({n}, gen, -10.0, 0.0), y = Tensor::uninitialized({n});
  const float* px = x.data<float>();
  float* py = y.data<float>();
  const double exp_s =
      fastest(repeat, [&] { map_dense_arrays(n, py, [](float v) { return fast_exp(v); }, px); });
  const double erf_s =
      fastest(repeat, [&] { map_dense_arrays(n, py, [](float v) { return fast_erf(v + 5.0f); }, px); });
  return {{"exp", exp_s, 8}, {"erf", erf_s, 8}};
}

// The fastest forward and backward of op(x) over `repeat` runs, from the per-op profile: the
// wall time charged to `name` and to "<name> backward". x is (n / C, C).
template <class Op>
std::vector<Figure> op_figures(const std::string& name, int64_t n, int64_t C, int repeat, Generator& gen,
                               double fwd_bytes, double bwd_bytes, Op op) {
  const Tensor x0 = randn({n / C, C}, gen), g = randn({n / C, C}, gen);
  double fwd = 1e30, bwd = 1e30;
  for (int r = 0; r < repeat; ++r) {
    Tensor x = x0.detach().requires_grad_();
    set_profiling(true);
    profile_mark();
    Tensor y = op(x);
    y.backward(g);
    for (const OpProfile& p : profile_report()) {
      if (p.name == name) fwd = std::min(fwd, p.wall);
      if (p.name == name + " backward") bwd = std::min(bwd, p.wall);
    }
    set_profiling(false);
  }
  return {{name + " forward", fwd, fwd_bytes}, {name + " backward", bwd, bwd_bytes}};
}

// One AdamW step of a parameter of n floats: reads w, g, m, v and writes w, m, v.
Figure adamw_figure(int64_t n, int repeat, Generator& gen) {
  Tensor w = randn({n}, gen).requires_grad_();
  w.set_grad(randn({n}, gen));
  AdamW opt({{"w", w}}, AdamOptions{1e-3, 0.9, 0.999, 1e-8, 0.01});
  return {"adamw step", fastest(repeat, [&] { opt.step(); }), 28};
}

void run(const Options& o) {
  if (o.threads > 0) set_num_threads(o.threads);
  const int64_t n = o.quick ? int64_t(1) << 16 : o.elements;
  DL_CHECK(n % 1024 == 0, "bench_kernels", "--elements must be a multiple of 1024 (rows of 1024, 256 and 128), got " +
                                               std::to_string(n));
  const int repeat = o.quick ? 2 : o.repeat;
  const double bandwidth = triad_bandwidth(n, repeat);
  std::printf("%s\n", cpu_line().c_str());
  std::printf("# threads=%d elements=%lld repeats=%d (fastest kept); triad a = b + s c: %.1f GB/s\n",
              num_threads(), static_cast<long long>(n), repeat, bandwidth / 1e9);
  Generator gen(0);
  std::vector<Figure> figures = math_figures(n, repeat, gen);
  auto add = [&](std::vector<Figure> more) { figures.insert(figures.end(), more.begin(), more.end()); };
  add(op_figures("gelu", n, 1024, repeat, gen, 8, 16, [](const Tensor& x) { return gelu(x); }));
  add(op_figures("softmax", n, 128, repeat, gen, 8, 12, [](const Tensor& x) { return softmax(x); }));
  const Tensor w = randn({256}, gen).requires_grad_(), b = randn({256}, gen).requires_grad_();
  add(op_figures("layer_norm", n, 256, repeat, gen, 8, 12,
                 [&](const Tensor& x) { return layer_norm(x, w, b); }));
  figures.push_back(adamw_figure(n, repeat, gen));

  std::printf("%-20s %10s %11s %14s %8s\n", "kernel", "ns/elem", "bytes/elem", "bound ns/elem", "x bound");
  int slow = 0;
  for (const Figure& f : figures) {
    const double ns = 1e9 * f.seconds / n, bound = 1e9 * f.bytes_per_elem / bandwidth;
    const bool flagged = ns > 3 * bound;
    slow += flagged;
    std::printf("%-20s %10.3f %11.0f %14.3f %8.2f%s\n", f.kernel.c_str(), ns, f.bytes_per_elem, bound, ns / bound,
                flagged ? "  SLOW: more than 3x its memory bound" : "");
  }
  std::printf("# %d of %zu kernels more than 3x off their memory bound\n", slow, figures.size());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("The float kernels against the memory bandwidth: ns per element and x its bound");
  app.add_option("--elements", o.elements, "elements a kernel")->check(CLI::Range(int64_t(1024), int64_t(1) << 28))->capture_default_str();
  app.add_option("--repeat", o.repeat, "runs of each kernel; the fastest is kept")->check(dl::cli::Positive)->capture_default_str();
  app.add_option("--threads", o.threads, "threads (0: DL_NUM_THREADS, else all cores)")
      ->check(dl::cli::NonNegative)
      ->capture_default_str();
  app.add_flag("--quick", o.quick, "2^16 elements and 2 repeats: a quick check that every kernel runs");
  dl::cli::parse_or_exit(app, argc, argv);
  try {
    run(o);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
