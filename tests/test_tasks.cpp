// The toy task generators (examples/common): shapes, rules on hand-built cases, and the
// properties every dataset must have (determinism, exact balance, labels that follow the rule,
// disjoint splits).
#include "tests/testing.h"

#include <map>
#include <set>
#include <tuple>
#include "examples/common/object_tasks.h"
#include "examples/common/relational_games.h"
#include "examples/common/sequence_tasks.h"
#include "examples/common/tasks.h"

using namespace dl;
using namespace dl::tasks;

namespace {

std::string bytes(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw_data()), t.numel() * dtype_size(t.dtype()));
}

// The bytes of row i of a contiguous tensor.
std::string row_bytes(const Tensor& t, int64_t i) {
  const int64_t row = t.numel() / t.size(0) * dtype_size(t.dtype());
  return std::string(static_cast<const char*>(t.raw_data()) + i * row, row);
}

std::set<std::string> rows_of(const Split& s) {
  std::set<std::string> rows;
  for (int64_t i = 0; i < s.size(); ++i) rows.insert(row_bytes(s.x, i));
  return rows;
}

bool disjoint(const std::set<std::string>& a, const std::set<std::string>& b) {
  for (const std::string& r : a)
    if (b.count(r)) return false;
  return true;
}

int64_t count_ones(const Split& s) {
  int64_t n = 0;
  for (double v : s.y.to_vector()) n += v == 1.0;
  return n;
}

// Exactly half 1 (an odd size has one more 0), and nothing but 0 and 1.
void require_balanced(const Split& s) {
  for (double v : s.y.to_vector()) REQUIRE((v == 0.0 || v == 1.0));
  REQUIRE(count_ones(s) == s.size() / 2);
}

void require_same_data(const TaskData& a, const TaskData& b) {
  const std::pair<const Split*, const Split*> splits[] = {{&a.train, &b.train}, {&a.val, &b.val}, {&a.test, &b.test}};
  for (auto [p, q] : splits) {
    REQUIRE(bytes(p->x) == bytes(q->x));
    REQUIRE(bytes(p->y) == bytes(q->y));
  }
}

// The 8 symmetries of the square applied to a shape, each normalised.
std::set<Cells> orientations(const Cells& s) {
  std::set<Cells> out;
  for (int k = 0; k < 8; ++k) {
    Cells t;
    for (auto [r, c] : s) {
      int rr = r, cc = k & 4 ? -c : c;
      for (int q = 0; q < (k & 3); ++q) std::tie(rr, cc) = std::pair{cc, -rr};
      t.push_back({rr, cc});
    }
    int r0 = t[0].first, c0 = t[0].second;
    for (auto [r, c] : t) r0 = std::min(r0, r), c0 = std::min(c0, c);
    for (auto& [r, c] : t) r -= r0, c -= c0;
    std::sort(t.begin(), t.end());
    out.insert(t);
  }
  return out;
}

bool connected(const Cells& s) {
  std::set<std::pair<int, int>> left(s.begin(), s.end()), frontier = {s[0]};
  left.erase(s[0]);
  while (!frontier.empty()) {
    auto [r, c] = *frontier.begin();
    frontier.erase(frontier.begin());
    const std::pair<int, int> next[] = {{r + 1, c}, {r - 1, c}, {r, c + 1}, {r, c - 1}};
    for (auto n : next)
      if (left.erase(n)) frontier.insert(n);
  }
  return left.empty();
}

int n_free(const std::vector<Cells>& shapes) {
  std::set<Cells> canonical;
  for (const Cells& s : shapes) canonical.insert(*orientations(s).begin());
  return static_cast<int>(canonical.size());
}

// Reads the objects back from the pixels of row i; fails if a cell is not an object of the set.
Scene decode(const Split& s, int64_t i, const ObjectSet& objects) {
  std::map<std::string, int> id_of;
  const int64_t token = int64_t{objects.patch} * objects.patch * 3;
  std::vector<float> pixels(token);
  for (int id = 0; id < objects.size(); ++id) {
    objects.render(id, pixels.data());
    id_of[std::string(reinterpret_cast<const char*>(pixels.data()), token * 4)] = id;
  }
  const std::string row = row_bytes(s.x, i), empty(token * 4, '\0');
  Scene scene;
  for (int c = 0; c < 9; ++c) {
    const std::string cell = row.substr(c * token * 4, token * 4);
    if (cell == empty) {
      scene[c] = kEmpty;
      continue;
    }
    REQUIRE(id_of.count(cell));
    scene[c] = id_of[cell];
  }
  return scene;
}

