// The gradient checker's own proof: it must fail on every kind of wrong backward it exists to
// catch (one wrong input among several, a NaN, an error of a relative 1e-4) and name the input.
#include "tests/testing.h"

using namespace dl;
using namespace dl::testing;

namespace {

// x * y whose backward returns dx = g y * (1 + ex) and dy = g x * (1 + ey): the true product
// rule when ex = ey = 0, a relative error of ex (ey) on that input's gradient otherwise.
Tensor product_with_errors(const Tensor& x, const Tensor& y, double ex, double ey) {
  Tensor xs = x.detach(), ys = y.detach();
  Tensor out;
  {
    NoGradGuard no_grad;
    out = xs * ys;
  }
  return record("product_with_errors", out, {x, y}, [xs, ys, ex, ey](const Tensor& g, const Needs&) {
    return Grads{g * ys * (1 + ex), g * xs * (1 + ey)};
  });
}

GradcheckReport check_product(double ex, double ey) {
  Generator gen(7);
  Tensor x = rand64({5}, gen), y = rand64({5}, gen);
  return gradcheck([=](const std::vector<Tensor>& in) { return product_with_errors(in[0], in[1], ex, ey); },
                   {x, y});
}

}  // namespace

TEST_CASE("gradcheck: a right backward of two inputs passes", "[gradcheck]") {
  GradcheckReport r = check_product(0, 0);
  INFO(r.str());
  REQUIRE(r.ok);
  REQUIRE(r.inputs.size() == 2);
  REQUIRE(r.inputs[0].ok);
  REQUIRE(r.inputs[1].ok);
}

TEST_CASE("gradcheck: one wrong input of two fails the check and is the one reported", "[gradcheck]") {
  for (int wrong = 0; wrong < 2; ++wrong) {
    GradcheckReport r = check_product(wrong == 0 ? 1e-2 : 0, wrong == 1 ? 1e-2 : 0);
    INFO("wrong input " << wrong << "\n" << r.str());
    REQUIRE_FALSE(r.ok);
    REQUIRE(r.inputs.size() == 2);
    REQUIRE(r.inputs[wrong].ok == false);
    REQUIRE(r.inputs[1 - wrong].ok == true);
    REQUIRE(r.inputs[wrong].input == size_t(wrong));
    REQUIRE(r.str().find("input " + std::to_string(wrong) + ": FAILED") != std::string::npos);
    REQUIRE(r.str().find("input " + std::to_string(1 - wrong) + ": ok") != std::string::npos);
  }
}

TEST_CASE("gradcheck: a backward off by a relative 1e-4 fails at the default options", "[gradcheck]") {
  GradcheckReport r = check_product(1e-4, 0);
  INFO(r.str());
  REQUIRE_FALSE(r.ok);
  REQUIRE_FALSE(r.inputs[0].ok);
  // the worst element's figures are the ones that failed: analytic / numeric = 1 + 1e-4
  REQUIRE(r.inputs[0].analytic == Approx(r.inputs[0].numeric * (1 + 1e-4)).epsilon(1e-6));
  REQUIRE(r.inputs[0].abs_err > 0);
}

TEST_CASE("gradcheck: a NaN or infinite gradient fails, and becomes the worst element", "[gradcheck]") {
  for (double bad : {std::nan(""), double(INFINITY)}) {
    Generator gen(8);
    Tensor x = rand64({4}, gen);
    auto f = [bad](const std::vector<Tensor>& in) {
      Tensor xs = in[0].detach();
      Tensor out;
      {
        NoGradGuard no_grad;
        out = xs * 3.0;
      }
      return record("bad_gradient", out, {in[0]}, [bad](const Tensor& g, const Needs&) {
        std::vector<double> v = (g * 3.0).to_vector();
        v[2] = bad;  // one element of the gradient is NaN (inf), the rest right
        return Grads{Tensor::from_vector(v, g.shape(), g.dtype())};
      });
    };
    GradcheckReport r = gradcheck(f, {x});
    INFO(r.str());
    REQUIRE_FALSE(r.ok);
    REQUIRE(r.inputs[0].worst_element == 2);
  }
}

TEST_CASE("gradcheck: an input that gets no gradient at all is compared as zero", "[gradcheck]") {
  // f uses y, but its op claims no gradient for it: the checker must not skip y
  Generator gen(9);
  Tensor x = rand64({3}, gen), y = rand64({3}, gen);
  auto f = [](const std::vector<Tensor>& in) {
    Tensor xs = in[0].detach(), ys = in[1].detach();
    Tensor out;
    {
      NoGradGuard no_grad;
      out = xs * ys;
    }
    return record("drops_y", out, {in[0], in[1]}, [ys](const Tensor& g, const Needs&) {
      return Grads{g * ys, Tensor()};
    });
  };
  GradcheckReport r = gradcheck(f, {x, y});
  INFO(r.str());
  REQUIRE_FALSE(r.ok);
  REQUIRE(r.inputs[0].ok);
  REQUIRE_FALSE(r.inputs[1].ok);
}
