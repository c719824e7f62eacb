#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

TEST_CASE("dropout: the mask is drawn in row-major order from the generator", "[dropout]") {
  const double p = 0.4;
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}, DType::F64);
  Generator gen(5), ref(5);
  std::vector<double> expected = x.to_vector();
  for (double& e : expected) e = ref.uniform() < p ? 0.0 : e / (1 - p);
  require_values(dropout(x, p, gen, true), expected);

  // a strided view is masked in its own row-major order, not in storage order
  Tensor xt = transpose(x, 0, 1);
  std::vector<double> expected_t = xt.to_vector();
  ref.seed(5);
  for (double& e : expected_t) e = ref.uniform() < p ? 0.0 : e / (1 - p);
  gen.seed(5);
  require_values(dropout(xt, p, gen, true), expected_t);
}

TEST_CASE("dropout: same seed same mask; eval mode and p = 0 are the identity", "[dropout]") {
  Generator gen(1);
  Tensor x = randn({16, 16}, gen);
  Generator a(9), b(9), c(10);
  Tensor ya = dropout(x, 0.5, a, true);
  REQUIRE(ya.to_vector() == dropout(x, 0.5, b, true).to_vector());
  REQUIRE(ya.to_vector() != dropout(x, 0.5, c, true).to_vector());
  REQUIRE(dropout(x, 0.5, a, false).same(x));
  REQUIRE(dropout(x, 0.0, a, true).same(x));
}

TEST_CASE("dropout keeps a fraction near 1 - p, scaled by 1 / (1 - p)", "[dropout]") {
  const double p = 0.3;
  Generator gen(2);
  std::vector<double> y = dropout(Tensor::ones({200, 500}), p, gen, true).to_vector();
  int64_t kept = 0, other = 0;
  for (double v : y) {
    kept += v == static_cast<float>(1 / (1 - p));
    other += v != 0.0 && v != static_cast<float>(1 / (1 - p));
  }
  REQUIRE(other == 0);
  REQUIRE(static_cast<double>(kept) / y.size() == Approx(1 - p).margin(0.005));
}

TEST_CASE("dropout: gradient is the same scaled mask", "[dropout][gradcheck]") {
  Generator data(3), gen(0);
  Tensor x = rand64({3, 5}, data);
  // re-seeded on every evaluation, so each one draws the same mask
  CHECK_GRADIENTS([&gen](const std::vector<Tensor>& in) {
    gen.seed(17);
    return dropout(in[0], 0.4, gen, true) * in[0];
  }, std::vector<Tensor>{x});

  x.zero_grad();
  gen.seed(17);
  Tensor y = dropout(x, 0.4, gen, true);
  y.backward(Tensor::ones({3, 5}, DType::F64));
  std::vector<double> xv = x.to_vector(), yv = y.to_vector(), gv = x.grad().to_vector();
  for (size_t i = 0; i < xv.size(); ++i) REQUIRE(gv[i] == Approx(yv[i] / xv[i]));
}

TEST_CASE("dropout rejects bad input naming the op", "[dropout][errors]") {
  Generator gen(4);
  Tensor x = Tensor::ones({2, 3});
  REQUIRE_THROWS_WITH(dropout(x, 1.0, gen, true), Catch::Contains("dropout") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(dropout(x, -0.1, gen, false), Catch::Contains("dropout") && Catch::Contains("p must"));
  REQUIRE_THROWS_WITH(dropout(Tensor::from_ints({1}, {1}), 0.5, gen, true),
                      Catch::Contains("dropout") && Catch::Contains("int32(1)"));
}
