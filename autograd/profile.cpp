#include "autograd/profile.h"

#include <time.h>

#include <algorithm>
#include <map>
#include <mutex>

namespace dl {

namespace detail {
std::atomic<bool> g_profiling{false};
}

namespace {

double clock_seconds(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// BLAS figures not yet charged to an op: BLAS calls run on any thread, inside the op that is
// charged next.
std::atomic<int64_t> g_blas_ns{0}, g_blas_flops{0};

struct Profile {
  std::mutex mutex;
  std::map<std::string, OpProfile> ops;
  double wall = 0, cpu = 0;  // the last mark

  void mark() {
    wall = clock_seconds(CLOCK_MONOTONIC);
    cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
  }
  // Charges everything since the last mark to name, and marks.
  void charge(const std::string& name) {
    const double w = clock_seconds(CLOCK_MONOTONIC), c = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    std::lock_guard<std::mutex> lock(mutex);
    OpProfile& p = ops[name];
    p.name = name;
    ++p.calls;
    p.wall += w - wall;
    p.cpu += c - cpu;
    p.blas_cpu += 1e-9 * static_cast<double>(g_blas_ns.exchange(0));
    p.flops += static_cast<double>(g_blas_flops.exchange(0));
    wall = w;
    cpu = c;
  }
};

Profile& profile() {
  static Profile p;
  return p;
}

}  // namespace

void set_profiling(bool on) {
  Profile& p = profile();
  if (on) {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.ops.clear();
    g_blas_ns = 0;
    g_blas_flops = 0;
    p.mark();
  }
  detail::g_profiling = on;
}

void profile_mark() {
  if (!profiling()) return;
  g_blas_ns = 0;
  g_blas_flops = 0;
  profile().mark();
}

void profile_add(const std::string& name) {
  if (profiling()) profile().charge(name);
}

std::vector<OpProfile> profile_report() {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mutex);
  std::vector<OpProfile> out;
  for (const auto& [name, op] : p.ops) out.push_back(op);
  std::sort(out.begin(), out.end(), [](const OpProfile& a, const OpProfile& b) { return a.wall > b.wall; });
  return out;
}

namespace detail {

void profile_forward(const char* op) { profile().charge(op); }

// The gap before a backward closure is the engine's own bookkeeping.
ProfileScope::ProfileScope(std::string name_) : name(std::move(name_)) { profile().charge("autograd engine"); }
ProfileScope::~ProfileScope() { profile().charge(name); }

void profile_blas(double cpu, double flops) {
  g_blas_ns += static_cast<int64_t>(cpu * 1e9);
  g_blas_flops += static_cast<int64_t>(flops);
}

double thread_cpu_seconds() { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

}  // namespace detail

}  // namespace dl
