// Datasets of the toy tasks (docs/tasks.md): the split structs every generator returns, the
// batching helpers the training programs use, and the small pieces the generators share.
//
// Conventions of every generator:
// - Deterministic from a seed. Each split draws from its own stream (split_generator), and the
//   test set is drawn first, then validation, then training, so the test set does not depend on
//   the training size, and a larger training set extends a smaller one (same seed, same val and
//   test sizes).
// - Binary labels alternate: example i has label i % 2 (balanced_label), so every split is
//   exactly 50/50 (an odd size has one more 0). Shuffle with epoch_order before batching.
// - No example appears in two splits (enforced with a set of keys, see UniqueKeys).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>
#include "autograd/random.h"

namespace dl::tasks {

// One split: inputs x with one example per row of axis 0, and targets y with the same rows.
struct Split {
  Tensor x;
  Tensor y;
  int64_t size() const { return x.size(0); }
};

// extra_tests holds held-out test sets, e.g. "hexomino" and "stripes" for relational games.
struct TaskData {
  Split train, val, test;
  std::map<std::string, Split> extra_tests;
};

struct Sizes {
  int64_t train = 0, val = 0, test = 0;
};

// Sizes of a pool of n examples split by percentages, e.g. (100000, 70, 10) -> 70000, 10000,
// 20000. The test set takes what the rounding leaves.
Sizes fraction_sizes(int64_t pool, int train_percent, int val_percent);

// ---- batching ----

// A random permutation of 0..n-1 (Fisher-Yates): the order in which one epoch visits the rows.
std::vector<int64_t> epoch_order(int64_t n, Generator& gen);

// Rows order[begin, end) of s copied into a new dense split (a batch).
Split gather_rows(const Split& s, const std::vector<int64_t>& order, int64_t begin, int64_t end);

// ---- shared by the generators ----

// World: what a seed fixes for every split (object vectors, hidden orders); Partition: how a finite
// set of examples is divided between the splits.
enum class Stream : uint64_t { World = 1, Partition, Test, Val, Train, ExtraA, ExtraB };

// An independent generator for one stream of one seed.
Generator split_generator(uint64_t seed, Stream stream);

inline int32_t balanced_label(int64_t i) { return static_cast<int32_t>(i % 2); }

// k distinct values from [0, n) in random order; choose(n, n, gen) is a random permutation.
std::vector<int> choose(int k, int n, Generator& gen);

// Checks a requested size; `what` names the split in the message ("make_task: occurs: ...").
void check_size(const std::string& task, const std::string& what, int64_t n, int64_t min = 0);

// The keys of all examples drawn so far. insert() returns false on a repeat; after many repeats
// in a row the task has run out of new examples, and it throws an error naming the task.
class UniqueKeys {
 public:
  explicit UniqueKeys(std::string task) : task_(std::move(task)) {}
  bool insert(std::string key);

  template <class T>
  static std::string key(const T* values, std::size_t n) {
    return std::string(reinterpret_cast<const char*>(values), n * sizeof(T));
  }

 private:
  std::string task_;
  std::unordered_set<std::string> keys_;
  int64_t repeats_ = 0;
};

// Dense tensors of the given shape from row-major values (float32 or int32).
Tensor make_tensor(const std::vector<float>& values, const Shape& shape);
Tensor make_tensor(const std::vector<int32_t>& values, const Shape& shape);

}  // namespace dl::tasks
