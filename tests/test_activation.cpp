#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

TEST_CASE("activations: values", "[activation]") {
  const double ln2 = std::log(2.0), ln3 = std::log(3.0);
  require_values(relu(Tensor::from_vector({-1, 0.5, 2}, {3}, DType::F64)), {0, 0.5, 2});
  // sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4, tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 3/5
  require_values(sigmoid(Tensor::from_vector({0, ln3, -ln3}, {3}, DType::F64)), {0.5, 0.75, 0.25});
  require_values(tanh(Tensor::from_vector({0, ln2, -ln2}, {3}, DType::F64)), {0, 0.6, -0.6});
  require_values(silu(Tensor::from_vector({0, ln3}, {2}, DType::F64)), {0, 0.75 * ln3});
  // x Phi(x) and the tanh form, reference values from Python's math.erf / math.tanh
  Tensor x = Tensor::from_vector({1, -1, 0.5}, {3}, DType::F64);
  require_values(gelu(x), {0.8413447460685429, -0.15865525393145707, 0.34573123063700656});
  require_values(gelu(x, GeluApprox::Tanh), {0.8411919906082768, -0.15880800939172324, 0.34571400982514394});
  require_values(gelu(Tensor::from_vector({1, -1}, {2})), {0.8413447460685429, -0.15865525393145707}, 1e-6);
}

TEST_CASE("activations: gradients", "[activation][gradcheck]") {
  Generator gen(11);
  Tensor x = rand64({3, 5}, gen, 2.0);
  // relu's derivative jumps at 0: push every entry at least 0.1 away from it
  Tensor away = Tensor::from_vector([&] {
    std::vector<double> v = x.to_vector();
    for (double& e : v) e += e < 0 ? -0.1 : 0.1;
    return v;
  }(), {3, 5}, DType::F64).requires_grad_();
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return relu(in[0]) * in[0]; }, std::vector<Tensor>{away});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return gelu(in[0]); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return gelu(in[0], GeluApprox::Tanh); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return silu(in[0]); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return sigmoid(in[0]); }, std::vector<Tensor>{x});
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return tanh(in[0]); }, std::vector<Tensor>{x});
}

TEST_CASE("activations: extreme inputs saturate without NaN", "[activation]") {
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = Tensor::from_vector({-1000, 1000}, {2}, dt).requires_grad_();
    Tensor y = sigmoid(x) + silu(x) + tanh(x) + gelu(x) + gelu(x, GeluApprox::Tanh);
    // sigmoid: 0, 1   silu: 0, 1000   tanh: -1, 1   gelu (both forms): 0, 1000
    require_values(y, {-1, 3002});
    y.backward(Tensor::ones({2}, dt));
    // derivatives: sigmoid 0, silu 0 and 1, tanh 0, gelu 0 and 1 (twice)
    require_values(x.grad(), {0, 3});
  }
}

TEST_CASE("activations reject non-float input, naming the op", "[activation][errors]") {
  Tensor i = Tensor::from_ints({1, 2}, {2});
  REQUIRE_THROWS_WITH(relu(i), Catch::Contains("relu") && Catch::Contains("int32"));
  REQUIRE_THROWS_WITH(gelu(i, GeluApprox::Tanh), Catch::Contains("gelu") && Catch::Contains("int32"));
  REQUIRE_THROWS_WITH(sigmoid(Tensor::from_bools({true}, {1})), Catch::Contains("sigmoid") && Catch::Contains("bool"));
}

// The float kernels use the vectorizable fast_exp / fast_erf (ops/fast_math.h), the double ones
// libm: the two must agree to float precision, values and gradients, across the whole range.
TEST_CASE("activations: float32 agrees with float64, values and gradients", "[activation]") {
  std::vector<double> v;
  for (double e = -30; e <= 30; e += 0.37) v.push_back(e);
  const int64_t n = static_cast<int64_t>(v.size());
  Generator gen(3);
  const Tensor w64 = rand64({n}, gen, 1.0);  // weights the output, so each gradient entry is tested
  const Tensor w32 = Tensor::from_vector(w64.to_vector(), {n});
  using Unary = Tensor (*)(const Tensor&);
  const std::vector<std::pair<const char*, Unary>> ops = {
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }}};
  for (const auto& [name, f] : ops) {
    INFO(name);
    Tensor x64 = Tensor::from_vector(v, {n}, DType::F64).requires_grad_();
    Tensor x32 = Tensor::from_vector(v, {n}).requires_grad_();
    const Tensor y64 = f(x64), y32 = f(x32);
    sum(y64 * w64).backward();
    sum(y32 * w32).backward();
    require_values(y32, y64.to_vector(), 1e-6);
    require_values(x32.grad(), x64.grad().to_vector(), 1e-6);
  }
}
