// Storage: where a tensor's bytes come from, and the cache of freed blocks (speed only: skip on
// first read; results are the same without the cache).
#include "autograd/storage.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>
#include "autograd/error.h"

namespace dl {

static std::atomic<int64_t> g_live_bytes{0};

int64_t live_storage_bytes() { return g_live_bytes.load(); }

namespace {

// Freed Storage blocks, kept for reuse. A request is rounded up to its size class, a quarter step
// of its power of two (so at most 25% slack), and any cached block of that class serves it.
// Caching stops at kMaxCached bytes; under AddressSanitizer nothing is cached, so a use after
// free is still caught.
class BlockCache {
 public:
  static std::size_t class_size(std::size_t n) {
    if (n <= 64) return 64;
    const int log2 = 63 - __builtin_clzll(n - 1);  // 2^log2 < n <= 2^(log2 + 1)
    const std::size_t step = std::max<std::size_t>(64, std::size_t{1} << std::max(0, log2 - 2));
    return (n + step - 1) / step * step;
  }

  void* get(std::size_t size) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        return p;
      }
    }
    return std::aligned_alloc(64, size);
  }

  void put(void* p, std::size_t size) {
#ifndef __SANITIZE_ADDRESS__
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + size <= kMaxCached) {
      free_[size].push_back(p);
      cached_ += size;
      return;
    }
#else
    static_cast<void>(size);  // under ASan every block goes back to the allocator, to be checked
#endif
    std::free(p);
  }

 private:
  static constexpr std::size_t kMaxCached = std::size_t{1} << 29;
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // class size -> blocks
  std::size_t cached_ = 0;
};

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;  // never destroyed: Storages may outlive statics
  return *cache;
}

}  // namespace

Storage::Storage(std::size_t n, bool zero) : data(nullptr), bytes(n) {
  const std::size_t size = BlockCache::class_size(n);
  data = block_cache().get(size);
  if (!data) throw Error("Storage: out of memory allocating " + std::to_string(n) + " bytes");
  if (zero) std::memset(data, 0, n);
  g_live_bytes += static_cast<int64_t>(n);
}

Storage::~Storage() {
  g_live_bytes -= static_cast<int64_t>(bytes);
  block_cache().put(data, BlockCache::class_size(bytes));
}

}  // namespace dl
