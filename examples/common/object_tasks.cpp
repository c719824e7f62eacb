#include "examples/common/object_tasks.h"

#include <algorithm>
#include <array>
#include <numeric>

namespace dl::tasks {

// n vectors from N(0, I_dim).
static std::vector<std::vector<float>> normal_vectors(int n, int dim, Generator& gen) {
  std::vector<std::vector<float>> v(n, std::vector<float>(dim));
  for (auto& row : v)
    for (float& e : row) e = static_cast<float>(gen.normal());
  return v;
}

static void append(std::vector<float>& out, const std::vector<float>& v) { out.insert(out.end(), v.begin(), v.end()); }

// ---- object sorting ----

SortingWorld sorting_world(uint64_t seed, const SortingConfig& cfg) {
  DL_CHECK(cfg.n_a >= 1 && cfg.n_b >= 1 && cfg.dim_a >= 1 && cfg.dim_b >= 1, "sorting_world",
           "attribute counts and dimensions must be positive");
  Generator gen = split_generator(seed, Stream::World);
  const auto a = normal_vectors(cfg.n_a, cfg.dim_a, gen), b = normal_vectors(cfg.n_b, cfg.dim_b, gen);
  SortingWorld w;
  for (int i = 0; i < cfg.n_a; ++i)
    for (int j = 0; j < cfg.n_b; ++j) {
      w.objects.push_back(a[i]);
      append(w.objects.back(), b[j]);
    }
  w.rank_a = choose(cfg.n_a, cfg.n_a, gen);
  w.rank_b = choose(cfg.n_b, cfg.n_b, gen);
  w.n_b = cfg.n_b;
  return w;
}

std::vector<int32_t> argsort(const std::vector<int>& keys) {
  std::vector<int32_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t i, int32_t j) { return keys[i] < keys[j]; });
  return order;
}

TaskData object_sorting(const Sizes& sizes, uint64_t seed, const SortingConfig& cfg) {
  const std::string name = "sorting";
  check_size(name, "train", sizes.train, 1);
  check_size(name, "val", sizes.val);
  check_size(name, "test", sizes.test);
  const SortingWorld world = sorting_world(seed, cfg);
  const int n_objects = static_cast<int>(world.objects.size()), L = cfg.length;
  const int64_t D = cfg.dim_a + cfg.dim_b;
  DL_CHECK(L >= 1 && L <= n_objects, "make_task",
           name + ": length " + std::to_string(L) + " must be in [1, " + std::to_string(n_objects) + "]");
  UniqueKeys seen(name);
  auto draw = [&](int64_t n, Stream stream) {
    Generator gen = split_generator(seed, stream);
    std::vector<float> x;  // (N, L, D)
    std::vector<int32_t> y;  // (N, L)
    x.reserve(n * L * D);
    y.reserve(n * L);
    for (int64_t i = 0; i < n; ++i) {
      std::vector<int> sequence;
      do sequence = choose(L, n_objects, gen);
      while (!seen.insert(UniqueKeys::key(sequence.data(), sequence.size())));
      std::vector<int> ranks;
      for (int id : sequence) {
        append(x, world.objects[id]);
        ranks.push_back(world.rank(id));
      }
      const std::vector<int32_t> target = argsort(ranks);
      y.insert(y.end(), target.begin(), target.end());
    }
    return Split{make_tensor(x, {n, L, D}), make_tensor(y, {n, L})};
  };
  TaskData data;
  data.test = draw(sizes.test, Stream::Test);
  data.val = draw(sizes.val, Stream::Val);
  data.train = draw(sizes.train, Stream::Train);
  return data;
}

// ---- pairwise order ----

PairwiseWorld pairwise_world(uint64_t seed, const PairwiseConfig& cfg) {
  DL_CHECK(cfg.n_objects >= 2 && cfg.dim >= 1, "pairwise_world",
           "need at least 2 objects and a positive dimension, got " + std::to_string(cfg.n_objects) +
               " and " + std::to_string(cfg.dim));
  Generator gen = split_generator(seed, Stream::World);
  PairwiseWorld w;
  w.objects = normal_vectors(cfg.n_objects, cfg.dim, gen);
  w.rank = choose(cfg.n_objects, cfg.n_objects, gen);
  return w;
}

TaskData pairwise_order(const Sizes& sizes, uint64_t seed, const PairwiseConfig& cfg) {
  const std::string name = "pairwise_order";
  check_size(name, "train", sizes.train, 1);
  check_size(name, "val", sizes.val);
  check_size(name, "test", sizes.test);
  const PairwiseWorld world = pairwise_world(seed, cfg);
  std::vector<std::pair<int, int>> by_label[2];  // every ordered pair, by its label
  for (int i = 0; i < cfg.n_objects; ++i)
    for (int j = 0; j < cfg.n_objects; ++j)
      if (i != j) by_label[world.rank[i] < world.rank[j]].push_back({i, j});
  Generator part = split_generator(seed, Stream::Partition);
  for (auto& pairs : by_label) {
    std::vector<std::pair<int, int>> shuffled;
    for (int64_t k : epoch_order(static_cast<int64_t>(pairs.size()), part)) shuffled.push_back(pairs[k]);
    pairs = std::move(shuffled);
  }
  const Sizes share = fraction_sizes(static_cast<int64_t>(by_label[0].size()), 50, 15);  // per label
  // A split takes pairs [first, first + cap) of each label.
  auto draw = [&](int64_t n, int64_t first, int64_t cap, const std::string& what) {
    DL_CHECK(n <= 2 * cap, "make_task", name + ": " + what + " size " + std::to_string(n) +
                                            " is larger than the " + std::to_string(2 * cap) +
                                            " pairs of its split");
    std::vector<float> x;    // (N, 2, dim)
    std::vector<int32_t> y;  // (N)
    for (int64_t i = 0; i < n; ++i) {
      y.push_back(balanced_label(i));
      const auto [a, b] = by_label[y.back()][first + i / 2];
      append(x, world.objects[a]);
      append(x, world.objects[b]);
    }
    return Split{make_tensor(x, {n, 2, int64_t{cfg.dim}}), make_tensor(y, {n})};
  };
  TaskData data;
  data.train = draw(sizes.train, 0, share.train, "train");
  data.val = draw(sizes.val, share.train, share.val, "val");
  data.test = draw(sizes.test, share.train + share.val, share.test, "test");
  return data;
}

