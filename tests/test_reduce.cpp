#include "tests/testing.h"

#include <numeric>
#include "autograd/parallel.h"

using namespace dl;
using namespace dl::testing;

// 0, 1, ..., 23 as (2, 3, 4): x[i][j][k] = 12 i + 4 j + k
static Tensor arange24() {
  std::vector<double> v(24);
  std::iota(v.begin(), v.end(), 0.0);
  return Tensor::from_vector(v, {2, 3, 4}, DType::F64);
}

TEST_CASE("sum and mean: values, axes and keepdim", "[reduce]") {
  Tensor x = arange24();
  require_values(sum(x), {276});
  REQUIRE(sum(x).shape() == Shape{});
  require_values(sum(x, {0}), {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  Tensor rows = sum(x, {-1}, true);
  REQUIRE(rows.shape() == (Shape{2, 3, 1}));
  require_values(rows, {6, 22, 38, 54, 70, 86});
  // over i and k: 4 * 12 + 2 * 4 * 4 j + 2 * (0 + 1 + 2 + 3) = 60 + 32 j
  require_values(sum(x, {0, 2}), {60, 92, 124});
  REQUIRE(sum(x, {2, 0}, true).shape() == (Shape{1, 3, 1}));
  require_values(mean(x, {1}), {4, 5, 6, 7, 16, 17, 18, 19});
  require_values(mean(x), {11.5});
  REQUIRE(mean(x, {0, 1, 2}, true).shape() == (Shape{1, 1, 1}));
  // a non-contiguous view: the transpose of (2, 3) [[0, 1, 2], [3, 4, 5]]
  Tensor t = make_view(Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3}, DType::F64), {3, 2}, {1, 3}, 0);
  require_values(sum(t, {1}), {3, 5, 7});
}

TEST_CASE("max: values, and the gradient goes to the first maximum", "[reduce]") {
  Tensor x = Tensor::from_vector({3, 5, 5, 2, 3, -1, 0, 4}, {2, 4}, DType::F64).requires_grad_();
  Tensor along_rows = max(x, 1);
  require_values(along_rows, {5, 4});
  along_rows.backward(Tensor::from_vector({10, 20}, {2}, DType::F64));
  require_values(x.grad(), {0, 10, 0, 0, 0, 0, 0, 20});
  x.zero_grad();
  Tensor down_cols = max(x, -2, true);
  REQUIRE(down_cols.shape() == (Shape{1, 4}));
  require_values(down_cols, {3, 5, 5, 4});
  down_cols.backward(Tensor::from_vector({1, 2, 3, 4}, {1, 4}, DType::F64));
  require_values(x.grad(), {1, 2, 3, 0, 0, 0, 0, 4});
}

TEST_CASE("var: unbiased by default, population with correction 0", "[reduce]") {
  Tensor v = Tensor::from_vector({1, 2, 3, 4}, {4}, DType::F64);
  require_values(var(v), {5.0 / 3.0});
  require_values(var(v, {}, false, 0), {1.25});
  // x[1] - x[0] = 12 everywhere: deviations +-6
  Tensor x = arange24();
  require_values(var(x, {0}), std::vector<double>(12, 72.0));
  require_values(var(x, {0}, true, 0), std::vector<double>(12, 36.0));
  REQUIRE(var(x, {0}, true).shape() == (Shape{1, 3, 4}));
}

TEST_CASE("reductions: gradients", "[reduce][gradcheck]") {
  Generator gen(21);
  Tensor x = rand64({2, 3, 4}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}, true); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return sum(in[0]); }, std::vector<Tensor>{x});
  // x used twice, through reductions over leading and trailing axes
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    return sum(in[0] * in[0], {0}) + mean(in[0], {-1}, true);
  }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return mean(in[0]); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return max(in[0], 1); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return max(in[0], 0, true); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return var(in[0], {1}); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return var(in[0], {0, 2}, true, 0); }, std::vector<Tensor>{x});
}

TEST_CASE("sums over leading and last axes are accurate and identical for 1 and 2 threads", "[reduce]") {
  Generator gen(22);
  Tensor x = randn({256, 300}, gen);  // float32, several parallel chunks either way
  const std::vector<double> v = x.to_vector();
  const int threads = num_threads();
  set_num_threads(1);
  Tensor cols1 = sum(x, {0}), rows1 = sum(x, {1}), all1 = sum(x);
  set_num_threads(2);
  Tensor cols2 = sum(x, {0}), rows2 = sum(x, {1}), all2 = sum(x);
  set_num_threads(threads);
  REQUIRE(max_abs_diff(cols1, cols2) == 0);
  REQUIRE(max_abs_diff(rows1, rows2) == 0);
  REQUIRE(max_abs_diff(all1, all2) == 0);
  // float sums accumulate in double: only the final rounding to float32 remains
  std::vector<double> cols(300, 0.0), rows(256, 0.0);
  for (int64_t i = 0; i < 256; ++i)
    for (int64_t j = 0; j < 300; ++j) {
      cols[j] += v[i * 300 + j];
      rows[i] += v[i * 300 + j];
    }
  require_values(cols1, cols, 1e-7);
  require_values(rows1, rows, 1e-7);
  require_values(all1, {std::accumulate(rows.begin(), rows.end(), 0.0)}, 1e-7);
}

TEST_CASE("reductions reject bad axes, naming the op and the shape", "[reduce][errors]") {
  Tensor x = Tensor::ones({2, 3});
  REQUIRE_THROWS_WITH(sum(x, {2}), Catch::Contains("sum") && Catch::Contains("(2, 3)") && Catch::Contains("axis 2"));
  REQUIRE_THROWS_WITH(mean(x, {-3}), Catch::Contains("mean") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(sum(x, {1, -1}), Catch::Contains("sum") && Catch::Contains("twice") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(max(x, 2), Catch::Contains("max") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(max(Tensor::ones({2, 0}), 1), Catch::Contains("max") && Catch::Contains("(2, 0)"));
  REQUIRE_THROWS_WITH(var(Tensor::ones({1, 3}), {0}), Catch::Contains("var") && Catch::Contains("(1, 3)"));
  REQUIRE_THROWS_WITH(var(x, {0, 0}), Catch::Contains("var") && Catch::Contains("twice"));
  REQUIRE_THROWS_WITH(sum(Tensor::from_ints({1, 2}, {2})), Catch::Contains("sum") && Catch::Contains("int32"));
}