int n_objects(const Scene& s) {
  return static_cast<int>(std::count_if(s.begin(), s.end(), [](int id) { return id != kEmpty; }));
}

// The layout of docs/tasks.md's table for each task.
void require_layout(RelationalTask task, const Scene& s) {
  auto in_row = [&](int r) { return n_objects(Scene{s[3 * r], s[3 * r + 1], s[3 * r + 2], -1, -1, -1, -1, -1, -1}); };
  switch (task) {
    case RelationalTask::Same: REQUIRE(n_objects(s) == 3); break;
    case RelationalTask::Between: REQUIRE(n_objects(s) == 3); break;  // the line: relational_label throws otherwise
    case RelationalTask::Occurs: REQUIRE((in_row(0) == 1 && in_row(1) == 0 && in_row(2) == 3)); break;
    case RelationalTask::XOccurs: REQUIRE((in_row(0) == 3 && in_row(1) == 0 && in_row(2) == 1)); break;
    case RelationalTask::MatchPattern: REQUIRE((in_row(0) == 3 && in_row(1) == 0 && in_row(2) == 3)); break;
  }
}

const RelationalTask kRelational[] = {RelationalTask::Same, RelationalTask::Between, RelationalTask::Occurs,
                                      RelationalTask::XOccurs, RelationalTask::MatchPattern};

}  // namespace

TEST_CASE("shapes: pentominoes, hexominoes and stripes", "[tasks]") {
  const std::vector<Cells> pento = fixed_polyominoes(5, 6), hexo = fixed_polyominoes(6, 6), stripes = stripe_shapes(6);
  REQUIRE(pento.size() == 63);
  REQUIRE(hexo.size() == 216);
  REQUIRE(n_free(pento) == 12);
  REQUIRE(n_free(hexo) == 35);
  REQUIRE(stripes.size() == 12);
  REQUIRE(fixed_polyominoes(6, 5).size() == 214);  // the two straight hexominoes do not fit
  // original: those that fit a box of 3 x 3 squares
  const std::vector<Cells> pento3 = fixed_polyominoes(5, 3), hexo3 = fixed_polyominoes(6, 3);
  REQUIRE(pento3.size() == 37);  // F, P, T, U, V, W, X, Z in every orientation
  REQUIRE(n_free(pento3) == 8);
  REQUIRE(hexo3.size() == 46);
  const std::pair<const std::vector<Cells>*, int> polyominoes[] = {{&pento, 5}, {&hexo, 6}, {&pento3, 5}, {&hexo3, 6}};
  for (auto [shapes, cells] : polyominoes)
    for (const Cells& s : *shapes) {
      REQUIRE(static_cast<int>(s.size()) == cells);
      REQUIRE(connected(s));
      for (const Cells& t : orientations(s))  // closed under rotation and reflection
        REQUIRE(std::find(shapes->begin(), shapes->end(), t) != shapes->end());
    }
  const std::set<Cells> training(pento.begin(), pento.end());
  std::set<Cells> held_out;
  for (const auto* shapes : {&hexo, &stripes})
    for (const Cells& s : *shapes) {
      REQUIRE(training.count(s) == 0);
      REQUIRE(held_out.insert(s).second);  // no shape twice, nor in both held-out sets
    }
  for (const auto* shapes : {&pento, &hexo, &stripes})
    for (const Cells& s : *shapes)
      for (auto [r, c] : s) REQUIRE((0 <= r && r < 6 && 0 <= c && c < 6));
  REQUIRE(stripes[0] == Cells{{0, 0}, {0, 2}, {0, 4}});  // horizontal on-off dashes
  const std::vector<Cells> squares = striped_squares();
  REQUIRE(squares.size() == 6);
  for (const Cells& s : squares) {  // each covers part of the 9 x 9 square, touching all four sides
    REQUIRE((s.size() > 9 && s.size() < 81));
    int h = 0, w = 0;
    for (auto [r, c] : s) h = std::max(h, r + 1), w = std::max(w, c + 1);
    REQUIRE((h == 9 && w == 9 && s.front() == std::pair{0, 0}));
  }
}

