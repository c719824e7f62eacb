// A seeded generator whose streams are the same on every platform and standard library:
// xoshiro256** for bits, Box-Muller for normals (std::normal_distribution is not portable).
#pragma once
#include <array>
#include <cstdint>
#include "autograd/tensor.h"

namespace dl {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { this->seed(seed); }
  void seed(uint64_t seed);
  uint64_t next_u64();
  double uniform();                     // [0, 1)
  double uniform(double lo, double hi);
  double normal();                      // N(0, 1)
  int64_t randint(int64_t lo, int64_t hi);  // uniform in [lo, hi)

  // The whole state, for checkpoints: xoshiro's four words, then the cached normal deviate (a
  // flag, and its bits). set_state throws on a state no generator can be in.
  using State = std::array<uint64_t, 6>;
  State state() const;
  void set_state(const State& state);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

Tensor rand_uniform(const Shape& shape, Generator& gen, double lo = 0.0, double hi = 1.0,
                    DType dtype = DType::F32);
Tensor randn(const Shape& shape, Generator& gen, double mean = 0.0, double stddev = 1.0,
             DType dtype = DType::F32);

}  // namespace dl
