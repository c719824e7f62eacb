// Opt-in per-op profile, for benchmarks: where the time of a training step goes.
//
// While profiling is on:
//   - each forward op recorded on the tape is charged the time since the previous mark (the
//     previous recorded op, or profile_mark()), so a forward splits into its ops;
//   - each backward closure is timed on its own ("<op> backward"), and so is the engine's
//     gradient accumulation ("grad accumulate");
//   - BLAS calls (ops/blas.cpp) add their CPU time and FLOPs to the op running them;
//   - profile_add() charges other named work (the optimizer step, zero_grad).
// Times are wall clock and process CPU time (all threads), so a shared, loaded machine inflates
// the first more than the second. Off (the default), each hook costs one relaxed atomic load.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace dl {

namespace detail {
extern std::atomic<bool> g_profiling;
}
inline bool profiling() { return detail::g_profiling.load(std::memory_order_relaxed); }

struct OpProfile {
  std::string name;    // "matmul", "matmul backward", "grad accumulate", ...
  int64_t calls = 0;
  double wall = 0;     // seconds
  double cpu = 0;      // seconds of process CPU time, summed over threads
  double blas_cpu = 0; // seconds of CPU time inside BLAS calls, summed over threads
  double flops = 0;    // 2 per multiply-add of its BLAS calls
};

// Starts (clearing earlier figures) or stops profiling. Call outside any op.
void set_profiling(bool on);
// Restarts the forward clock: the next recorded op is charged from here.
void profile_mark();
// Ends a region that runs no recorded op (the optimizer step, say) and charges it to name.
void profile_add(const std::string& name);
// The figures so far, most wall time first.
std::vector<OpProfile> profile_report();

namespace detail {
void profile_forward(const char* op);  // called by record() while profiling
// Brackets one backward closure (or accumulation) of op.
struct ProfileScope {
  explicit ProfileScope(std::string name);
  ~ProfileScope();
  std::string name;
};
// A BLAS call of m*n*k multiply-adds that took cpu seconds of its thread's CPU time.
void profile_blas(double cpu, double flops);
double thread_cpu_seconds();
}  // namespace detail

}  // namespace dl