TEST_CASE("relational games: the two palettes", "[tasks]") {
  const std::vector<Rgb>& low = palette(Images::Original);
  REQUIRE(low.size() == 25);
  std::set<std::tuple<float, float, float>> distinct;
  for (Rgb c : low) {
    for (float v : {c.r, c.g, c.b})
      REQUIRE((v == 64 / 255.0f || v == 144 / 255.0f || v == 192 / 255.0f));
    distinct.insert({c.r, c.g, c.b});
  }
  REQUIRE(distinct.size() == 25);
  REQUIRE(palette(Images::Compact).size() == 8);
  REQUIRE(images_named("compact") == Images::Compact);
  REQUIRE(std::string(images_name(Images::Original)) == "original");
  REQUIRE_THROWS_WITH(images_named("tiny"), Catch::Contains("'tiny'") && Catch::Contains("original, compact"));
}

TEST_CASE("relational games: objects are drawn centred in their colour", "[tasks]") {
  const ObjectSet set = object_set("pentomino", Images::Compact);
  REQUIRE(set.size() == 63 * 8);
  std::vector<float> px(6 * 6 * 3);
  const int n_colours = static_cast<int>(set.colours.size());
  // the straight pentomino lying flat, in colour 2 (blue): row 2 (centred in 6), columns 0-4
  const auto flat = std::find(set.shapes.begin(), set.shapes.end(), Cells{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}});
  REQUIRE(flat != set.shapes.end());
  set.render(static_cast<int>(flat - set.shapes.begin()) * n_colours + 2, px.data());
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) {
      const bool on = r == 2 && c < 5;
      REQUIRE(px[(r * 6 + c) * 3 + 0] == 0.0f);
      REQUIRE(px[(r * 6 + c) * 3 + 2] == (on ? 1.0f : 0.0f));
    }
  REQUIRE_THROWS_WITH(object_set("circles", Images::Original), Catch::Contains("object_set") && Catch::Contains("circles"));
}

TEST_CASE("relational games, original: 3 x 3-pixel squares in a 12 x 12 cell; stripes in two colours", "[tasks]") {
  const ObjectSet set = object_set("pentomino", Images::Original);
  REQUIRE(set.size() == 37 * 25);
  REQUIRE((set.patch == 12 && set.square == 3));
  std::vector<float> px(12 * 12 * 3);
  // the plus (X pentomino) in colour 0: squares (0,1) (1,0) (1,1) (1,2) (2,1) of a 9 x 9 box at
  // pixel offset 1 (centred in 12: (12 - 9) / 2)
  const Cells plus{{0, 1}, {1, 0}, {1, 1}, {1, 2}, {2, 1}};
  const auto it = std::find(set.shapes.begin(), set.shapes.end(), plus);
  REQUIRE(it != set.shapes.end());
  set.render(static_cast<int>(it - set.shapes.begin()) * 25, px.data());
  const Rgb colour = set.colours[0];
  int lit = 0;
  for (int r = 0; r < 12; ++r)
    for (int c = 0; c < 12; ++c) {
      const int sr = (r - 1) / 3, sc = (c - 1) / 3;
      const bool on = r >= 1 && c >= 1 && r < 10 && c < 10 &&
                      std::find(plus.begin(), plus.end(), std::pair{sr, sc}) != plus.end();
      lit += on;
      REQUIRE(px[(r * 12 + c) * 3 + 0] == (on ? colour.r : 0.0f));
      REQUIRE(px[(r * 12 + c) * 3 + 2] == (on ? colour.b : 0.0f));
    }
  REQUIRE(lit == 45);  // 5 squares of 9 pixels
  // a striped square: 81 lit pixels, in the object's colour and the next one
  const ObjectSet stripes = object_set("stripes", Images::Original);
  REQUIRE(stripes.size() == 6 * 25);
  stripes.render(3, px.data());  // pattern 0 (rows of 1 pixel), colour 3; the rest in colour 4
  for (int r = 0; r < 12; ++r)
    for (int c = 0; c < 12; ++c) {
      const bool inside = r >= 1 && c >= 1 && r < 10 && c < 10;
      const Rgb want = !inside ? Rgb{0, 0, 0} : (r - 1) % 2 == 0 ? stripes.colours[3] : stripes.colours[4];
      REQUIRE(px[(r * 12 + c) * 3 + 0] == want.r);
      REQUIRE(px[(r * 12 + c) * 3 + 1] == want.g);
      REQUIRE(px[(r * 12 + c) * 3 + 2] == want.b);
    }
}

