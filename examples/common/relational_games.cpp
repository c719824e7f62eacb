#include "examples/common/relational_games.h"

#include <algorithm>
#include <functional>
#include <set>

namespace dl::tasks {

static Cells normalised(Cells cells) {
  int r0 = cells[0].first, c0 = cells[0].second;
  for (auto [r, c] : cells) r0 = std::min(r0, r), c0 = std::min(c0, c);
  for (auto& [r, c] : cells) r -= r0, c -= c0;
  std::sort(cells.begin(), cells.end());
  return cells;
}

static bool fits(const Cells& cells, int box) {
  for (auto [r, c] : cells)
    if (r >= box || c >= box) return false;
  return true;
}

std::vector<Cells> fixed_polyominoes(int n, int box) {
  DL_CHECK(n >= 1, "fixed_polyominoes", "need at least one cell, got " + std::to_string(n));
  const std::pair<int, int> steps[4] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
  std::set<Cells> shapes = {{{0, 0}}};
  for (int k = 1; k < n; ++k) {
    std::set<Cells> grown;
    for (const Cells& s : shapes)
      for (auto [r, c] : s)
        for (auto [dr, dc] : steps) {
          const std::pair<int, int> cell{r + dr, c + dc};
          if (std::find(s.begin(), s.end(), cell) != s.end()) continue;
          Cells t = s;
          t.push_back(cell);
          grown.insert(normalised(t));
        }
    shapes = std::move(grown);
  }
  std::vector<Cells> out;
  for (const Cells& s : shapes)
    if (fits(s, box)) out.push_back(s);
  return out;
}

std::vector<Cells> stripe_shapes(int patch) {
  // A line starts at (r0, c0) and steps by (dr, dc); its parallel partner is shifted by (sr, sc).
  struct Line {
    int r0, c0, dr, dc, sr, sc;
  };
  const Line lines[4] = {{0, 0, 0, 1, 2, 0}, {0, 0, 1, 0, 0, 2}, {0, 0, 1, 1, 0, 2},
                         {0, patch - 1, 1, -1, 0, -2}};
  auto inside = [&](int r, int c) { return r >= 0 && r < patch && c >= 0 && c < patch; };
  std::vector<Cells> out;
  for (const Line& l : lines) {
    Cells dash, dash2, twin;
    for (int k = 0; k < patch; ++k) {
      const int r = l.r0 + k * l.dr, c = l.c0 + k * l.dc;
      if (k % 2 == 0) dash.push_back({r, c});
      if (k % 3 != 2) dash2.push_back({r, c});
      twin.push_back({r, c});
      if (inside(r + l.sr, c + l.sc)) twin.push_back({r + l.sr, c + l.sc});
    }
    for (Cells* s : {&dash, &dash2, &twin}) out.push_back(normalised(*s));
  }
  return out;
}

std::vector<Cells> striped_squares() {
  constexpr int n = 9;
  // Whether pixel (r, c) takes the first colour, per pattern.
  const std::function<bool(int, int)> patterns[6] = {
      [](int r, int) { return r % 2 == 0; },          [](int, int c) { return c % 2 == 0; },
      [](int r, int) { return r / 3 % 2 == 0; },     [](int, int c) { return c / 3 % 2 == 0; },
      [](int r, int c) { return (r + c) % 2 == 0; },  [](int r, int c) { return (r + c) % 3 == 0; }};
  std::vector<Cells> out;
  for (const auto& first : patterns) {
    Cells cells;
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < n; ++c)
        if (first(r, c)) cells.push_back({r, c});
    out.push_back(cells);
  }
  return out;
}

Images images_named(const std::string& name) {
  if (name == "original") return Images::Original;
  if (name == "compact") return Images::Compact;
  throw Error("relational games: unknown image form '" + name + "' (original, compact)");
}

const char* images_name(Images images) { return images == Images::Original ? "original" : "compact"; }

// original: every (r, g, b) with each channel 64, 144 or 192, less the darkest and the lightest
// grey (27 - 2 = 25 colours).
static std::vector<Rgb> low_contrast_colours() {
  const float levels[3] = {64 / 255.0f, 144 / 255.0f, 192 / 255.0f};
  std::vector<Rgb> out;
  for (float r : levels)
    for (float g : levels)
      for (float b : levels)
        if (!(r == g && g == b && r != levels[1])) out.push_back({r, g, b});
  return out;
}

const std::vector<Rgb>& palette(Images images) {
  static const std::vector<Rgb> saturated = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0},
                                             {1, 0, 1}, {0, 1, 1}, {1, 1, 1}, {1, 0.5f, 0}};
  static const std::vector<Rgb> low_contrast = low_contrast_colours();
  return images == Images::Original ? low_contrast : saturated;
}

int ObjectSet::size() const { return static_cast<int>(shapes.size() * colours.size()); }

static void paint(float* px, Rgb colour) { px[0] = colour.r, px[1] = colour.g, px[2] = colour.b; }

