// Relational games (docs/tasks.md, in the style of Shanahan et al., 2020).
//
// An image is a 3 x 3 grid of cells, each a P x P RGB patch, empty (black) or holding one
// object: a shape drawn in one palette colour, always centred in its patch (no random offset,
// so two objects look the same exactly when they are identical). The model sees 9 tokens, the
// flattened (P, P, 3) pixels of each cell in row-major cell order.
//
// Shapes. Training, validation and test use the 63 fixed pentominoes (the 12 free pentominoes
// with their rotations and reflections). Two held-out test sets use shapes never trained on:
// "hexomino", the 216 fixed hexominoes (all 35 free ones, every orientation), and "stripes",
// 12 patterned bars across the patch (stripe_shapes). Neither has 5 connected cells, so both
// are disjoint from the training shapes.
//
// | task          | layout                                   | label 1 when                       |
// | same          | 3 objects in random distinct cells       | at least two are identical         |
// | between       | 3 objects filling one row or column      | the two outer ones are identical   |
// | occurs        | 1 object in the top row, 3 in the bottom | the top one occurs in the bottom   |
// | xoccurs       | 3 objects in the top row, 1 in the bottom| exactly one top one equals it      |
// | match_pattern | 3 in the top row, 3 in the bottom row    | both rows follow the same pattern  |
// The patterns of match_pattern are AAA, AAB, ABA, ABB and ABC. Negatives of xoccurs hold the
// bottom object 0 or 2 times in the top row (half each), so "exactly one" must be learned.
#pragma once
#include <array>
#include <string>
#include <utility>
#include <vector>
#include "examples/common/dataset.h"

namespace dl::tasks {

enum class RelationalTask { Same, Between, Occurs, XOccurs, MatchPattern };
const char* relational_task_name(RelationalTask task);  // "same", ..., "match_pattern"

// A shape: the (row, col) cells it covers, sorted, shifted so the smallest row and column are 0.
using Cells = std::vector<std::pair<int, int>>;

// Every fixed n-omino (n edge-connected cells; rotations and reflections are different shapes)
// that fits in a patch x patch square, grown cell by cell from a single square.
std::vector<Cells> fixed_polyominoes(int n, int patch);

// Patterned bars: a line across the whole patch (horizontal, vertical, diagonal, anti-diagonal)
// drawn as on-off dashes (cells 0, 2, 4, ...), as on-on-off dashes (cells 0, 1, 3, 4, ...), or
// as a double bar (the full line and a parallel one two cells away, clipped to the patch).
std::vector<Cells> stripe_shapes(int patch);

struct Rgb {
  float r, g, b;
};
const std::vector<Rgb>& palette();  // the 8 object colours; none is black

// Every shape of a set in every palette colour: object id = shape * palette().size() + colour.
struct ObjectSet {
  int patch;
  std::vector<Cells> shapes;

  int size() const;
  // The (patch, patch, 3) pixels of object id, centred in the patch, written over out.
  void render(int id, float* out) const;
};

// "pentomino" (training), "hexomino" or "stripes" (held out).
ObjectSet object_set(const std::string& shapes, int patch);

// The grid: the object id in each cell, row-major, kEmpty where the cell is empty.
constexpr int kEmpty = -1;
using Scene = std::array<int, 9>;

// The task's rule on a scene of its layout: the single source of truth for the labels.
int32_t relational_label(RelationalTask task, const Scene& scene);

// A random scene of the task's layout whose label is `label`, with object ids in [0, n_objects).
Scene sample_scene(RelationalTask task, int32_t label, int n_objects, Generator& gen);

struct RelationalConfig {
  int patch = 6;  // P; at least 5, so that every pentomino fits
};

// x: (N, 9, P*P*3) float32 in [0, 1]; y: (N) int32. extra_tests "hexomino" and "stripes" have
// the test size. All images of train, val and test are distinct.
TaskData relational_games(RelationalTask task, const Sizes& sizes, uint64_t seed,
                          const RelationalConfig& cfg = {});

}  // namespace dl::tasks