TEST_CASE("relational games: the rules on hand-built scenes", "[tasks]") {
  const int A = 7, B = 11, C = 12, _ = kEmpty;
  using T = RelationalTask;
  REQUIRE(relational_label(T::Same, {A, _, _, _, B, _, _, _, A}) == 1);
  REQUIRE(relational_label(T::Same, {A, _, _, _, B, _, C, _, _}) == 0);
  REQUIRE(relational_label(T::Same, {_, B, B, _, _, B, _, _, _}) == 1);
  REQUIRE(relational_label(T::Between, {_, A, _, _, B, _, _, A, _}) == 1);  // column 1
  REQUIRE(relational_label(T::Between, {_, _, _, A, A, B, _, _, _}) == 0);  // row 1, outer A != B
  REQUIRE(relational_label(T::Between, {A, B, A, _, _, _, _, _, _}) == 1);
  REQUIRE(relational_label(T::Between, {A, _, _, _, B, _, _, _, A}) == 1);  // the diagonal
  REQUIRE(relational_label(T::Between, {_, _, A, _, B, _, C, _, _}) == 0);  // the anti-diagonal
  REQUIRE_THROWS_WITH(relational_label(T::Between, {A, _, _, _, _, A, _, _, A}), Catch::Contains("between"));
  REQUIRE(relational_label(T::Occurs, {_, _, A, _, _, _, B, C, A}) == 1);  // present
  REQUIRE(relational_label(T::Occurs, {_, _, A, _, _, _, B, C, B}) == 0);  // absent
  REQUIRE(relational_label(T::XOccurs, {B, A, C, _, _, _, _, A, _}) == 1);
  REQUIRE(relational_label(T::XOccurs, {A, B, A, _, _, _, _, A, _}) == 0);  // twice
  REQUIRE(relational_label(T::XOccurs, {B, C, B, _, _, _, A, _, _}) == 0);  // never
  REQUIRE(relational_label(T::MatchPattern, {A, B, A, _, _, _, C, B, C}) == 1);  // ABA, ABA
  REQUIRE(relational_label(T::MatchPattern, {A, A, B, _, _, _, C, C, C}) == 0);  // AAB, AAA
  REQUIRE(relational_label(T::MatchPattern, {A, B, C, _, _, _, C, B, A}) == 1);  // ABC, ABC
  REQUIRE(relational_label(T::MatchPattern, {A, B, B, _, _, _, C, A, C}) == 0);  // ABB, ABA
}

TEST_CASE("relational games: datasets follow the rule, balanced, disjoint, deterministic", "[tasks]") {
  const Sizes sizes{60, 40, 41};
  for (Images images : {Images::Original, Images::Compact}) {
    const ObjectSet pento = object_set("pentomino", images);
    const int64_t token = int64_t{pento.patch} * pento.patch * 3;
    REQUIRE(token == (images == Images::Original ? 432 : 108));
    for (RelationalTask task : kRelational) {
      INFO(relational_task_name(task) << ", " << images_name(images));
      const TaskData d = relational_games(task, sizes, 5, {images});
      REQUIRE(d.train.x.shape() == Shape{60, 9, token});
      REQUIRE(d.train.y.shape() == Shape{60});
      REQUIRE(d.train.y.dtype() == DType::I32);
      REQUIRE(d.test.size() == 41);
      for (const Split* s : {&d.train, &d.val, &d.test}) {
        require_balanced(*s);
        for (int64_t i = 0; i < s->size(); ++i) {
          const Scene scene = decode(*s, i, pento);
          require_layout(task, scene);
          REQUIRE(relational_label(task, scene) == s->y.at({i}));
        }
      }
      // the held-out sets are drawn only from their own shapes, and follow the rule too
      for (const char* name : {"hexomino", "stripes"}) {
        const Split& s = d.extra_tests.at(name);
        REQUIRE(s.size() == 41);
        require_balanced(s);
        for (int64_t i = 0; i < s.size(); ++i)
          REQUIRE(relational_label(task, decode(s, i, object_set(name, images))) == s.y.at({i}));
      }
      const auto train = rows_of(d.train), val = rows_of(d.val), test = rows_of(d.test);
      REQUIRE(train.size() == 60);  // no image twice
      REQUIRE(disjoint(train, val));
      REQUIRE(disjoint(train, test));
      REQUIRE(disjoint(val, test));
      require_same_data(d, relational_games(task, sizes, 5, {images}));
      REQUIRE(bytes(d.train.x) != bytes(relational_games(task, sizes, 6, {images}).train.x));
    }
  }
}

