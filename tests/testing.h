// Shared test helpers: float64 inputs, gradient checks that fail the test, value comparisons.
#pragma once
#include <catch2/catch.hpp>
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include "autograd/gradcheck.h"
#include "autograd/parallel.h"
#include "ops/ops.h"

namespace dl::testing {

// A float64 leaf with N(0, 1) entries (scaled), requiring grad unless told otherwise.
inline Tensor rand64(const Shape& shape, Generator& gen, double scale = 1.0, bool grad = true) {
  Tensor t = randn(shape, gen, 0.0, scale, DType::F64);
  t.requires_grad_(grad);
  return t;
}

// Finite-difference check of every input that requires grad; prints the per-input report on
// failure. The check fails the test case (REQUIRE), never only logs.
#define CHECK_GRADIENTS(fn, inputs)                     \
  do {                                                  \
    auto report_ = ::dl::gradcheck((fn), (inputs));     \
    INFO(report_.str());                                \
    REQUIRE(report_.ok);                                \
  } while (0)

// Every element of t within tol of expected (relative to max(1, |expected|)).
inline void require_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-12) {
  std::vector<double> v = t.to_vector();
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i << ": got " << v[i] << ", expected " << expected[i]);
    REQUIRE(std::fabs(v[i] - expected[i]) <= tol * std::max(1.0, std::fabs(expected[i])));
  }
}

// Largest |a - b| over all elements (same shape required).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<double> x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

// Restores the thread count when a test ends, pass or fail.
struct ThreadCountGuard {
  int previous = num_threads();
  ~ThreadCountGuard() { set_num_threads(previous); }
};

// A fresh folder under /tmp, removed with every file in it when the test ends.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/dl_test_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    for (const std::string& f : files()) std::remove((*this / f).c_str());
    rmdir(path.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    DIR* d = opendir(path.c_str());
    while (dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) out.push_back(e->d_name);
    closedir(d);
    return out;
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  std::string file(const std::string& name) const { return *this / name; }
  std::string path;
};

}  // namespace dl::testing
