#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

TEST_CASE("cross_entropy: values and gradient by hand, with an ignored row", "[loss]") {
  Tensor z = Tensor::from_vector({1, 2, 3, 0, 0, 0}, {2, 3}, DType::F64).requires_grad_();
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  require_values(cross_entropy(z, Tensor::from_ints({2, 0}, {2})), {((lse0 - 3) + std::log(3.0)) / 2});

  Tensor loss = cross_entropy(z, Tensor::from_ints({0, -100}, {2}));
  require_values(loss, {lse0 - 1});
  loss.backward(Tensor::scalar(2.0, DType::F64));
  // g (softmax - onehot) / n with n = 1; the ignored row gets nothing
  const double p0 = std::exp(1 - lse0), p1 = std::exp(2 - lse0), p2 = std::exp(3 - lse0);
  require_values(z.grad(), {2 * (p0 - 1), 2 * p1, 2 * p2, 0, 0, 0});

  // a custom ignore_index
  require_values(cross_entropy(z, Tensor::from_ints({1, 1}, {2}), 1), {0});
  require_values(cross_entropy(z, Tensor::from_ints({1, 2}, {2}), 1), {std::log(3.0)});
}

TEST_CASE("cross_entropy is stable for huge logits and safe when every target is ignored", "[loss]") {
  Tensor big = Tensor::from_vector({1000, 0, -1000, 50}, {2, 2}).requires_grad_();
  Tensor loss = cross_entropy(big, Tensor::from_ints({1, 0}, {2}));
  require_values(loss, {(1000.0 + 1050.0) / 2}, 1e-6);
  loss.backward();
  require_values(big.grad(), {0.5, -0.5, -0.5, 0.5}, 1e-6);

  Tensor z = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, DType::F64).requires_grad_();
  Tensor none = cross_entropy(z, Tensor::from_ints({-100, -100}, {2}));
  require_values(none, {0});
  none.backward();
  require_values(z.grad(), {0, 0, 0, 0});
}

TEST_CASE("cross_entropy: gradients for 2-D and 3-D logits with ignored targets", "[loss][gradcheck]") {
  Generator gen(31);
  Tensor z2 = rand64({4, 5}, gen, 2.0), z3 = rand64({2, 3, 5}, gen, 2.0);
  Tensor t2 = Tensor::from_ints({4, -100, 0, 4}, {4});
  Tensor t3 = Tensor::from_ints({1, 3, -100, 0, -100, 2}, {2, 3});
  CHECK_GRADIENTS([t2](const std::vector<Tensor>& in) { return cross_entropy(in[0], t2); },
                  std::vector<Tensor>{z2});
  CHECK_GRADIENTS([t3](const std::vector<Tensor>& in) { return cross_entropy(in[0], t3); },
                  std::vector<Tensor>{z3});
  // strided logits: classes on axis 1, moved last by a transpose
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    return cross_entropy(transpose(in[0], 0, 1), Tensor::from_ints({0, 2, -100, 1, 3}, {5}));
  }, std::vector<Tensor>{z2});
}

TEST_CASE("cross_entropy rejects bad input naming the op and the shapes", "[loss][errors]") {
  Tensor z = Tensor::ones({2, 5});
  REQUIRE_THROWS_WITH(cross_entropy(z, Tensor::from_ints({1, 5}, {2})),
                      Catch::Contains("cross_entropy") && Catch::Contains("target 5") &&
                          Catch::Contains("(2, 5)"));
  REQUIRE_THROWS_WITH(cross_entropy(z, Tensor::from_ints({1, 2, 3}, {3})),
                      Catch::Contains("cross_entropy") && Catch::Contains("(2, 5)") &&
                          Catch::Contains("int32(3)"));
  REQUIRE_THROWS_WITH(cross_entropy(z, Tensor::ones({2})),
                      Catch::Contains("cross_entropy") && Catch::Contains("float32(2)"));
  REQUIRE_THROWS_WITH(cross_entropy(Tensor::scalar(1.0), Tensor::from_ints({1}, {})),
                      Catch::Contains("cross_entropy") && Catch::Contains("float32()"));
}