TEST_CASE("relational games, original: held-out objects never appear in training", "[tasks]") {
  const TaskData d = relational_games(RelationalTask::Same, {300, 10, 100}, 2);
  const int64_t token = 12 * 12 * 3;
  std::set<std::string> trained;  // every non-empty cell of the training images
  const std::string empty(token * 4, '\0');
  auto cells_of = [&](const Split& s) {
    std::set<std::string> cells;
    for (int64_t i = 0; i < s.size(); ++i)
      for (int c = 0; c < 9; ++c) {
        const std::string cell = row_bytes(s.x, i).substr(c * token * 4, token * 4);
        if (cell != empty) cells.insert(cell);
      }
    return cells;
  };
  trained = cells_of(d.train);
  REQUIRE(trained.size() > 100);
  for (const char* name : {"hexomino", "stripes"}) {
    INFO(name);
    const std::set<std::string> held = cells_of(d.extra_tests.at(name));
    REQUIRE(held.size() > 50);
    REQUIRE(disjoint(trained, held));
  }
}

TEST_CASE("relational games, original between: diagonals, ABA positives, distinct negatives", "[tasks]") {
  Generator gen(3);
  const int n = 37 * 25, draws = 3200;
  int diagonal = 0;
  for (int i = 0; i < draws; ++i) {
    const int32_t label = i % 2;
    const Scene s = sample_scene(RelationalTask::Between, label, n, gen);
    REQUIRE(relational_label(RelationalTask::Between, s) == label);
    std::vector<int> line;  // the three objects in line order (cells ascending are in line order)
    for (int id : s)
      if (id != kEmpty) line.push_back(id);
    REQUIRE(line.size() == 3);
    REQUIRE(line[1] != line[0]);  // the middle always differs
    REQUIRE(line[1] != line[2]);
    if (!label) REQUIRE(line[0] != line[2]);  // negatives: three distinct objects
    diagonal += s[4] != kEmpty && ((s[0] != kEmpty && s[8] != kEmpty) || (s[2] != kEmpty && s[6] != kEmpty));
  }
  // 5 / 16 of the layouts: 1000 expected, standard deviation about 26
  REQUIRE((diagonal > 850 && diagonal < 1150));
  // compact: rows and columns only
  for (int i = 0; i < 200; ++i) {
    const Scene s = sample_scene(RelationalTask::Between, i % 2, 63 * 8, gen, Images::Compact);
    const bool diag = s[4] != kEmpty && ((s[0] != kEmpty && s[8] != kEmpty) || (s[2] != kEmpty && s[6] != kEmpty));
    REQUIRE(!diag);
  }
}

TEST_CASE("every task: the test set does not depend on the training size", "[tasks]") {
  for (const std::string& name : task_names()) {
    INFO(name);
    const TaskData small = make_task(name, {30, 20, 20}, 1), large = make_task(name, {50, 20, 20}, 1);
    REQUIRE(bytes(small.test.x) == bytes(large.test.x));
    REQUIRE(bytes(small.val.x) == bytes(large.val.x));
    // a larger training set extends a smaller one
    REQUIRE(bytes(small.train.x) == bytes(large.train.x).substr(0, bytes(small.train.x).size()));
    REQUIRE(bytes(small.train.y) == bytes(large.train.y).substr(0, bytes(small.train.y).size()));
    for (const auto& [held_out, split] : small.extra_tests)
      REQUIRE(bytes(split.x) == bytes(large.extra_tests.at(held_out).x));
  }
}

