#include "tests/testing.h"

#include <cmath>
#include "nn/layers.h"
#include "nn/linear.h"
#include "nn/optim.h"
#include "nn/schedule.h"

using namespace dl;
using namespace dl::testing;

namespace {

// A 2-element float64 parameter p = [1, -2] named "p".
NamedTensors one_param() {
  return {{"p", Tensor::from_vector({1, -2}, {2}, DType::F64).requires_grad_()}};
}

// Two steps with the fixed gradients g1 = [0.5, 1], then g2 = [-1, 2]; returns p.
std::vector<double> two_steps(Optimizer& opt) {
  const Tensor& p = opt.params()[0].second;
  p.set_grad(Tensor::from_vector({0.5, 1}, {2}, DType::F64));
  opt.step();
  p.set_grad(Tensor::from_vector({-1, 2}, {2}, DType::F64));
  opt.step();
  return p.to_vector();
}

}  // namespace

TEST_CASE("SGD: plain, momentum with weight decay, Nesterov, by hand", "[optim]") {
  SGD plain(one_param(), {0.1});
  // p = [1, -2] - 0.1 [0.5, 1] - 0.1 [-1, 2]
  require_values(Tensor::from_vector(two_steps(plain), {2}, DType::F64), {1 - 0.05 + 0.1, -2 - 0.1 - 0.2});

  SGD momentum(one_param(), {0.1, 0.9, false, 0.1});
  // step 1: d = g1 + 0.1 p = [0.6, 0.8];  buf = d;  p = [1 - 0.06, -2 - 0.08] = [0.94, -2.08]
  // step 2: d = g2 + 0.1 p = [-0.906, 1.792];  buf = 0.9 [0.6, 0.8] + d = [-0.366, 2.512]
  //         p = [0.94 + 0.0366, -2.08 - 0.2512]
  require_values(Tensor::from_vector(two_steps(momentum), {2}, DType::F64), {0.9766, -2.3312});
  require_values(momentum.state_dict().at("p.momentum_buffer"), {-0.366, 2.512});

  SGD nesterov(one_param(), {0.1, 0.9, true, 0.0});
  // step 1: buf = g1 = [0.5, 1];  d = g1 + 0.9 buf = [0.95, 1.9];  p = [0.905, -2.19]
  // step 2: buf = 0.9 [0.5, 1] + g2 = [-0.55, 2.9];  d = g2 + 0.9 buf = [-1.495, 4.61]
  //         p = [0.905 + 0.1495, -2.19 - 0.461]
  require_values(Tensor::from_vector(two_steps(nesterov), {2}, DType::F64), {1.0545, -2.651});
  REQUIRE(nesterov.step_count() == 2);
  REQUIRE_THROWS_WITH(SGD(one_param(), {0.1, 0.0, true}), Catch::Contains("Nesterov"));
}

