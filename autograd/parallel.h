// One thread pool owns the cores: oneTBB's. OpenBLAS is pinned to one thread so its own pool
// never competes with TBB's (on 2 cores the two pools together run 2-3x slower); large matrix
// products are split across TBB tasks instead (ops/blas.cpp).
//
// Determinism: kernels split work into chunks whose boundaries depend on the problem size only,
// never on the thread count, and never reduce floating-point values across chunks in a
// scheduling-dependent order. So 1 thread and 2 threads give bitwise-identical results.
#pragma once
#include <cstdint>
#include <functional>

namespace dl {

// Threads used by every parallel kernel. Default: the DL_NUM_THREADS environment variable, else
// all cores. Call before or between steps, not from inside a kernel.
void set_num_threads(int n);
int num_threads();

// Elementwise loops below this many elements per chunk do not pay for a task.
constexpr int64_t kElementGrain = 16384;

// Calls body(begin, end) on disjoint chunks covering [begin, end), each at most `grain` long
// (chunk boundaries are multiples of grain from begin), in parallel.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body);

}  // namespace dl