TEST_CASE("object sorting: argsort targets under a lexicographic hidden order", "[tasks]") {
  REQUIRE(argsort({30, 10, 20, 5}) == std::vector<int32_t>{3, 1, 2, 0});
  const SortingConfig cfg;
  const SortingWorld w = sorting_world(3, cfg);
  REQUIRE(w.objects.size() == 48);
  REQUIRE(w.objects[0].size() == 12);
  // values first and last in each attribute's hidden order
  auto value_at = [](const std::vector<int>& rank, int place) {
    return static_cast<int>(std::find(rank.begin(), rank.end(), place) - rank.begin());
  };
  const int a_lo = value_at(w.rank_a, 0), a_hi = value_at(w.rank_a, 3);
  const int b_lo = value_at(w.rank_b, 0), b_hi = value_at(w.rank_b, 11);
  auto object = [&](int a, int b) { return a * cfg.n_b + b; };
  // A is the primary key: (a_lo, b_hi) precedes (a_hi, b_lo)
  const std::vector<int> sequence = {object(a_hi, b_lo), object(a_lo, b_hi), object(a_lo, b_lo), object(a_hi, b_hi)};
  std::vector<int> ranks;
  for (int id : sequence) ranks.push_back(w.rank(id));
  REQUIRE(argsort(ranks) == std::vector<int32_t>{2, 1, 0, 3});

  const TaskData d = object_sorting({50, 20, 30}, 3);
  REQUIRE(d.train.x.shape() == Shape{50, 10, 12});
  REQUIRE(d.train.y.shape() == Shape{50, 10});
  std::map<std::string, int> id_of;
  for (int id = 0; id < 48; ++id)
    id_of[std::string(reinterpret_cast<const char*>(w.objects[id].data()), 12 * 4)] = id;
  std::set<std::vector<int>> seen;
  for (const Split* s : {&d.train, &d.val, &d.test})
    for (int64_t i = 0; i < s->size(); ++i) {
      const std::string row = row_bytes(s->x, i);
      std::vector<int> ids, keys;
      for (int k = 0; k < 10; ++k) {
        REQUIRE(id_of.count(row.substr(k * 48, 48)));
        ids.push_back(id_of[row.substr(k * 48, 48)]);
        keys.push_back(w.rank(ids.back()));
      }
      REQUIRE(std::set<int>(ids.begin(), ids.end()).size() == 10);  // distinct objects
      REQUIRE(seen.insert(ids).second);                             // no sequence in two places
      const std::vector<int32_t> target = argsort(keys);
      for (int k = 0; k < 10; ++k) REQUIRE(s->y.at({i, k}) == target[k]);
    }
  require_same_data(d, object_sorting({50, 20, 30}, 3));
  REQUIRE(bytes(d.train.x) != bytes(object_sorting({50, 20, 30}, 4).train.x));
  const Sizes paper = default_sizes("sorting");
  REQUIRE((paper.train == 70000 && paper.val == 10000 && paper.test == 20000));
}

TEST_CASE("pairwise order: labels follow the hidden order, pairs split 50/15/35", "[tasks]") {
  const PairwiseWorld w = pairwise_world(9);
  const TaskData d = make_task("pairwise_order", default_sizes("pairwise_order"), 9);
  REQUIRE(d.train.size() == 496);
  REQUIRE(d.val.size() == 148);
  REQUIRE(d.test.size() == 348);
  REQUIRE(d.train.x.shape() == Shape{496, 2, 8});
  std::map<std::string, int> id_of;
  for (int id = 0; id < 32; ++id) id_of[std::string(reinterpret_cast<const char*>(w.objects[id].data()), 32)] = id;
  std::set<std::pair<int, int>> pairs;
  for (const Split* s : {&d.train, &d.val, &d.test}) {
    require_balanced(*s);
    for (int64_t i = 0; i < s->size(); ++i) {
      const std::string row = row_bytes(s->x, i);
      const int a = id_of.at(row.substr(0, 32)), b = id_of.at(row.substr(32, 32));
      REQUIRE(a != b);
      REQUIRE(pairs.insert({a, b}).second);  // every ordered pair at most once, in one split
      REQUIRE(s->y.at({i}) == (w.rank[a] < w.rank[b] ? 1 : 0));
    }
  }
  REQUIRE(pairs.size() == 992);
  require_balanced(pairwise_order({495, 10, 10}, 9).train);
  require_same_data(d, make_task("pairwise_order", default_sizes("pairwise_order"), 9));
  REQUIRE(bytes(d.train.x) != bytes(pairwise_order({496, 148, 348}, 10).train.x));
  REQUIRE_THROWS_WITH(pairwise_order({497, 10, 10}, 9),
                      Catch::Contains("pairwise_order") && Catch::Contains("497") && Catch::Contains("496"));
}

