// The engine: accumulation, freeing, no-grad, deep graphs, leaks, the checker itself, dot output.
#include "tests/testing.h"

#include <thread>

using namespace dl;
using namespace dl::testing;

TEST_CASE("a tensor used twice accumulates both gradients", "[autograd]") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}, DType::F64).requires_grad_();
  Tensor y = x * x + x;  // dy/dx = 2x + 1
  y.backward(Tensor::ones({3}, DType::F64));
  require_values(x.grad(), {3, 5, 7});
}

// The engine sums gradients in place only into buffers nobody else sees. Through an add (whose
// backward passes g on as is) and a view, a gradient aliases the caller's grad_output or a
// held .grad(); summing into it in place would overwrite them and corrupt the result.
TEST_CASE("backward through an add and a view to a tensor used twice leaves grad_output and held gradients untouched", "[autograd]") {
  const std::vector<double> xv{0.5, -1.0, 2.0}, ones{1, 1, 1};
  std::vector<double> expected;  // y = a + a*a with a = 2x: dy/dx = 2 (1 + 2a) = 2 + 8x
  for (double x : xv) expected.push_back(2 + 8 * x);
  SECTION("through an add") {
    Tensor x = Tensor::from_vector(xv, {3}, DType::F64).requires_grad_();
    Tensor a = x * 2.0;
    Tensor g = Tensor::ones({3}, DType::F64);
    (a + a * a).backward(g);
    require_values(g, ones);
    require_values(x.grad(), expected);
  }
  SECTION("through a view, then an add") {
    Tensor x = Tensor::from_vector(xv, {3}, DType::F64).requires_grad_();
    Tensor v = reshape(x * 2.0, {3, 1});
    Tensor g = Tensor::ones({3, 1}, DType::F64);
    (v + v * v).backward(g);
    require_values(g, ones);
    require_values(x.grad(), expected);
  }
  SECTION("a leaf used twice, its earlier gradient held by the caller") {
    Tensor x = Tensor::from_vector(xv, {3}, DType::F64).requires_grad_();
    Tensor g = Tensor::ones({3}, DType::F64);
    (x + Tensor::zeros({3}, DType::F64)).backward(g);  // add passes g on as is: x.grad() gets g's values, not g's buffer
    g.fill_(7.0);           // the caller reuses its buffer: the leaf's gradient must not change
    require_values(x.grad(), ones);
    g.fill_(1.0);
    Tensor held = x.grad();
    Tensor a = reshape(x, {3, 1});
    (a + a * a).backward(Tensor::ones({3, 1}, DType::F64));  // adds 1 + 2x
    require_values(g, ones);
    require_values(held, ones);
    std::vector<double> total;
    for (double xi : xv) total.push_back(1 + 1 + 2 * xi);
    require_values(x.grad(), total);
    Tensor held2 = x.grad();
    (x * 3.0).backward(Tensor::ones({3}, DType::F64));
    require_values(held2, total);
    require_values(held, ones);
    require_values(g, ones);
  }
}

TEST_CASE("leaf gradients accumulate across backward calls until zero_grad", "[autograd]") {
  Tensor x = Tensor::from_vector({2}, {1}, DType::F64).requires_grad_();
  (x * 3.0).backward(Tensor::ones({1}, DType::F64));
  (x * 3.0).backward(Tensor::ones({1}, DType::F64));
  require_values(x.grad(), {6});
  x.zero_grad();
  REQUIRE_FALSE(x.grad().defined());
}

TEST_CASE("backward from a scalar seeds 1; a non-scalar needs grad_output", "[autograd]") {
  Tensor x = Tensor::from_vector({1, 2}, {2}, DType::F64).requires_grad_();
  REQUIRE_THROWS_WITH((x * 2.0).backward(), Catch::Contains("backward") && Catch::Contains("(2)"));
  Tensor s = sum(x * x);
  s.backward();
  require_values(x.grad(), {2, 4});
}

TEST_CASE("no-grad mode records nothing", "[autograd]") {
  Tensor x = Tensor::ones({2}, DType::F64).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = exp(x) * x;
    REQUIRE_FALSE(y.requires_grad());
    REQUIRE(y.grad_fn() == nullptr);
  }
  REQUIRE(grad_enabled());
  REQUIRE((x * x).grad_fn() != nullptr);
}

TEST_CASE("backward twice without keep_graph is a clear error; with it, gradients add", "[autograd]") {
  Tensor x = Tensor::from_vector({1.5}, {1}, DType::F64).requires_grad_();
  Tensor y = exp(x) * x;
  y.backward(Tensor::ones({1}, DType::F64));
  REQUIRE_THROWS_WITH(y.backward(Tensor::ones({1}, DType::F64)), Catch::Contains("already freed"));

  Tensor z = Tensor::from_vector({1.5}, {1}, DType::F64).requires_grad_();
  Tensor w = exp(z) * z;
  w.backward(Tensor::ones({1}, DType::F64), /*keep_graph=*/true);
  double once = z.grad().item();
  w.backward(Tensor::ones({1}, DType::F64));
  REQUIRE(z.grad().item() == Approx(2 * once).epsilon(1e-15));
}

TEST_CASE("a gradient that stops on one branch still flows along the others", "[autograd]") {
  Tensor w = Tensor::from_vector({0.5, -1.0}, {2}, DType::F64).requires_grad_();
  Tensor y = w * 2.0;  // non-leaf with two consumers
  Tensor dead = record("stop", Tensor::zeros({2}, DType::F64), {y},
                       [](const Tensor&, const Needs&) { return Grads{Tensor()}; });
  Tensor out = dead + y * 3.0;
  out.backward(Tensor::ones({2}, DType::F64));
  require_values(w.grad(), {6, 6});
}