TEST_CASE("Adam and AdamW: two steps by hand", "[optim]") {
  const double b1c1 = 1 - 0.9, b2c1 = 1 - 0.999;              // 1 - beta^1
  const double b1c2 = 1 - 0.9 * 0.9, b2c2 = 1 - 0.999 * 0.999;  // 1 - beta^2
  const double eps = 1e-8;

  Adam adam(one_param(), {0.1, 0.9, 0.999, eps, 0.0});
  // step 1: m = 0.1 g1 = [0.05, 0.1];  v = 0.001 g1^2 = [0.00025, 0.001]
  //         p -= 0.1 / (1 - 0.9) * m / (sqrt(v) / sqrt(1 - 0.999) + eps)
  double p0 = 1 - 0.1 / b1c1 * 0.05 / (std::sqrt(0.00025) / std::sqrt(b2c1) + eps);
  double p1 = -2 - 0.1 / b1c1 * 0.1 / (std::sqrt(0.001) / std::sqrt(b2c1) + eps);
  // step 2: m = 0.9 [0.05, 0.1] + 0.1 [-1, 2] = [-0.055, 0.29]
  //         v = 0.999 [0.00025, 0.001] + 0.001 [1, 4] = [0.00124975, 0.004999]
  p0 -= 0.1 / b1c2 * -0.055 / (std::sqrt(0.00124975) / std::sqrt(b2c2) + eps);
  p1 -= 0.1 / b1c2 * 0.29 / (std::sqrt(0.004999) / std::sqrt(b2c2) + eps);
  require_values(Tensor::from_vector(two_steps(adam), {2}, DType::F64), {p0, p1}, 1e-12);
  auto state = adam.state_dict();
  require_values(state.at("p.exp_avg"), {-0.055, 0.29}, 1e-12);
  require_values(state.at("p.exp_avg_sq"), {0.00124975, 0.004999}, 1e-12);
  require_values(state.at("p.step"), {2});

  Adam l2(one_param(), {0.1, 0.9, 0.999, eps, 0.5});
  // weight decay enters the gradient: step 1 d = g1 + 0.5 p = [1, 0]
  //   m = [0.1, 0], v = [0.001, 0]  ->  p = [1 - 0.1 / 0.1 * 0.1 / (sqrt(0.001) / sqrt(0.001) + eps), -2]
  double q0 = 1 - 0.1 / b1c1 * 0.1 / (std::sqrt(0.001) / std::sqrt(b2c1) + eps), q1 = -2;
  // step 2: d = g2 + 0.5 p = [-1 + 0.5 q0, 1];  m = 0.9 [0.1, 0] + 0.1 d;  v = 0.999 [0.001, 0] + 0.001 d^2
  const double d0 = -1 + 0.5 * q0;
  const double m0 = 0.9 * 0.1 + 0.1 * d0, v0 = 0.999 * 0.001 + 0.001 * d0 * d0;
  q0 -= 0.1 / b1c2 * m0 / (std::sqrt(v0) / std::sqrt(b2c2) + eps);
  q1 -= 0.1 / b1c2 * 0.1 / (std::sqrt(0.001) / std::sqrt(b2c2) + eps);
  require_values(Tensor::from_vector(two_steps(l2), {2}, DType::F64), {q0, q1}, 1e-12);

  AdamW adamw(one_param(), {0.1, 0.9, 0.999, eps, 0.5});
  // decoupled: p *= 1 - 0.1 * 0.5 first, then the plain Adam update with the raw gradient
  double r0 = 1 * 0.95 - 0.1 / b1c1 * 0.05 / (std::sqrt(0.00025) / std::sqrt(b2c1) + eps);
  double r1 = -2 * 0.95 - 0.1 / b1c1 * 0.1 / (std::sqrt(0.001) / std::sqrt(b2c1) + eps);
  r0 = r0 * 0.95 - 0.1 / b1c2 * -0.055 / (std::sqrt(0.00124975) / std::sqrt(b2c2) + eps);
  r1 = r1 * 0.95 - 0.1 / b1c2 * 0.29 / (std::sqrt(0.004999) / std::sqrt(b2c2) + eps);
  require_values(Tensor::from_vector(two_steps(adamw), {2}, DType::F64), {r0, r1}, 1e-12);
}

TEST_CASE("Optimizer: skips parameters without gradient, zero_grad, state names", "[optim]") {
  Generator gen(1);
  Linear lin(2, 3, gen);
  Adam adam(lin.named_parameters(), {});
  auto names = adam.state_dict();
  REQUIRE(names.size() == 6);
  REQUIRE(names.count("weight.exp_avg"));
  REQUIRE(names.count("bias.step"));
  const std::vector<double> bias_before = lin.bias.to_vector();
  lin.weight.set_grad(Tensor::ones({3, 2}));
  adam.step();
  REQUIRE(lin.bias.to_vector() == bias_before);
  REQUIRE(adam.state_dict().at("bias.step").item() == 0);
  REQUIRE(adam.state_dict().at("weight.step").item() == 1);
  adam.zero_grad();
  REQUIRE(!lin.weight.grad().defined());
  REQUIRE_THROWS_WITH(SGD({{"a", lin.weight}, {"b", lin.weight}}, {}), Catch::Contains("'b'") && Catch::Contains("twice"));
  lin.to(DType::F64);
  lin.weight.set_grad(Tensor::ones({3, 2}, DType::F64));
  REQUIRE_THROWS_WITH(adam.step(), Catch::Contains("weight") && Catch::Contains("float64(3, 2)"));
}