TEST_CASE("SET: the rule, half SETs, no triple in two splits", "[tasks]") {
  auto card = [](int a0, int a1, int a2, int a3) { return a0 + 3 * a1 + 9 * a2 + 27 * a3; };
  REQUIRE(set_attribute(card(2, 0, 1, 2), 3) == 2);
  REQUIRE(is_set(card(0, 0, 0, 0), card(1, 1, 1, 1), card(2, 2, 2, 2)));  // all different
  REQUIRE(is_set(card(0, 1, 2, 0), card(1, 1, 2, 1), card(2, 1, 2, 2)));  // mixed
  REQUIRE_FALSE(is_set(card(0, 0, 0, 0), card(0, 0, 0, 1), card(0, 0, 1, 2)));
  REQUIRE_FALSE(is_set(card(0, 1, 2, 0), card(1, 1, 2, 1), card(2, 1, 2, 1)));
  int n_sets = 0;
  for (int a = 0; a < 81; ++a)
    for (int b = a + 1; b < 81; ++b)
      for (int c = b + 1; c < 81; ++c) n_sets += is_set(a, b, c);
  REQUIRE(n_sets == 1080);

  const auto cards = set_cards(2);
  REQUIRE(cards.size() == 81);
  REQUIRE(cards[0].size() == 32);
  // cards sharing an attribute value share that quarter of their vector
  REQUIRE(std::equal(cards[card(0, 1, 2, 0)].begin() + 8, cards[card(0, 1, 2, 0)].begin() + 16,
                     cards[card(2, 1, 0, 2)].begin() + 8));
  std::map<std::string, int> id_of;
  for (int c = 0; c < 81; ++c) id_of[std::string(reinterpret_cast<const char*>(cards[c].data()), 32 * 4)] = c;
  const TaskData d = set_game({400, 101, 200}, 2);
  REQUIRE(d.train.x.shape() == Shape{400, 3, 32});
  std::map<std::set<int>, const Split*> split_of;
  for (const Split* s : {&d.train, &d.val, &d.test}) {
    require_balanced(*s);
    for (int64_t i = 0; i < s->size(); ++i) {
      const std::string row = row_bytes(s->x, i);
      int c[3];
      for (int k = 0; k < 3; ++k) c[k] = id_of.at(row.substr(k * 128, 128));
      REQUIRE(s->y.at({i}) == (is_set(c[0], c[1], c[2]) ? 1 : 0));
      const std::set<int> triple(c, c + 3);
      REQUIRE(triple.size() == 3);
      REQUIRE(split_of.emplace(triple, s).first->second == s);
    }
  }
  require_same_data(d, set_game({400, 101, 200}, 2));
  REQUIRE(bytes(d.train.x) != bytes(set_game({400, 101, 200}, 3).train.x));
  REQUIRE_THROWS_WITH(set_game({400, 1400, 20}, 2), Catch::Contains("set") && Catch::Contains("val size 1400"));
}

