#include "tests/testing.h"

#include <limits>

using namespace dl;
using namespace dl::testing;

static const double kInf = std::numeric_limits<double>::infinity();

// (T, T), true above the diagonal: query i may not see key j > i
static Tensor causal_mask(int64_t T) {
  std::vector<bool> m;
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j) m.push_back(j > i);
  return Tensor::from_bools(m, {T, T});
}

// log_softmax is -inf at masked entries; clamping them to a constant makes the weighted sum in
// gradcheck finite while leaving every other entry (all in (-50, 0] here) and its gradient
// untouched. A small constant: a huge one would swamp the finite differences in rounding.
static Tensor finite_log_softmax(const Tensor& x, const Tensor& mask) {
  return clamp(log_softmax(x, mask), -50, 1.0);
}

TEST_CASE("softmax and log_softmax: values, with and without a mask", "[softmax]") {
  const double ln2 = std::log(2.0), ln5 = std::log(5.0);
  Tensor x = Tensor::from_vector({0, ln2, ln5, 1, 1, 1}, {2, 3}, DType::F64);
  // exp(x) = 1, 2, 5 over 8; a constant row is uniform
  require_values(softmax(x), {1.0 / 8, 2.0 / 8, 5.0 / 8, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  require_values(log_softmax(x), {std::log(1.0 / 8), std::log(2.0 / 8), std::log(5.0 / 8), -std::log(3.0),
                                  -std::log(3.0), -std::log(3.0)});
  // the (3) mask broadcasts over both rows: 1 and 5 over 6, 1 and 1 over 2
  Tensor mask = Tensor::from_bools({false, true, false}, {3});
  require_values(softmax(x, mask), {1.0 / 6, 0, 5.0 / 6, 0.5, 0, 0.5});
  std::vector<double> l = log_softmax(x, mask).to_vector();
  REQUIRE(l[1] == -kInf);
  REQUIRE(l[4] == -kInf);
  REQUIRE(l[0] == Approx(std::log(1.0 / 6)).epsilon(1e-14));
  REQUIRE(l[2] == Approx(std::log(5.0 / 6)).epsilon(1e-14));
  REQUIRE(l[3] == Approx(-std::log(2.0)).epsilon(1e-14));
  REQUIRE(l[5] == Approx(-std::log(2.0)).epsilon(1e-14));
}

TEST_CASE("softmax and log_softmax: gradients with causal and padding masks", "[softmax][gradcheck]") {
  Generator gen(31);
  const int64_t T = 4;
  Tensor scores = rand64({2, T, T}, gen, 2.0);
  // batch 0 pads its last key; batch 1 pads every key, so its rows are fully masked
  Tensor padding = Tensor::from_bools({false, false, false, true, true, true, true, true}, {2, 1, T});
  for (Tensor mask : {Tensor(), causal_mask(T), padding}) {
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return softmax(in[0], mask); }, std::vector<Tensor>{scores});
    CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return finite_log_softmax(in[0], mask); },
                    std::vector<Tensor>{scores});
  }
  // x used twice: the entropy of each row
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return sum(softmax(in[0]) * log_softmax(in[0]), {-1}); },
                  std::vector<Tensor>{scores});
}

TEST_CASE("a fully masked row is zero with zero gradient; masked entries get no gradient", "[softmax]") {
  Tensor mask = Tensor::from_bools({false, true, false, true, true, true}, {2, 3});  // row 1 fully masked
  Tensor g = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  const double p0 = 1 / (1 + std::exp(1.5)), p2 = 1 - p0;  // softmax of (0.5, 2)
  const double dot = p0 * 1 + p2 * 3;                       // rowsum(g p) for softmax
  for (bool take_log : {false, true}) {
    Tensor x = Tensor::from_vector({0.5, -1, 2, 3, 1, 0}, {2, 3}, DType::F64).requires_grad_();
    Tensor y = take_log ? log_softmax(x, mask) : softmax(x, mask);
    std::vector<double> v = y.to_vector();
    REQUIRE(v[1] == (take_log ? -kInf : 0.0));
    REQUIRE((v[3] == 0.0 && v[4] == 0.0 && v[5] == 0.0));
    y.backward(g);
    if (take_log)  // g - p rowsum(g) over the kept entries (1 and 3)
      require_values(x.grad(), {1 - p0 * 4, 0, 3 - p2 * 4, 0, 0, 0});
    else
      require_values(x.grad(), {p0 * (1 - dot), 0, p2 * (3 - dot), 0, 0, 0});
  }
}

TEST_CASE("large logits do not overflow", "[softmax]") {
  const double lse = std::log(1 + std::exp(-1.0));  // log-sum-exp of (1000, 999, 0) minus 1000
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = Tensor::from_vector({1000, 999, 0}, {1, 3}, dt).requires_grad_();
    require_values(softmax(x), {1 / (1 + std::exp(-1.0)), std::exp(-1.0) / (1 + std::exp(-1.0)), 0}, 1e-6);
    Tensor l = log_softmax(x);
    require_values(l, {-lse, -1 - lse, -1000 - lse}, 1e-6);
    l.backward(Tensor::from_vector({1, 0, 0}, {1, 3}, dt));
    // d l_0 / dx = onehot(0) - softmax(x)
    require_values(x.grad(), {std::exp(-1.0) / (1 + std::exp(-1.0)), -std::exp(-1.0) / (1 + std::exp(-1.0)), 0},
                   1e-6);
  }
}

TEST_CASE("softmax rejects bad masks and logits, naming the op and shapes", "[softmax][errors]") {
  Tensor x = Tensor::ones({2, 3});
  REQUIRE_THROWS_WITH(softmax(x, Tensor::from_bools({true, false}, {2})),
                      Catch::Contains("softmax") && Catch::Contains("(2)") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(log_softmax(x, Tensor::from_bools(std::vector<bool>(6), {1, 2, 3})),
                      Catch::Contains("log_softmax") && Catch::Contains("(1, 2, 3)") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(softmax(x, Tensor::zeros({2, 3})),
                      Catch::Contains("softmax") && Catch::Contains("bool") && Catch::Contains("float32(2, 3)"));
  REQUIRE_THROWS_WITH(softmax(Tensor::scalar(1.0)), Catch::Contains("softmax") && Catch::Contains("()"));
  REQUIRE_THROWS_WITH(log_softmax(Tensor::from_ints({1, 2}, {1, 2})),
                      Catch::Contains("log_softmax") && Catch::Contains("int32(1, 2)"));
}