// ---- SET ----

int set_attribute(int card, int attribute) {
  DL_CHECK(card >= 0 && card < 81 && attribute >= 0 && attribute < 4, "set_attribute",
           "card " + std::to_string(card) + ", attribute " + std::to_string(attribute) + " out of range");
  for (int k = 0; k < attribute; ++k) card /= 3;
  return card % 3;
}

bool is_set(int a, int b, int c) {
  for (int k = 0; k < 4; ++k) {
    const int x = set_attribute(a, k), y = set_attribute(b, k), z = set_attribute(c, k);
    const bool all_equal = x == y && y == z, all_different = x != y && y != z && x != z;
    if (!all_equal && !all_different) return false;
  }
  return true;
}

std::vector<std::vector<float>> set_cards(uint64_t seed, const SetConfig& cfg) {
  DL_CHECK(cfg.dim >= 1, "set_cards", "dimension must be positive, got " + std::to_string(cfg.dim));
  Generator gen = split_generator(seed, Stream::World);
  std::vector<std::vector<std::vector<float>>> values;  // (4 attributes, 3 values, dim)
  for (int k = 0; k < 4; ++k) values.push_back(normal_vectors(3, cfg.dim, gen));
  std::vector<std::vector<float>> cards(81);
  for (int c = 0; c < 81; ++c)
    for (int k = 0; k < 4; ++k) append(cards[c], values[k][set_attribute(c, k)]);
  return cards;
}

TaskData set_game(const Sizes& sizes, uint64_t seed, const SetConfig& cfg) {
  const std::string name = "set";
  check_size(name, "train", sizes.train, 1);
  check_size(name, "val", sizes.val);
  check_size(name, "test", sizes.test);
  const auto cards = set_cards(seed, cfg);
  std::vector<std::array<int, 3>> sets;  // every SET as an increasing triple
  for (int a = 0; a < 81; ++a)
    for (int b = a + 1; b < 81; ++b)
      for (int c = b + 1; c < 81; ++c)
        if (is_set(a, b, c)) sets.push_back({a, b, c});
  Generator part = split_generator(seed, Stream::Partition);
  const std::vector<int> set_order = choose(static_cast<int>(sets.size()), static_cast<int>(sets.size()), part);
  const Sizes share = fraction_sizes(static_cast<int64_t>(sets.size()), 70, 10);
  static const int kOrders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  UniqueKeys seen(name);  // increasing triples of the non-SETs used so far
  // A split uses SETs set_order[first, first + n_sets), each in any of its 6 orders.
  auto draw = [&](int64_t n, int64_t first, int64_t n_sets, Stream stream, const std::string& what) {
    DL_CHECK(n / 2 <= 6 * n_sets, "make_task",
             name + ": " + what + " size " + std::to_string(n) + " needs " + std::to_string(n / 2) +
                 " SETs but its split has only " + std::to_string(6 * n_sets) + " (" +
                 std::to_string(n_sets) + " SETs in 6 orders)");
    Generator gen = split_generator(seed, stream);
    // Every (SET, order) of the split, shuffled in full so the later draws do not depend on n.
    const std::vector<int> ordered = choose(static_cast<int>(6 * n_sets), static_cast<int>(6 * n_sets), gen);
    std::vector<float> x;    // (N, 3, 4 * dim)
    std::vector<int32_t> y;  // (N)
    for (int64_t i = 0; i < n; ++i) {
      y.push_back(balanced_label(i));
      std::array<int, 3> triple;
      if (y.back()) {
        const int k = ordered[i / 2];
        const auto& set = sets[set_order[first + k / 6]];
        for (int j = 0; j < 3; ++j) triple[j] = set[kOrders[k % 6][j]];
      } else {
        std::array<int, 3> key;
        do {
          const std::vector<int> drawn = choose(3, 81, gen);
          std::copy(drawn.begin(), drawn.end(), triple.begin());
          key = triple;
          std::sort(key.begin(), key.end());
        } while (is_set(key[0], key[1], key[2]) || !seen.insert(UniqueKeys::key(key.data(), 3)));
      }
      for (int card : triple) append(x, cards[card]);
    }
    return Split{make_tensor(x, {n, 3, int64_t{4} * cfg.dim}), make_tensor(y, {n})};
  };
  TaskData data;
  data.test = draw(sizes.test, share.train + share.val, share.test, Stream::Test, "test");
  data.val = draw(sizes.val, share.train, share.val, Stream::Val, "val");
  data.train = draw(sizes.train, 0, share.train, Stream::Train, "train");
  return data;
}

}  // namespace dl::tasks
