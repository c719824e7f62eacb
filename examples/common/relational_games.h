// Relational games (docs/tasks.md, after Shanahan et al., 2020).
//
// An image is a 3 x 3 grid of cells, each a P x P RGB patch, empty (black) or holding one
// object: a shape drawn in one palette colour, always centred in its patch (no random offset,
// so two objects look the same exactly when they are identical). The model sees 9 tokens, the
// flattened (P, P, 3) pixels of each cell in row-major cell order.
//
// Two image forms (Images):
//   original  as DeepMind's data: 36 x 36 images, cells of 12 x 12 pixels (tokens of 432);
//             shapes made of 3 x 3-pixel squares that fit a box of 3 x 3 squares; 25 low-contrast
//             colours (each channel 64, 144 or 192). Training shapes: the 37 fixed pentominoes
//             that fit the box; held out: the 46 fixed hexominoes that fit it, and 6 "stripes",
//             9 x 9-pixel squares striped in the object's colour and the next palette colour.
//   compact   this project's earlier form, kept because the README's first figures were measured
//             with it: cells of 6 x 6 pixels (tokens of 108), one pixel per square, the 63 fixed
//             pentominoes, 8 saturated colours; held out the 216 fixed hexominoes and 12 one-colour
//             dashed or double bars (stripe_shapes).
// In both, no held-out shape has 5 connected squares, so both sets are disjoint from training.
//
// | task          | layout                                   | label 1 when                       |
// | same          | 3 objects in random distinct cells       | at least two are identical         |
// | between       | 3 objects filling one line (see below)   | the two outer ones are identical   |
// | occurs        | 1 object in the top row, 3 in the bottom | the top one occurs in the bottom   |
// | xoccurs       | 3 objects in the top row, 1 in the bottom| exactly one top one equals it      |
// | match_pattern | 3 in the top row, 3 in the bottom row    | both rows follow the same pattern  |
// The patterns of match_pattern are AAA, AAB, ABA, ABB and ABC. Negatives of xoccurs hold the
// bottom object 0 or 2 times in the top row (half each), so "exactly one" must be learned.
// between, original: the line is a diagonal with probability 5/16 (about the 31% of the
// original data), else a row or column; positives are ABA (the middle always differs), negatives
// three distinct objects. between, compact: a row or column, outer ones distinct in negatives,
// a random middle.
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
// that fits in a box x box square, grown cell by cell from a single square.
std::vector<Cells> fixed_polyominoes(int n, int box);

// compact's held-out stripes. Patterned bars: a line across the whole patch (horizontal, vertical, diagonal, anti-diagonal)
// drawn as on-off dashes (cells 0, 2, 4, ...), as on-on-off dashes (cells 0, 1, 3, 4, ...), or
// as a double bar (the full line and a parallel one two cells away, clipped to the patch).
std::vector<Cells> stripe_shapes(int patch);

// original's held-out stripes, in single pixels: the cells of the first colour in a 9 x 9 square
// (rows of 1 and of 3 pixels, columns of 1 and of 3, a checkerboard, diagonals of 1 pixel); the
// rest of the square takes the second colour.
std::vector<Cells> striped_squares();

enum class Images { Original, Compact };
Images images_named(const std::string& name);  // "original" | "compact"; throws otherwise
const char* images_name(Images images);

struct Rgb {
  float r, g, b;
};
const std::vector<Rgb>& palette(Images images);  // the object colours; none is black

// Every shape of a set in every palette colour: object id = shape * colours + colour.
struct ObjectSet {
  int patch;                   // P, pixels per cell side
  int square;                  // pixels per side of one square of a shape
  std::vector<Cells> shapes;   // in squares
  std::vector<Rgb> colours;
  bool two_colour = false;     // the rest of the shape's bounding box in the next colour

  int size() const;
  // The (patch, patch, 3) pixels of object id, its bounding box centred in the patch, written
  // over out.
  void render(int id, float* out) const;
};

// "pentomino" (training), "hexomino" or "stripes" (held out), in the given image form.
ObjectSet object_set(const std::string& shapes, Images images);

// The grid: the object id in each cell, row-major, kEmpty where the cell is empty.
constexpr int kEmpty = -1;
using Scene = std::array<int, 9>;

// The task's rule on a scene of its layout: the single source of truth for the labels.
int32_t relational_label(RelationalTask task, const Scene& scene);

// A random scene of the task's layout whose label is `label`, with object ids in [0, n_objects);
// `images` chooses between's layouts (above).
Scene sample_scene(RelationalTask task, int32_t label, int n_objects, Generator& gen,
                   Images images = Images::Original);

struct RelationalConfig {
  Images images = Images::Original;
};

// x: (N, 9, P*P*3) float32 in [0, 1] (P = 12 original, 6 compact); y: (N) int32. extra_tests
// "hexomino" and "stripes" have the test size. All images of train, val and test are distinct.
TaskData relational_games(RelationalTask task, const Sizes& sizes, uint64_t seed,
                          const RelationalConfig& cfg = {});

}  // namespace dl::tasks
