// Tasks on abstract objects given as random feature vectors (docs/tasks.md: sorting, pairwise order, SET): the
// model must learn relations (order, equality of attributes) from features alone.
//
// Each seed fixes a "world" (the object vectors and the hidden order), drawn from its own
// stream; the splits are drawn as described in dataset.h.
#pragma once
#include <vector>
#include "examples/common/dataset.h"

namespace dl::tasks {

// ---- object sorting (Abstractor) ----
// Objects are pairs (a, b) of attribute values, id a * n_b + b, represented by the
// concatenation of the values' vectors. The order is lexicographic, A first, under hidden random
// orders of each attribute's values. Input: a sequence of `length` distinct objects; target: its
// argsort, for an encoder-decoder whose start token is sorting_start_token.

struct SortingConfig {
  int n_a = 4, dim_a = 4;   // attribute A: values, each a fixed vector from N(0, I_dim_a)
  int n_b = 12, dim_b = 8;  // attribute B
  int length = 10;          // objects per sequence
};

struct SortingWorld {
  std::vector<std::vector<float>> objects;  // (n_a * n_b, dim_a + dim_b)
  std::vector<int> rank_a, rank_b;          // each value's place in its attribute's hidden order
  int n_b;
  int rank(int object) const { return rank_a[object / n_b] * n_b + rank_b[object % n_b]; }
};
SortingWorld sorting_world(uint64_t seed, const SortingConfig& cfg = {});

// out[k] = index in keys of the k-th smallest key (ties keep their input order).
std::vector<int32_t> argsort(const std::vector<int>& keys);

inline int32_t sorting_start_token(const SortingConfig& cfg) { return cfg.length; }

// x: (N, length, dim_a + dim_b) float32; y: (N, length) int32, the argsort of each sequence.
// No sequence appears twice. Paper sizes: fraction_sizes(100000, 70, 10).
TaskData object_sorting(const Sizes& sizes, uint64_t seed, const SortingConfig& cfg = {});

// ---- pairwise order (Abstractor) ----
// n_objects random vectors with a hidden total order; every ordered pair of distinct objects is
// an example, labelled 1 when the first precedes the second. The pairs of each label are split
// 50/15/35 into train/val/test, so the test pairs are never seen in training.

struct PairwiseConfig {
  int n_objects = 32, dim = 8;
};

struct PairwiseWorld {
  std::vector<std::vector<float>> objects;  // (n_objects, dim)
  std::vector<int> rank;                    // hidden place of each object in the order
};
PairwiseWorld pairwise_world(uint64_t seed, const PairwiseConfig& cfg = {});

// x: (N, 2, dim) float32; y: (N) int32. Each split holds at most its share of each label's
// n(n-1)/2 pairs: with 32 objects, train <= 496, val <= 148, test <= 348.
TaskData pairwise_order(const Sizes& sizes, uint64_t seed, const PairwiseConfig& cfg = {});

// ---- SET ----
// 81 cards; card c has 4 attributes whose values are the base-3 digits of c. A card's vector is
// the concatenation of 4 fixed random vectors from N(0, I_dim), one per (attribute, value).
// Three distinct cards form a SET when every attribute is all equal or all different on them.
// The 1080 SETs (as unordered triples) are split 70/10/20, and each split uses only its own
// SETs, in any of their 6 orders; non-SETs are random triples, and no unordered triple is in two
// splits. A split of n examples needs n / 2 ordered SETs, of which train has 6 * 756 = 4536,
// val 648 and test 1296.

struct SetConfig {
  int dim = 8;  // per attribute value; a card vector has 4 * dim entries
};

int set_attribute(int card, int attribute);  // the value (0, 1, 2) of attribute 0..3
bool is_set(int a, int b, int c);

std::vector<std::vector<float>> set_cards(uint64_t seed, const SetConfig& cfg = {});  // (81, 4 * dim)

// x: (N, 3, 4 * dim) float32; y: (N) int32, 1 for a SET. Paper sizes: fraction_sizes(10000, 70, 10).
TaskData set_game(const Sizes& sizes, uint64_t seed, const SetConfig& cfg = {});

}  // namespace dl::tasks
