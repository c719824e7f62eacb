#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

TEST_CASE("binary ops: values with broadcasting", "[elementwise]") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  Tensor b = Tensor::from_vector({10, 20, 30}, {3}, DType::F64);
  Tensor c = Tensor::from_vector({2, 4}, {2, 1}, DType::F64);
  require_values(a + b, {11, 22, 33, 14, 25, 36});
  require_values(a - c, {-1, 0, 1, 0, 1, 2});
  require_values(a * c, {2, 4, 6, 16, 20, 24});
  require_values(b / c, {5, 10, 15, 2.5, 5, 7.5});
  REQUIRE((b / c).shape() == Shape{2, 3});
  require_values(2.0 - a, {1, 0, -1, -2, -3, -4});
  require_values(6.0 / c, {3, 1.5});
}

TEST_CASE("unary ops: values", "[elementwise]") {
  Tensor x = Tensor::from_vector({-2, 0.5, 4}, {3}, DType::F64);
  require_values(exp(x), {std::exp(-2.0), std::exp(0.5), std::exp(4.0)});
  require_values(abs(x), {2, 0.5, 4});
  require_values(clamp(x, -1, 1), {-1, 0.5, 1});
  require_values(pow(abs(x), 3), {8, 0.125, 64});
  require_values(sqrt(abs(x)), {std::sqrt(2.0), std::sqrt(0.5), 2});
  require_values(log(abs(x)), {std::log(2.0), std::log(0.5), std::log(4.0)});
  require_values(-x, {2, -0.5, -4});
}

TEST_CASE("binary ops: gradients, including broadcast axes and a tensor used twice", "[elementwise][gradcheck]") {
  Generator gen(7);
  Tensor a = rand64({2, 3, 4}, gen), b = rand64({3, 1}, gen), c = rand64({4}, gen);
  Tensor d = rand64({2, 1, 4}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return in[0] + in[1] - in[2] * in[0]; },
                  (std::vector<Tensor>{a, b, c}));
  Tensor pos = add(abs(rand64({3, 1}, gen, 1.0, false)), 0.5).detach().requires_grad_();
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return in[0] / in[1] + in[2] / in[1]; },
                  (std::vector<Tensor>{a, pos, d}));
}

TEST_CASE("unary and scalar ops: gradients", "[elementwise][gradcheck]") {
  Generator gen(8);
  Tensor x = rand64({3, 4}, gen);
  // keep |x| away from 0 and from the clamp bounds, where the derivative jumps
  Tensor away = (x + 0.0).detach();
  {
    std::vector<double> v = away.to_vector();
    for (double& e : v) e = (e < 0 ? -0.3 : 0.3) + e;
    away = Tensor::from_vector(v, {3, 4}, DType::F64).requires_grad_();
  }
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return exp(in[0] * 0.5) + neg(in[0]) * 3.0 + 1.0; },
                  std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    Tensor p = abs(in[0]);
    return log(p) + sqrt(p) + pow(p, 1.7) + 2.0 / p - (1.0 - p);
  }, std::vector<Tensor>{away});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return clamp(in[0], -0.75, 0.75) * abs(in[0]); },
                  std::vector<Tensor>{away});
}

TEST_CASE("elementwise bad input names the op and the shapes", "[elementwise][errors]") {
  Tensor a = Tensor::ones({2, 3}), b = Tensor::ones({4});
  REQUIRE_THROWS_WITH(a + b, Catch::Contains("add") && Catch::Contains("(2, 3)") && Catch::Contains("(4)"));
  REQUIRE_THROWS_WITH(a * Tensor::ones({2, 3}, DType::F64), Catch::Contains("mul") && Catch::Contains("float64"));
  REQUIRE_THROWS_WITH(exp(Tensor::from_ints({1}, {1})), Catch::Contains("exp") && Catch::Contains("int32"));
  REQUIRE_THROWS_WITH(clamp(a, 1, 0), Catch::Contains("clamp"));
}