TEST_CASE("copy and reverse: targets, padding, decoder input", "[tasks]") {
  const SequenceConfig cfg{5, 2, 6};
  for (bool reverse : {false, true}) {
    const TaskData d = sequence_task(reverse, {40, 10, 10}, 8, cfg);
    REQUIRE(d.train.x.shape() == Shape{40, 6});
    REQUIRE(d.train.y.dtype() == DType::I32);
    std::set<std::string> seen;
    for (const Split* s : {&d.train, &d.val, &d.test})
      for (int64_t i = 0; i < s->size(); ++i) {
        REQUIRE(seen.insert(row_bytes(s->x, i)).second);
        const std::vector<double> all_src = s->x.to_vector(), all_tgt = s->y.to_vector();
        const std::vector<double> src(all_src.begin() + i * 6, all_src.begin() + (i + 1) * 6),
            tgt(all_tgt.begin() + i * 6, all_tgt.begin() + (i + 1) * 6);
        const int length = static_cast<int>(std::count_if(src.begin(), src.end(), [](double v) { return v != kPad; }));
        REQUIRE((length >= 2 && length <= 6));
        for (int t = 0; t < 6; ++t) {
          if (t >= length) {
            REQUIRE(src[t] == kPad);
            REQUIRE(tgt[t] == kPad);
            continue;
          }
          REQUIRE((src[t] >= kFirstSymbol && src[t] < cfg.vocab_size()));
          REQUIRE(tgt[t] == src[reverse ? length - 1 - t : t]);
        }
      }
    require_same_data(d, sequence_task(reverse, {40, 10, 10}, 8, cfg));
    REQUIRE(bytes(d.train.x) != bytes(sequence_task(reverse, {40, 10, 10}, 9, cfg).train.x));
  }
  const Tensor target = Tensor::from_ints({5, 6, 7, 0, 8, 9, 0, 0}, {2, 4});
  REQUIRE(shift_right(target, kStart).to_vector() == std::vector<double>{1, 5, 6, 7, 1, 8, 9, 0});
  REQUIRE_THROWS_WITH(shift_right(Tensor::ones({2, 4}), kStart), Catch::Contains("shift_right") && Catch::Contains("float32(2, 4)"));
}

TEST_CASE("batching: epoch order and gathered rows", "[tasks]") {
  Generator g1(4), g2(4);
  const std::vector<int64_t> order = epoch_order(10, g1);
  REQUIRE(order == epoch_order(10, g2));
  REQUIRE(std::set<int64_t>(order.begin(), order.end()).size() == 10);
  REQUIRE(order != epoch_order(10, g1));  // the next epoch is another order
  const Split s{Tensor::from_vector({0, 1, 10, 11, 20, 21, 30, 31}, {4, 2}), Tensor::from_ints({0, 1, 2, 3}, {4})};
  const Split batch = gather_rows(s, {3, 1, 0, 2}, 1, 3);
  REQUIRE(batch.x.shape() == Shape{2, 2});
  REQUIRE(batch.x.to_vector() == std::vector<double>{10, 11, 0, 1});
  REQUIRE(batch.y.to_vector() == std::vector<double>{1, 0});
  REQUIRE_THROWS_WITH(gather_rows(s, {3, 1}, 1, 3), Catch::Contains("gather_rows"));
  REQUIRE_THROWS_WITH(gather_rows(s, {4}, 0, 1), Catch::Contains("gather_rows") && Catch::Contains("(4, 2)"));
  REQUIRE(fraction_sizes(992, 50, 15).val == 148);
}

TEST_CASE("make_task: names and sizes are checked", "[tasks]") {
  REQUIRE(task_names().size() == 10);
  REQUIRE(default_sizes("occurs").train == 1000);
  REQUIRE(default_sizes("match_pattern").train == 20000);
  REQUIRE_THROWS_WITH(make_task("ocurs", {10, 10, 10}, 0),
                      Catch::Contains("make_task") && Catch::Contains("'ocurs'") && Catch::Contains("occurs"));
  REQUIRE_THROWS_WITH(make_task("same", {0, 10, 10}, 0), Catch::Contains("same") && Catch::Contains("train size 0"));
  REQUIRE_THROWS_WITH(make_task("copy", {10, -1, 10}, 0), Catch::Contains("copy") && Catch::Contains("val size -1"));
  REQUIRE_THROWS_WITH(sequence_task(false, {200, 0, 0}, 0, {2, 3, 3}),
                      Catch::Contains("copy") && Catch::Contains("ran out of distinct examples"));
  const TaskData d = make_task("xoccurs", {4, 2, 2}, 0);
  REQUIRE(d.extra_tests.size() == 2);
}