void ObjectSet::render(int id, float* out) const {
  DL_CHECK(id >= 0 && id < size(), "ObjectSet::render",
           "object " + std::to_string(id) + " out of range [0, " + std::to_string(size()) + ")");
  const int n_colours = static_cast<int>(colours.size());
  const Cells& cells = shapes[id / n_colours];
  const Rgb colour = colours[id % n_colours], second = colours[(id + 1) % n_colours];
  int h = 0, w = 0;
  for (auto [r, c] : cells) h = std::max(h, r + 1), w = std::max(w, c + 1);
  const int r0 = (patch - h * square) / 2, c0 = (patch - w * square) / 2;  // in pixels
  std::fill(out, out + patch * patch * 3, 0.0f);
  auto pixel = [&](int r, int c) { return out + ((r0 + r) * patch + (c0 + c)) * 3; };  // (P, P, 3)
  if (two_colour)
    for (int r = 0; r < h * square; ++r)
      for (int c = 0; c < w * square; ++c) paint(pixel(r, c), second);
  for (auto [r, c] : cells)
    for (int dr = 0; dr < square; ++dr)
      for (int dc = 0; dc < square; ++dc) paint(pixel(r * square + dr, c * square + dc), colour);
}

ObjectSet object_set(const std::string& shapes, Images images) {
  const std::vector<Rgb>& colours = palette(images);
  if (images == Images::Compact) {
    constexpr int patch = 6;
    if (shapes == "pentomino") return {patch, 1, fixed_polyominoes(5, patch), colours};
    if (shapes == "hexomino") return {patch, 1, fixed_polyominoes(6, patch), colours};
    if (shapes == "stripes") return {patch, 1, stripe_shapes(patch), colours};
  } else {
    constexpr int patch = 12, square = 3, box = 3;
    if (shapes == "pentomino") return {patch, square, fixed_polyominoes(5, box), colours};
    if (shapes == "hexomino") return {patch, square, fixed_polyominoes(6, box), colours};
    if (shapes == "stripes") return {patch, 1, striped_squares(), colours, true};
  }
  throw Error("object_set: unknown shape set '" + shapes + "' (pentomino, hexomino, stripes)");
}

// ---- the rules ----

const char* relational_task_name(RelationalTask task) {
  switch (task) {
    case RelationalTask::Same: return "same";
    case RelationalTask::Between: return "between";
    case RelationalTask::Occurs: return "occurs";
    case RelationalTask::XOccurs: return "xoccurs";
    case RelationalTask::MatchPattern: return "match_pattern";
  }
  return "?";
}

using Row = std::array<int, 3>;

static Row row_of(const Scene& s, int r) { return {s[3 * r], s[3 * r + 1], s[3 * r + 2]}; }

static int count(const Row& row, int id) { return static_cast<int>(std::count(row.begin(), row.end(), id)); }

// The one object of a row holding a single object.
static int single_object(const Row& row) {
  for (int id : row)
    if (id != kEmpty) return id;
  throw Error("relational_label: expected an object in an empty row");
}

// A row's pattern with letters renamed in order of first appearance: AAB -> {0, 0, 1}.
static Row pattern_of(const Row& row) {
  Row p{};
  int letters = 0;
  for (int j = 0; j < 3; ++j) {
    const int first = static_cast<int>(std::find(row.begin(), row.end(), row[j]) - row.begin());
    p[j] = first == j ? letters++ : p[first];
  }
  return p;
}

// The 8 lines of the grid: rows 0-2, columns 0-2, the diagonal and the anti-diagonal, as the
// first cell and the step between cells.
static std::pair<int, int> line_of(int line) {
  if (line < 3) return {3 * line, 1};
  if (line < 6) return {line - 3, 3};
  return line == 6 ? std::pair{0, 4} : std::pair{2, 2};
}

int32_t relational_label(RelationalTask task, const Scene& s) {
  switch (task) {
    case RelationalTask::Same: {
      std::vector<int> objects;
      for (int id : s)
        if (id != kEmpty) objects.push_back(id);
      std::sort(objects.begin(), objects.end());
      return std::adjacent_find(objects.begin(), objects.end()) != objects.end();
    }
    case RelationalTask::Between:
      for (int line = 0; line < 8; ++line) {
        const auto [first, step] = line_of(line);
        if (s[first] != kEmpty && s[first + step] != kEmpty && s[first + 2 * step] != kEmpty)
          return s[first] == s[first + 2 * step];
      }
      throw Error("relational_label: between expects a full row, column or diagonal");
    case RelationalTask::Occurs: return count(row_of(s, 2), single_object(row_of(s, 0))) > 0;
    case RelationalTask::XOccurs: return count(row_of(s, 0), single_object(row_of(s, 2))) == 1;
    case RelationalTask::MatchPattern: return pattern_of(row_of(s, 0)) == pattern_of(row_of(s, 2));
  }
  return 0;
}

// ---- sampling ----

static int draw(int n, Generator& gen) { return static_cast<int>(gen.randint(0, n)); }

