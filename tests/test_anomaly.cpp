#include "tests/testing.h"

#include <limits>
#include "autograd/anomaly.h"
#include "models/lm.h"
#include "nn/optim.h"

using namespace dl;
using namespace dl::testing;

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

Tensor leaf(const std::vector<double>& v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).requires_grad_(); }

}  // namespace

TEST_CASE("anomaly mode is off by default: NaN and infinities flow on silently", "[anomaly]") {
  REQUIRE_FALSE(anomaly_mode());
  Tensor x = leaf({0.0, 1.0});
  REQUIRE(std::isinf(log(x).to_vector()[0]));
  REQUIRE(std::isnan(sqrt(x - 1.0).to_vector()[0]));
}

TEST_CASE("anomaly mode names the first forward op that made a NaN or an infinity", "[anomaly]") {
  AnomalyGuard on;
  Tensor x = leaf({1.0, 0.0, 4.0});
  REQUIRE_NOTHROW(exp(x) * 2.0);
  REQUIRE_THROWS_WITH(log(x), Catch::Contains("anomaly: op 'log' produced an infinity") &&
                                  Catch::Contains("element 1 of float32(3)"));
  REQUIRE_THROWS_WITH(sqrt(x - 2.0), Catch::Contains("op 'sqrt' produced NaN") && Catch::Contains("element 0"));
  // the first op in the chain is named, not the later ones it poisons
  REQUIRE_THROWS_WITH(exp(x * 100.0) - exp(x * 100.0), Catch::Contains("op 'exp' produced an infinity"));
  // NaN coming in from outside is reported by the first op that consumes it
  REQUIRE_THROWS_WITH(relu(leaf({kNaN})), Catch::Contains("op 'relu' produced NaN") &&
                                              Catch::Contains("an input already held NaN"));
}

TEST_CASE("anomaly mode accepts the infinities of masking and their flow", "[anomaly]") {
  AnomalyGuard on;
  Tensor x = leaf({1.0, 2.0, 3.0});
  Tensor mask = Tensor::from_bools({false, true, false}, {3});
  Tensor logp;
  REQUIRE_NOTHROW(logp = log_softmax(x, mask));
  REQUIRE(logp.to_vector()[1] == -kInf);
  REQUIRE_NOTHROW(masked_fill(x, mask, -kInf));
  REQUIRE_NOTHROW(sum(logp));  // -inf: flows on from an input, not made here
  // ... but -inf times 0 is a NaN made by mul
  REQUIRE_THROWS_WITH(logp * 0.0, Catch::Contains("op 'mul_scalar' produced NaN") &&
                                      Catch::Contains("from an infinite input"));
  // a masked softmax and its backward stay finite: nothing to report
  Tensor p = softmax(x, mask);
  REQUIRE_NOTHROW(sum(p * x).backward());
}

TEST_CASE("anomaly mode names the backward that made a NaN or an infinite gradient", "[anomaly]") {
  Tensor x = leaf({0.0, 1.0});
  Tensor y = sum(sqrt(x));  // finite forward; d sqrt(x) / dx = 1 / (2 sqrt(x)) is inf at 0
  {
    AnomalyGuard on;
    REQUIRE_THROWS_WITH(y.backward(Tensor(), true), Catch::Contains("anomaly: 'sqrt backward'") &&
                                                         Catch::Contains("gradient of input 0") &&
                                                         Catch::Contains("an infinity at element 0"));
  }
  REQUIRE_FALSE(anomaly_mode());  // the guard restores the previous mode
  y.backward();                   // off again: the infinite gradient goes through
  REQUIRE(std::isinf(x.grad().to_vector()[0]));
}

TEST_CASE("anomaly mode: a healthy training step reports nothing", "[anomaly]") {
  Generator gen(5);
  LMConfig c;
  c.vocab = 7;
  c.max_len = 6;
  c.layers = 1;
  c.block = {8, 16, FFNKind::GELU, true, 0.1, bench_attention("transformer", 2)};
  CausalLM model(c, gen);
  Adam opt(model.named_parameters(), AdamOptions{1e-2});
  std::vector<int32_t> ids(12);
  for (int32_t& t : ids) t = static_cast<int32_t>(gen.randint(0, 7));
  const Tensor tokens = Tensor::from_ints(ids, {2, 6});
  const Tensor inputs = slice(tokens, 1, 0, 5), targets = slice(tokens, 1, 1, 6).contiguous();
  AnomalyGuard on;
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    Tensor loss;
    REQUIRE_NOTHROW(loss = model.loss(inputs, targets));
    REQUIRE_NOTHROW(loss.backward());
    opt.step();
  }
  // and once a parameter is poisoned, the op that first meets it is named
  model.head->weight.fill_(kNaN);
  REQUIRE_THROWS_WITH(model.loss(inputs, targets), Catch::Contains("op 'linear' produced NaN"));
}
