#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

TEST_CASE("layer_norm: values", "[norm]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, -1, -1, -1, -1}, {2, 4}, DType::F64);
  Tensor w = Tensor::from_vector({1, 2, 0.5, -1}, {4}, DType::F64);
  Tensor b = Tensor::from_vector({0, 1, 0, 10}, {4}, DType::F64);
  const double eps = 1e-5;
  // row 0: mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
  const double s = 1 / std::sqrt(1.25 + eps);
  require_values(layer_norm(x, Tensor(), Tensor(), eps), {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, 0, 0, 0, 0});
  // a constant row normalises to 0, leaving only the bias
  require_values(layer_norm(x, w, b, eps),
                 {-1.5 * s, -0.5 * s * 2 + 1, 0.5 * s * 0.5, -1.5 * s + 10, 0, 1, 0, 10});
  require_values(layer_norm(x, w, Tensor(), eps), {-1.5 * s, -1.0 * s, 0.25 * s, -1.5 * s, 0, 0, 0, 0});
}

TEST_CASE("rms_norm: values", "[norm]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 0, 0, 0, 0}, {2, 1, 4}, DType::F64);
  Tensor w = Tensor::from_vector({1, 2, 0.5, -1}, {4}, DType::F64);
  const double eps = 1e-6;
  // row 0: mean square (1 + 4 + 9 + 16) / 4 = 7.5, no centring
  const double r = 1 / std::sqrt(7.5 + eps);
  require_values(rms_norm(x, Tensor(), eps), {r, 2 * r, 3 * r, 4 * r, 0, 0, 0, 0});
  Tensor y = rms_norm(x, w, eps);
  REQUIRE(y.shape() == Shape{2, 1, 4});
  require_values(y, {r, 4 * r, 1.5 * r, -4 * r, 0, 0, 0, 0});
  require_values(rms_norm(x.to(DType::F32), w.to(DType::F32), eps), {r, 4 * r, 1.5 * r, -4 * r, 0, 0, 0, 0}, 1e-6);
}

TEST_CASE("layer_norm: gradients of x, weight and bias", "[norm][gradcheck]") {
  Generator gen(21);
  Tensor x = rand64({2, 3, 5}, gen), w = rand64({5}, gen), b = rand64({5}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); },
                  (std::vector<Tensor>{x, w, b}));
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return layer_norm(in[0], Tensor(), Tensor()); },
                  (std::vector<Tensor>{x}));
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], Tensor()); },
                  (std::vector<Tensor>{x, w}));
  // x used twice, through a strided view
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) {
    return layer_norm(transpose(in[0], 0, 1), Tensor(), in[1]) * transpose(in[0], 0, 1);
  }, (std::vector<Tensor>{rand64({5, 5}, gen), b}));
}

TEST_CASE("rms_norm: gradients of x and weight", "[norm][gradcheck]") {
  Generator gen(22);
  Tensor x = rand64({4, 6}, gen), w = rand64({6}, gen);
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return rms_norm(in[0], in[1]); }, (std::vector<Tensor>{x, w}));
  CHECK_GRADIENTS([](const std::vector<Tensor>& in) { return rms_norm(in[0], Tensor()); }, (std::vector<Tensor>{x}));
  Tensor w_only = w.detach().clone().requires_grad_();
  x.requires_grad_(false);
  CHECK_GRADIENTS([x](const std::vector<Tensor>& in) { return rms_norm(x, in[0]); }, (std::vector<Tensor>{w_only}));
}

TEST_CASE("norm: weight and bias gradients summed over many row blocks", "[norm]") {
  // 5000 rows of 8 span several fixed-size row blocks, each with its own partial sums
  Generator gen(23);
  const int64_t R = 5000, C = 8;
  Tensor x = rand64({R, C}, gen), w = rand64({C}, gen), b = rand64({C}, gen);
  Tensor g = rand64({R, C}, gen, 1.0, false);
  layer_norm(x, w, b).backward(g);
  Tensor xhat = layer_norm(x.detach(), Tensor(), Tensor());
  std::vector<double> vg = g.to_vector(), vh = xhat.to_vector(), dw(C, 0.0), db(C, 0.0);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c) {
      dw[c] += vg[r * C + c] * vh[r * C + c];
      db[c] += vg[r * C + c];
    }
  require_values(w.grad(), dw, 1e-10);
  require_values(b.grad(), db, 1e-10);
  // the x gradient of the affine norm is that of the plain one fed g * w
  Tensor dx = x.grad();
  x.zero_grad();
  layer_norm(x, Tensor(), Tensor()).backward(g * w.detach());
  REQUIRE(max_abs_diff(dx, x.grad()) < 1e-12);
}

TEST_CASE("norm: bad calls name the op and the shapes", "[norm][errors]") {
  Tensor x = Tensor::ones({2, 3});
  REQUIRE_THROWS_WITH(layer_norm(x, Tensor::ones({4}), Tensor()),
                      Catch::Contains("layer_norm") && Catch::Contains("weight") && Catch::Contains("(4)") &&
                          Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(layer_norm(x, Tensor(), Tensor::ones({3}, DType::F64)),
                      Catch::Contains("layer_norm") && Catch::Contains("bias") && Catch::Contains("float64(3)"));
  REQUIRE_THROWS_WITH(rms_norm(x, Tensor::ones({2, 3})), Catch::Contains("rms_norm") && Catch::Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(rms_norm(Tensor::scalar(1.0), Tensor()), Catch::Contains("rms_norm") && Catch::Contains("()"));
  REQUIRE_THROWS_WITH(rms_norm(Tensor::from_ints({1, 2}, {2}), Tensor()), Catch::Contains("rms_norm") && Catch::Contains("int32"));
}