TEST_CASE("backward and teardown of a 200000-op chain do not recurse", "[autograd]") {
  Tensor x = Tensor::from_vector({1.0}, {1}, DType::F64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 200000; ++i) y = y + 0.0;
  y.backward(Tensor::ones({1}, DType::F64));
  REQUIRE(x.grad().item() == 1.0);
  Tensor z = x;
  for (int i = 0; i < 200000; ++i) z = z * 1.0;
  z = Tensor();  // destroying the unreleased chain must not overflow the stack either
  SUCCEED();
}

TEST_CASE("building and freeing graphs in a loop returns every byte and node", "[autograd][leak]") {
  Generator gen(3);
  const int64_t bytes0 = live_storage_bytes(), nodes0 = live_nodes();
  for (int round = 0; round < 50; ++round) {
    Tensor a = rand64({64, 64}, gen), b = rand64({64, 64}, gen);
    Tensor h = a;
    for (int k = 0; k < 20; ++k) h = exp(mul(h, 0.01)) * b + a;
    if (round % 2) sum(h).backward();  // half the graphs go through backward, half do not
  }
  REQUIRE(live_storage_bytes() == bytes0);
  REQUIRE(live_nodes() == nodes0);
}

TEST_CASE("the gradient checker fails on a deliberately wrong backward", "[autograd][gradcheck]") {
  Generator gen(1);
  Tensor x = rand64({4}, gen);
  auto right = [](const std::vector<Tensor>& in) { return in[0] * in[0]; };
  auto wrong = [](const std::vector<Tensor>& in) {
    Tensor xs = in[0].detach();
    Tensor out = Tensor::empty(xs.shape(), xs.dtype());
    out.copy_(xs);
    {
      NoGradGuard ng;
      out = xs * xs;
    }
    // claims d(x^2)/dx = 2x + 0.001: off by far less than the values, far more than 1e-6
    return record("square_wrong", out, {in[0]}, [xs](const Tensor& g, const Needs&) {
      return Grads{g * (xs * 2.0 + 0.001)};
    });
  };
  REQUIRE(gradcheck(right, {x}).ok);
  GradcheckReport bad = gradcheck(wrong, {x});
  REQUIRE_FALSE(bad.ok);
  REQUIRE(bad.str().find("FAILED") != std::string::npos);
}

TEST_CASE("the gradient checker weights the output, so sum(softmax) cannot hide a bug", "[autograd][gradcheck]") {
  Generator gen(2);
  Tensor x = rand64({2, 3}, gen);
  // Backward returns zero: an unweighted sum of softmax has true gradient zero and would pass.
  auto zero_grad_softmax = [](const std::vector<Tensor>& in) {
    Tensor out;
    {
      NoGradGuard ng;
      out = softmax(in[0]);
    }
    return record("softmax_zero_grad", out, {in[0]}, [](const Tensor& g, const Needs&) {
      return Grads{g * 0.0};
    });
  };
  REQUIRE_FALSE(gradcheck(zero_grad_softmax, {x}).ok);
}

TEST_CASE("gradcheck refuses to check nothing", "[autograd][gradcheck]") {
  Tensor x = Tensor::ones({2}, DType::F64);
  REQUIRE_THROWS_WITH(gradcheck([](const std::vector<Tensor>& in) { return in[0] * 2.0; }, {x}),
                      Catch::Contains("no input requires grad"));
}

TEST_CASE("to_dot writes every op with its shape", "[autograd]") {
  Tensor a = Tensor::ones({2, 3}, DType::F64).requires_grad_();
  Tensor b = exp(a) * a;
  std::string dot = to_dot(b);
  REQUIRE(dot.find("digraph") == 0);
  REQUIRE(dot.find("exp\\n(2, 3)") != std::string::npos);
  REQUIRE(dot.find("mul\\n(2, 3)") != std::string::npos);
  REQUIRE(dot.find("requires_grad") != std::string::npos);
  REQUIRE(dot.find("n1 -> n0") != std::string::npos);
}

TEST_CASE("tensor basics: views share storage, contiguous copies, bad access throws", "[tensor]") {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor v = make_view(t, {3, 2}, {1, 3}, 0);  // the transpose
  REQUIRE_FALSE(v.is_contiguous());
  require_values(v, {1, 4, 2, 5, 3, 6});
  require_values(v.contiguous(), {1, 4, 2, 5, 3, 6});
  REQUIRE(t.at({1, 2}) == 6);
  REQUIRE_THROWS_WITH(t.at({2, 0}), Catch::Contains("Tensor::at"));
  REQUIRE_THROWS_WITH(t.data<double>(), Catch::Contains("float32(2, 3)"));
  REQUIRE_THROWS_WITH(Tensor::from_vector({1, 2}, {3}), Catch::Contains("from_vector"));
  REQUIRE_THROWS_WITH(Tensor().shape(), Catch::Contains("undefined"));
  REQUIRE(t.to(DType::F64).dtype() == DType::F64);
  require_values(t.to(DType::I32), {1, 2, 3, 4, 5, 6});
}

TEST_CASE("the generator is deterministic from its seed", "[tensor]") {
  Generator a(42), b(42), c(43);
  Tensor x = randn({100}, a), y = randn({100}, b), z = randn({100}, c);
  REQUIRE(max_abs_diff(x, y) == 0);
  REQUIRE(max_abs_diff(x, z) > 0);
  std::vector<double> u = rand_uniform({1000}, a, -2, 3).to_vector();
  for (double v : u) REQUIRE((v >= -2 && v < 3));
}