TEST_CASE("Schedules: constant, warm-up then cosine or linear decay", "[optim]") {
  REQUIRE(constant_lr(0.3).at(0) == 0.3);
  REQUIRE(constant_lr(0.3).at(1000) == 0.3);
  LRSchedule cos = warmup_cosine(1.0, 4, 14, 0.1);
  REQUIRE(cos.at(0) == Approx(0.25));  // (0 + 1) / 4
  REQUIRE(cos.at(3) == Approx(1.0));
  REQUIRE(cos.at(4) == Approx(1.0));   // decay starts at p = 0
  REQUIRE(cos.at(9) == Approx(0.1 + 0.9 * 0.5));  // p = 1/2: cos(pi/2) = 0
  REQUIRE(cos.at(14) == Approx(0.1));
  REQUIRE(cos.at(99) == Approx(0.1));
  LRSchedule lin = warmup_linear(2.0, 2, 12);
  REQUIRE(lin.at(0) == Approx(1.0));
  REQUIRE(lin.at(2) == Approx(2.0));
  REQUIRE(lin.at(7) == Approx(1.0));  // p = 1/2
  REQUIRE(lin.at(12) == Approx(0.0));
  REQUIRE_THROWS_WITH(warmup_cosine(1.0, 5, 5).at(0), Catch::Contains("LRSchedule") && Catch::Contains("total 5"));
}

TEST_CASE("clip_grad_norm: total norm over all gradients, scales only above the bound", "[optim]") {
  Tensor a = Tensor::zeros({2}, DType::F64).requires_grad_(), b = Tensor::zeros({1}, DType::F64).requires_grad_();
  Tensor c = Tensor::zeros({1}, DType::F64).requires_grad_();  // no gradient: ignored
  a.set_grad(Tensor::from_vector({3, 4}, {2}, DType::F64));
  b.set_grad(Tensor::from_vector({12}, {1}, DType::F64));
  REQUIRE(clip_grad_norm({a, b, c}, 20.0) == Approx(13.0));  // sqrt(9 + 16 + 144)
  require_values(a.grad(), {3, 4});
  REQUIRE(clip_grad_norm({a, b, c}, 6.5) == Approx(13.0));
  const double s = 6.5 / (13.0 + 1e-6);
  require_values(a.grad(), {3 * s, 4 * s});
  require_values(b.grad(), {12 * s});
  REQUIRE(!c.grad().defined());
}

TEST_CASE("AdamW: with no gradient the weights shrink by exactly 1 - lr wd a step and the moments stay 0", "[optim]") {
  // decoupled decay never enters the moments; Adam's L2 decay (through the gradient) would
  AdamW adamw(one_param(), {0.1, 0.9, 0.999, 1e-8, 0.5});
  const Tensor& p = adamw.params()[0].second;
  for (int step = 1; step <= 3; ++step) {
    p.set_grad(Tensor::zeros({2}, DType::F64));
    adamw.step();
    const double shrink = std::pow(1 - 0.1 * 0.5, step);
    require_values(p, {1 * shrink, -2 * shrink}, 1e-15);
  }
  require_values(adamw.state_dict().at("p.exp_avg"), {0, 0});
  require_values(adamw.state_dict().at("p.exp_avg_sq"), {0, 0});
  // and with weight decay 0 AdamW is Adam, step for step
  AdamW no_decay(one_param(), {0.1, 0.9, 0.999, 1e-8, 0.0});
  Adam adam(one_param(), {0.1, 0.9, 0.999, 1e-8, 0.0});
  REQUIRE(two_steps(no_decay) == two_steps(adam));
}

