#include "autograd/random.h"

#include <cmath>
#include <cstring>
#include "autograd/error.h"

namespace dl {

static uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void Generator::seed(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix64(seed);
  has_spare_ = false;
}

Generator::State Generator::state() const {
  uint64_t spare_bits;
  std::memcpy(&spare_bits, &spare_, sizeof spare_bits);
  return {s_[0], s_[1], s_[2], s_[3], has_spare_ ? 1u : 0u, spare_bits};
}

void Generator::set_state(const State& state) {
  DL_CHECK((state[0] | state[1] | state[2] | state[3]) != 0, "Generator::set_state",
           "all four xoshiro words are zero, a state no generator reaches");
  DL_CHECK(state[4] <= 1, "Generator::set_state", "the spare flag must be 0 or 1, got " + std::to_string(state[4]));
  for (int i = 0; i < 4; ++i) s_[i] = state[i];
  has_spare_ = state[4] == 1;
  std::memcpy(&spare_, &state[5], sizeof spare_);
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform(), u2 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * M_PI * u2;
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  DL_CHECK(hi > lo, "Generator::randint", "empty range [" + std::to_string(lo) + ", " + std::to_string(hi) + ")");
  return lo + static_cast<int64_t>(next_u64() % static_cast<uint64_t>(hi - lo));
}

Tensor rand_uniform(const Shape& shape, Generator& gen, double lo, double hi, DType dtype) {
  std::vector<double> v(shape_numel(shape));
  for (double& x : v) x = gen.uniform(lo, hi);
  return Tensor::from_vector(v, shape, dtype);
}

Tensor randn(const Shape& shape, Generator& gen, double mean, double stddev, DType dtype) {
  std::vector<double> v(shape_numel(shape));
  for (double& x : v) x = mean + stddev * gen.normal();
  return Tensor::from_vector(v, shape, dtype);
}

}  // namespace dl
