#include "autograd/parallel.h"

#include <cblas.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include <cstdlib>
#include <memory>
#include <string>
#include "autograd/error.h"

namespace dl {

namespace {
struct Pool {
  int threads = 0;
  std::unique_ptr<tbb::global_control> control;
};

Pool& pool() {
  static Pool p = [] {
    Pool q;
    openblas_set_num_threads(1);
    q.threads = tbb::info::default_concurrency();
    if (const char* env = std::getenv("DL_NUM_THREADS")) {
      int n = std::atoi(env);
      if (n > 0) q.threads = n;
    }
    q.control = std::make_unique<tbb::global_control>(
        tbb::global_control::max_allowed_parallelism, q.threads);
    return q;
  }();
  return p;
}
}  // namespace

void set_num_threads(int n) {
  DL_CHECK(n >= 1, "set_num_threads", "thread count must be at least 1, got " + std::to_string(n));
  Pool& p = pool();
  p.control.reset();
  p.control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, n);
  p.threads = n;
}

int num_threads() { return pool().threads; }

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& body) {
  if (end <= begin) return;
  if (grain < 1) grain = 1;
  const int64_t chunks = (end - begin + grain - 1) / grain;
  if (chunks == 1 || pool().threads == 1) {
    for (int64_t c = 0; c < chunks; ++c) body(begin + c * grain, std::min(end, begin + (c + 1) * grain));
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, chunks, 1), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t c = r.begin(); c < r.end(); ++c) body(begin + c * grain, std::min(end, begin + (c + 1) * grain));
  }, tbb::simple_partitioner());
}

}  // namespace dl