static int draw_other(int not_this, int n, Generator& gen) {
  int id;
  do id = draw(n, gen);
  while (id == not_this);
  return id;
}

Scene sample_scene(RelationalTask task, int32_t label, int n_objects, Generator& gen, Images images) {
  DL_CHECK(n_objects >= 3, "sample_scene", "need at least 3 objects, got " + std::to_string(n_objects));
  const int n = n_objects;
  Scene s;
  s.fill(kEmpty);
  switch (task) {
    case RelationalTask::Same: {
      const std::vector<int> cells = choose(3, 9, gen);
      const int a = draw(n, gen);
      const std::vector<int> objects = label ? std::vector<int>{a, a, draw(n, gen)} : choose(3, n, gen);
      for (int i = 0; i < 3; ++i) s[cells[i]] = objects[i];
      break;
    }
    case RelationalTask::Between: {
      if (images == Images::Original) {
        const auto [first, step] = line_of(draw(16, gen) < 5 ? 6 + draw(2, gen) : draw(6, gen));
        std::vector<int> objects = choose(3, n, gen);  // ABC; a positive is ABA
        if (label) objects[2] = objects[0];
        for (int j = 0; j < 3; ++j) s[first + j * step] = objects[j];
        break;
      }
      const auto [first, step] = line_of(draw(6, gen));
      const std::vector<int> outer = choose(2, n, gen);
      s[first] = outer[0];
      s[first + step] = draw(n, gen);
      s[first + 2 * step] = label ? outer[0] : outer[1];
      break;
    }
    case RelationalTask::Occurs: {
      const int a = draw(n, gen);
      s[draw(3, gen)] = a;
      for (int c = 6; c < 9; ++c) s[c] = label ? draw(n, gen) : draw_other(a, n, gen);
      if (label) s[6 + draw(3, gen)] = a;
      break;
    }
    case RelationalTask::XOccurs: {
      const int a = draw(n, gen);
      s[6 + draw(3, gen)] = a;
      const int copies = label ? 1 : 2 * draw(2, gen);  // negatives: 0 or 2 copies
      for (int c = 0; c < 3; ++c) s[c] = draw_other(a, n, gen);
      for (int c : choose(copies, 3, gen)) s[c] = a;
      break;
    }
    case RelationalTask::MatchPattern: {
      static const Row patterns[5] = {{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {0, 1, 2}};
      const int top = draw(5, gen), bottom = label ? top : draw_other(top, 5, gen);
      for (auto [r, p] : {std::pair{0, top}, std::pair{2, bottom}}) {
        const std::vector<int> letters = choose(3, n, gen);  // fresh objects for each row
        for (int j = 0; j < 3; ++j) s[3 * r + j] = letters[patterns[p][j]];
      }
      break;
    }
  }
  return s;
}

// ---- datasets ----

// n examples with alternating labels, each a scene never drawn before (seen holds the keys).
static Split draw_split(RelationalTask task, int64_t n, const ObjectSet& objects, Images images, Generator gen,
                        UniqueKeys& seen) {
  const int64_t token = int64_t{objects.patch} * objects.patch * 3;
  std::vector<float> x(n * 9 * token);  // (N, 9, P*P*3), empty cells stay black
  std::vector<int32_t> y(n);            // (N)
  for (int64_t i = 0; i < n; ++i) {
    y[i] = balanced_label(i);
    Scene s;
    do s = sample_scene(task, y[i], objects.size(), gen, images);
    while (!seen.insert(UniqueKeys::key(s.data(), s.size())));
    for (int c = 0; c < 9; ++c)
      if (s[c] != kEmpty) objects.render(s[c], &x[(i * 9 + c) * token]);
  }
  return {make_tensor(x, {n, 9, token}), make_tensor(y, {n})};
}

TaskData relational_games(RelationalTask task, const Sizes& sizes, uint64_t seed, const RelationalConfig& cfg) {
  const std::string name = relational_task_name(task);
  check_size(name, "train", sizes.train, 1);
  check_size(name, "val", sizes.val);
  check_size(name, "test", sizes.test);
  const Images images = cfg.images;
  auto split = [&](const std::string& shapes, Stream stream, UniqueKeys& seen, int64_t n) {
    return draw_split(task, n, object_set(shapes, images), images, split_generator(seed, stream), seen);
  };
  TaskData data;
  UniqueKeys seen(name);
  data.test = split("pentomino", Stream::Test, seen, sizes.test);
  data.val = split("pentomino", Stream::Val, seen, sizes.val);
  data.train = split("pentomino", Stream::Train, seen, sizes.train);
  UniqueKeys seen_hexomino(name + " hexomino"), seen_stripes(name + " stripes");
  data.extra_tests["hexomino"] = split("hexomino", Stream::ExtraA, seen_hexomino, sizes.test);
  data.extra_tests["stripes"] = split("stripes", Stream::ExtraB, seen_stripes, sizes.test);
  return data;
}

}  // namespace dl::tasks