TEST_CASE("Schedules: every phase at an interior point, by formula", "[optim]") {
  const double pi = std::acos(-1.0);
  LRSchedule cos = warmup_cosine(2.0, 4, 24, 0.2);
  for (int64_t s = 0; s < 4; ++s) REQUIRE(cos.at(s) == Approx(2.0 * (s + 1) / 4).epsilon(1e-14));
  for (int64_t s = 4; s <= 24; ++s) {  // p = (s - 4) / 20
    const double p = (s - 4) / 20.0;
    REQUIRE(cos.at(s) == Approx(0.2 + 1.8 * (1 + std::cos(pi * p)) / 2).epsilon(1e-14));
  }
  LRSchedule lin = warmup_linear(1.0, 0, 8, 0.25);  // no warm-up: decay from step 0
  for (int64_t s = 0; s <= 8; ++s) REQUIRE(lin.at(s) == Approx(0.25 + 0.75 * (1 - s / 8.0)).epsilon(1e-14));
  REQUIRE(lin.at(9) == 0.25);
}

TEST_CASE("clip_grad_norm: one coefficient for every gradient, the clipped norm is the bound", "[optim]") {
  Generator gen(5);
  std::vector<Tensor> params;
  double sq = 0;
  for (int64_t n : {7, 1, 4}) {
    Tensor p = Tensor::zeros({n}, DType::F64).requires_grad_();
    Tensor g = randn({n}, gen, 0.0, 3.0, DType::F64);
    for (double x : g.to_vector()) sq += x * x;
    p.set_grad(g);
    params.push_back(p);
  }
  std::vector<std::vector<double>> before;
  for (const Tensor& p : params) before.push_back(p.grad().to_vector());
  const double total = clip_grad_norm(params, 1.0);
  REQUIRE(total == Approx(std::sqrt(sq)).epsilon(1e-14));
  double clipped = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::vector<double> g = params[i].grad().to_vector();
    for (size_t e = 0; e < g.size(); ++e) {
      REQUIRE(g[e] == Approx(before[i][e] / (total + 1e-6)).epsilon(1e-14));
      clipped += g[e] * g[e];
    }
  }
  REQUIRE(std::sqrt(clipped) == Approx(1.0).epsilon(1e-5));
  // already within the bound: every gradient is left exactly as it was
  const std::vector<double> now = params[0].grad().to_vector();
  clip_grad_norm(params, 10.0);
  REQUIRE(params[0].grad().to_vector() == now);
}

namespace {

struct MLP : Module {
  explicit MLP(Generator& gen) {
    fc1 = register_module("fc1", std::make_shared<Linear>(2, 8, gen));
    fc2 = register_module("fc2", std::make_shared<Linear>(8, 1, gen));
  }
  Tensor forward(const Tensor& x) const { return fc2->forward(tanh(fc1->forward(x))); }
  std::shared_ptr<Linear> fc1, fc2;
};

// Trains a 2-8-1 tanh MLP on XOR with Adam in float32; returns the loss after each step.
std::vector<double> train_xor(uint64_t seed, int steps) {
  Generator gen(seed);
  MLP mlp(gen);
  Adam adam(mlp.named_parameters(), {0.05});
  Tensor x = Tensor::from_vector({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  Tensor y = Tensor::from_vector({0, 1, 1, 0}, {4, 1});
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    adam.zero_grad();
    Tensor loss = mean(pow(mlp.forward(x) - y, 2.0));  // mean squared error
    loss.backward();
    adam.step();
    losses.push_back(loss.item());
  }
  return losses;
}

}  // namespace

TEST_CASE("A 2-8-1 MLP learns XOR with Adam, deterministically", "[optim]") {
  std::vector<double> losses = train_xor(3, 300);
  INFO("loss at step 0: " << losses.front() << ", at step 299: " << losses.back());
  REQUIRE(losses.front() > 0.1);
  REQUIRE(losses.back() < 0.01);
  REQUIRE(train_xor(3, 300) == losses);  // bitwise the same from the same seed
}
