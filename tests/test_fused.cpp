#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

TEST_CASE("linear: x w^T + b by hand, and as matmul plus the bias", "[linear]") {
  // x (2, 3), w (2, 3), b (2): row 0 of y = (1*1 + 2*0 + 3*1 + 10, 1*0 + 2*1 + 3*0 - 1)
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  Tensor w = Tensor::from_vector({1, 0, 1, 0, 1, 0}, {2, 3}, DType::F64);
  Tensor b = Tensor::from_vector({10, -1}, {2}, DType::F64);
  require_values(linear(x, w, b), {14, 1, 20, 4});
  Generator gen(3);
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor xb = rand64({2, 5, 4}, gen, 1.0, false).to(dt), wb = rand64({3, 4}, gen, 1.0, false).to(dt);
    Tensor bb = rand64({3}, gen, 1.0, false).to(dt);
    Tensor y = linear(xb, wb, bb);
    REQUIRE(y.shape() == Shape{2, 5, 3});
    REQUIRE(max_abs_diff(y, matmul(xb, wb, false, true) + bb) < (dt == DType::F32 ? 1e-5 : 1e-13));
  }
  require_values(linear(Tensor::from_vector({1, 2, 3}, {3}, DType::F64), w, b), {14, 1});  // a single row
}

TEST_CASE("linear: gradients, with a batch and an input used twice", "[linear][gradcheck]") {
  Generator gen(4);
  const std::vector<Tensor> xwb = {rand64({2, 3, 4}, gen), rand64({5, 4}, gen), rand64({5}, gen)};
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, xwb);
  const std::vector<Tensor> sq = {rand64({4, 4}, gen), rand64({4}, gen)};  // x and w the same tensor
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return linear(in[0], in[0], in[1]); }, sq);
}

TEST_CASE("linear: an empty batch gives an empty output and zero weight gradients", "[linear]") {
  Tensor x = Tensor::zeros({0, 3}).requires_grad_(), w = Tensor::ones({2, 3}).requires_grad_();
  Tensor b = Tensor::ones({2}).requires_grad_();
  Tensor y = linear(x, w, b);
  REQUIRE(y.shape() == Shape{0, 2});
  y.backward(Tensor::zeros({0, 2}));
  require_values(w.grad(), {0, 0, 0, 0, 0, 0});
  require_values(b.grad(), {0, 0});
}

TEST_CASE("linear rejects mismatched shapes and dtypes, naming the op and the shapes", "[linear][errors]") {
  Tensor x = Tensor::zeros({2, 3}), w = Tensor::zeros({4, 5}), b = Tensor::zeros({4});
  REQUIRE_THROWS_WITH(linear(x, w, b), Catch::Contains("linear") && Catch::Contains("(2, 3)") && Catch::Contains("(4, 5)"));
  REQUIRE_THROWS_WITH(linear(x, Tensor::zeros({4, 3}), Tensor::zeros({3})),
                      Catch::Contains("linear") && Catch::Contains("(3)"));
  REQUIRE_THROWS_WITH(linear(x, Tensor::zeros({4, 3}, DType::F64), b), Catch::Contains("linear") && Catch::Contains("float64"));
}
