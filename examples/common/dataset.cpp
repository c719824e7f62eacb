#include "examples/common/dataset.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace dl::tasks {

Sizes fraction_sizes(int64_t pool, int train_percent, int val_percent) {
  DL_CHECK(pool >= 0 && train_percent >= 0 && val_percent >= 0 && train_percent + val_percent <= 100,
           "fraction_sizes", "bad pool " + std::to_string(pool) + " or percentages " +
                                 std::to_string(train_percent) + ", " + std::to_string(val_percent));
  const int64_t train = pool * train_percent / 100, val = pool * val_percent / 100;
  return {train, val, pool - train - val};
}

std::vector<int64_t> epoch_order(int64_t n, Generator& gen) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[gen.randint(0, i + 1)]);
  return order;
}

// Rows order[begin, end) of t (contiguous, rows along axis 0) as a new tensor.
static Tensor gather(const Tensor& t, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  DL_CHECK(t.is_contiguous(), "gather_rows", "expected a contiguous tensor, got " + t.str());
  Shape shape = t.shape();
  shape[0] = end - begin;
  Tensor out = Tensor::empty(shape, t.dtype());
  const int64_t rows = t.size(0);
  const std::size_t row_bytes = (rows ? t.numel() / rows : 0) * dtype_size(t.dtype());
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t i = begin; i < end; ++i) {
    DL_CHECK(order[i] >= 0 && order[i] < rows, "gather_rows",
             "row " + std::to_string(order[i]) + " out of range for " + t.str());
    std::memcpy(dst + (i - begin) * row_bytes, src + order[i] * row_bytes, row_bytes);
  }
  return out;
}

Split gather_rows(const Split& s, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  DL_CHECK(0 <= begin && begin <= end && end <= static_cast<int64_t>(order.size()), "gather_rows",
           "range [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside an order of " +
               std::to_string(order.size()) + " rows");
  return {gather(s.x, order, begin, end), gather(s.y, order, begin, end)};
}

Generator split_generator(uint64_t seed, Stream stream) {
  // Generator::seed runs splitmix64, so seeds differing in their top bits give unrelated streams.
  return Generator(seed ^ (static_cast<uint64_t>(stream) * 0x9e3779b97f4a7c15ULL));
}

std::vector<int> choose(int k, int n, Generator& gen) {
  DL_CHECK(0 <= k && k <= n, "choose", std::to_string(k) + " distinct values from " + std::to_string(n));
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  for (int i = 0; i < k; ++i) std::swap(all[i], all[gen.randint(i, n)]);  // partial Fisher-Yates
  all.resize(k);
  return all;
}

void check_size(const std::string& task, const std::string& what, int64_t n, int64_t min) {
  DL_CHECK(n >= min, "make_task", task + ": " + what + " size " + std::to_string(n) +
                                      " must be at least " + std::to_string(min));
}

bool UniqueKeys::insert(std::string key) {
  // Far more repeats in a row than any task with room left would ever produce.
  constexpr int64_t kMaxRepeats = 100000;
  if (keys_.insert(std::move(key)).second) {
    repeats_ = 0;
    return true;
  }
  DL_CHECK(++repeats_ < kMaxRepeats, "make_task",
           task_ + ": ran out of distinct examples after " + std::to_string(keys_.size()) +
               " (the requested sizes are larger than the task allows)");
  return false;
}

template <class T>
static Tensor dense(const std::vector<T>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  DL_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "make_tensor",
           std::to_string(values.size()) + " values do not fill shape " + shape_str(shape));
  std::copy(values.begin(), values.end(), static_cast<T*>(t.raw_data()));  // memcpy(null, ...) is UB
  return t;
}

Tensor make_tensor(const std::vector<float>& values, const Shape& shape) { return dense(values, shape); }
Tensor make_tensor(const std::vector<int32_t>& values, const Shape& shape) { return dense(values, shape); }

}  // namespace dl::tasks
