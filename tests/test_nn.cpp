#include "tests/testing.h"

#include <cmath>
#include "nn/feedforward.h"
#include "nn/init.h"
#include "nn/containers.h"
#include "nn/layers.h"
#include "nn/linear.h"
#include "nn/positional.h"

using namespace dl;
using namespace dl::testing;

namespace {

// Parameters then the input, as gradcheck inputs (gradcheck perturbs each in place).
std::vector<Tensor> with_params(const Module& m, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> all = m.parameters();
  all.insert(all.end(), inputs.begin(), inputs.end());
  return all;
}

// Overwrites every parameter with N(0, scale) noise, so ones/zeros inits do not hide errors.
void randomize(const Module& m, Generator& gen, double scale = 0.5) {
  for (const Tensor& p : m.parameters()) init::normal_(p, gen, 0.0, scale);
}

struct Block : Module {
  Block(int64_t d, Generator& gen) {
    ffn = register_module("ffn", std::make_shared<FeedForward>(d, 2 * d, FFNKind::ReLU, gen));
    norm = register_module("norm", std::make_shared<LayerNorm>(d));
  }
  std::shared_ptr<FeedForward> ffn;
  std::shared_ptr<LayerNorm> norm;
};

struct Net : Module {
  Net(int64_t d, Generator& gen) {
    embed = register_module("embed", std::make_shared<Embedding>(5, d, gen));
    blocks = register_module("blocks", std::make_shared<ModuleList<Block>>());
    for (int i = 0; i < 2; ++i) blocks->push_back(std::make_shared<Block>(d, gen));
    head = register_module("head", std::make_shared<Linear>(d, 3, gen, false));
  }
  std::shared_ptr<Embedding> embed;
  std::shared_ptr<ModuleList<Block>> blocks;
  std::shared_ptr<Linear> head;
};

}  // namespace

TEST_CASE("Linear: values by hand, PyTorch layout", "[nn]") {
  Generator gen(1);
  Linear lin(3, 2, gen, true, DType::F64);
  REQUIRE(lin.weight.shape() == Shape{2, 3});
  lin.weight.detach().copy_(Tensor::from_vector({1, 2, 3, -1, 0, 1}, {2, 3}, DType::F64));
  lin.bias.detach().copy_(Tensor::from_vector({0.5, -0.5}, {2}, DType::F64));
  Tensor x = Tensor::from_vector({1, 1, 1, 2, 0, -1}, {2, 3}, DType::F64);
  // row 0: (1+2+3)+0.5, (-1+0+1)-0.5; row 1: (2+0-3)+0.5, (-2+0-1)-0.5
  require_values(lin.forward(x), {6.5, -0.5, -0.5, -3.5});
  require_values(lin.forward(Tensor::from_vector({1, 1, 1}, {3}, DType::F64)), {6.5, -0.5});
  REQUIRE_THROWS_WITH(lin.forward(Tensor::ones({2, 4}, DType::F64)),
                      Catch::Contains("Linear") && Catch::Contains("(2, 4)"));
}

TEST_CASE("Linear: gradients with and without bias, 3-D input", "[nn][gradcheck]") {
  Generator gen(2);
  for (bool bias : {true, false}) {
    Linear lin(4, 3, gen, bias);
    lin.to(DType::F64);
    Tensor x = rand64({2, 3, 4}, gen);
    REQUIRE(lin.parameters().size() == (bias ? 2u : 1u));
    CHECK_GRADIENTS([&](const std::vector<Tensor>&) { return lin.forward(x); }, with_params(lin, {x}));
  }
}

TEST_CASE("LayerNorm and RMSNorm: init, gradients", "[nn][gradcheck]") {
  Generator gen(3);
  LayerNorm ln(5);
  RMSNorm rms(5, 1e-6);
  require_values(ln.weight, {1, 1, 1, 1, 1});
  require_values(ln.bias, {0, 0, 0, 0, 0});
  require_values(rms.weight, {1, 1, 1, 1, 1});
  REQUIRE(ln.eps == 1e-5);
  ln.to(DType::F64);
  rms.to(DType::F64);
  randomize(ln, gen);
  randomize(rms, gen);
  Tensor x = rand64({2, 3, 5}, gen);
  CHECK_GRADIENTS([&](const std::vector<Tensor>&) { return ln.forward(x); }, with_params(ln, {x}));
  CHECK_GRADIENTS([&](const std::vector<Tensor>&) { return rms.forward(x); }, with_params(rms, {x}));
  REQUIRE_THROWS_WITH(ln.forward(Tensor::ones({2, 4}, DType::F64)),
                      Catch::Contains("LayerNorm") && Catch::Contains("(2, 4)"));
}

TEST_CASE("FeedForward: names and gradients of all three kinds", "[nn][gradcheck]") {
  Generator gen(4);
  for (FFNKind kind : {FFNKind::ReLU, FFNKind::GELU, FFNKind::SwiGLU}) {
    FeedForward ffn(4, 6, kind, gen);
    std::vector<std::string> names;
    for (auto& [name, p] : ffn.named_parameters()) names.push_back(name);
    std::vector<std::string> expected = {"linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"};
    if (kind == FFNKind::SwiGLU) {
      expected.push_back("linear3.weight");
      expected.push_back("linear3.bias");
    }
    REQUIRE(names == expected);
    // (4*6 + 6) + (6*4 + 4), plus (4*6 + 6) for the gate
    REQUIRE(ffn.num_parameters() == (kind == FFNKind::SwiGLU ? 88 : 58));
    ffn.to(DType::F64);
    Tensor x = rand64({2, 2, 4}, gen);
    CHECK_GRADIENTS([&](const std::vector<Tensor>&) { return ffn.forward(x); }, with_params(ffn, {x}));
  }
}

TEST_CASE("FeedForward SwiGLU: equals linear2(silu(linear1 x) * linear3 x)", "[nn]") {
  Generator gen(5);
  FeedForward ffn(3, 4, FFNKind::SwiGLU, gen, true, DType::F64);
  Tensor x = rand64({2, 3}, gen, 1.0, false);
  Tensor h1 = matmul(x, ffn.linear1->weight, false, true) + ffn.linear1->bias;
  Tensor h3 = matmul(x, ffn.linear3->weight, false, true) + ffn.linear3->bias;
  Tensor s = h1 / (1.0 + exp(-h1)) * h3;
  Tensor expected = matmul(s, ffn.linear2->weight, false, true) + ffn.linear2->bias;
  REQUIRE(max_abs_diff(ffn.forward(x), expected) < 1e-12);
}

TEST_CASE("Embedding plus positional encodings: gradients", "[nn][gradcheck]") {
  Generator gen(6);
  Embedding emb(7, 4, gen);
  LearnedPositionalEncoding learned(5, 4, gen);
  SinusoidalPositionalEncoding sinus(5, 4);
  REQUIRE(sinus.num_parameters() == 0);
  REQUIRE(learned.named_parameters()[0].first == "weight");
  emb.to(DType::F64);
  learned.to(DType::F64);
  sinus.to(DType::F64);
  Tensor ids = Tensor::from_ints({0, 3, 3, 6, 1, 2}, {2, 3});  // a repeated id sums its gradients
  std::vector<Tensor> inputs = with_params(emb, with_params(learned, {}));
  CHECK_GRADIENTS([&](const std::vector<Tensor>&) { return learned.forward(emb.forward(ids)); }, inputs);
  CHECK_GRADIENTS([&](const std::vector<Tensor>&) { return sinus.forward(emb.forward(ids)); }, emb.parameters());
}

TEST_CASE("Positional encodings: values and length errors", "[nn]") {
  SinusoidalPositionalEncoding pe(4, 4);
  Tensor x = Tensor::zeros({1, 3, 4}, DType::F64);
  // PE[pos, 2i] = sin(pos / 10000^(2i/4)), PE[pos, 2i+1] = cos(...): frequencies 1 and 1/100
  require_values(pe.forward(x), {0, 1, 0, 1,
                                 std::sin(1.0), std::cos(1.0), std::sin(0.01), std::cos(0.01),
                                 std::sin(2.0), std::cos(2.0), std::sin(0.02), std::cos(0.02)});
  REQUIRE(pe.forward(Tensor::zeros({1, 3, 4})).dtype() == DType::F32);
  REQUIRE_THROWS_WITH(pe.forward(Tensor::zeros({1, 6, 4})),
                      Catch::Contains("Sinusoidal") && Catch::Contains("T = 6") && Catch::Contains("max_len = 4"));
  Generator gen(7);
  LearnedPositionalEncoding learned(4, 2, gen, DType::F64);
  Tensor y = learned.forward(Tensor::ones({2, 3, 2}, DType::F64));  // 1 + weight[t], both batch rows
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 3; ++t) REQUIRE(y.at({b, t, 1}) == 1 + learned.weight.at({t, 1}));
  REQUIRE_THROWS_WITH(learned.forward(Tensor::ones({5, 2}, DType::F64)),
                      Catch::Contains("Learned") && Catch::Contains("T = 5") && Catch::Contains("max_len = 4"));
}

TEST_CASE("Module: nested names, counts, state dict round trip and errors", "[nn]") {
  Generator gen(8);
  Net net(4, gen);
  std::vector<std::string> names;
  for (auto& [name, p] : net.named_parameters()) names.push_back(name);
  REQUIRE(names.size() == 1 + 2 * 6 + 1);
  REQUIRE(names[0] == "embed.weight");
  REQUIRE(names[1] == "blocks.0.ffn.linear1.weight");
  REQUIRE(names[6] == "blocks.0.norm.bias");
  REQUIRE(names[7] == "blocks.1.ffn.linear1.weight");
  REQUIRE(names.back() == "head.weight");
  // 5*4 + 2 * ((4*8 + 8) + (8*4 + 4) + 4 + 4) + 4*3
  REQUIRE(net.num_parameters() == 20 + 2 * 84 + 12);

  Generator other(9);
  Net copy(4, other);
  REQUIRE(max_abs_diff(copy.head->weight, net.head->weight) > 0);
  copy.load_state_dict(net.state_dict());
  for (auto& [name, p] : copy.state_dict()) REQUIRE(max_abs_diff(p, net.state_dict().at(name)) == 0);

  auto sd = net.state_dict();
  sd["blocks.2.norm.weight"] = Tensor::ones({4});
  REQUIRE_THROWS_WITH(copy.load_state_dict(sd), Catch::Contains("unknown") && Catch::Contains("blocks.2.norm.weight"));
  sd = net.state_dict();
  sd.erase("head.weight");
  REQUIRE_THROWS_WITH(copy.load_state_dict(sd), Catch::Contains("missing") && Catch::Contains("head.weight"));
  sd = net.state_dict();
  sd["blocks.1.norm.bias"] = Tensor::zeros({5});
  REQUIRE_THROWS_WITH(copy.load_state_dict(sd), Catch::Contains("blocks.1.norm.bias") && Catch::Contains("(5)"));
  sd = net.state_dict();
  sd["embed.weight"] = Tensor::zeros({5, 4}, DType::F64);
  REQUIRE_THROWS_WITH(copy.load_state_dict(sd), Catch::Contains("embed.weight") && Catch::Contains("float64"));
  REQUIRE(max_abs_diff(copy.embed->weight, net.embed->weight) == 0);  // a failed load changes nothing
}

TEST_CASE("Module: to() keeps handles, train/eval recurse, tied weights listed once", "[nn]") {
  Generator gen(10);
  Net net(4, gen);
  Tensor w = net.blocks->operator[](1).ffn->linear2->weight;
  const std::vector<double> before = w.to_vector();
  net.to(DType::F64);
  REQUIRE(w.dtype() == DType::F64);
  REQUIRE(w.same(net.state_dict().at("blocks.1.ffn.linear2.weight")));
  REQUIRE(w.requires_grad());
  REQUIRE(w.to_vector() == before);

  net.eval();
  REQUIRE(!net.training());
  REQUIRE(!(*net.blocks)[1].ffn->linear1->training());
  net.train();
  REQUIRE((*net.blocks)[0].norm->training());

  struct Tied : Module {
    explicit Tied(Generator& g) {
      a = register_module("a", std::make_shared<Linear>(3, 3, g));
      b = register_module("b", a);
    }
    std::shared_ptr<Linear> a, b;
  } tied(gen);
  REQUIRE(tied.num_parameters() == 12);
  REQUIRE(tied.named_parameters()[0].first == "a.weight");
}

TEST_CASE("Dropout module: own seeded generator, identity in eval", "[nn]") {
  Dropout drop(0.5, 42), same(0.5, 42);
  Tensor x = Tensor::ones({1000});
  std::vector<double> y = drop.forward(x).to_vector();
  REQUIRE(y == same.forward(x).to_vector());
  int zeros = 0;
  for (double v : y) {
    REQUIRE((v == 0.0 || v == 2.0));
    zeros += v == 0.0;
  }
  REQUIRE(zeros > 400);
  REQUIRE(zeros < 600);
  REQUIRE(drop.forward(x).to_vector() != y);  // the generator advanced
  drop.eval();
  REQUIRE(drop.forward(x).same(x));
  REQUIRE_THROWS_WITH(Dropout(1.0), Catch::Contains("Dropout"));
}

TEST_CASE("Initialisers: PyTorch bounds and statistics", "[nn]") {
  Generator gen(11);
  Linear lin(256, 128, gen);
  const double bound = 1.0 / 16;  // 1 / sqrt(in)
  auto stats = [](const Tensor& t) {
    std::vector<double> v = t.to_vector();
    double mean = 0, sq = 0, mx = 0;
    for (double e : v) mean += e, sq += e * e, mx = std::max(mx, std::fabs(e));
    mean /= v.size();
    return std::vector<double>{mean, std::sqrt(sq / v.size() - mean * mean), mx};
  };
  auto w = stats(lin.weight);
  REQUIRE(w[2] <= bound);
  REQUIRE(w[2] > 0.99 * bound);
  REQUIRE(std::fabs(w[0]) < 0.1 * bound);
  REQUIRE(w[1] == Approx(bound / std::sqrt(3.0)).epsilon(0.02));  // std of U(-b, b)
  REQUIRE(stats(lin.bias)[2] <= bound);

  Embedding emb(200, 100, gen);
  auto e = stats(emb.weight);
  REQUIRE(std::fabs(e[0]) < 0.02);
  REQUIRE(e[1] == Approx(1.0).epsilon(0.02));

  Tensor t = Tensor::empty({100, 300});  // fan_in 300, fan_out 100
  init::xavier_uniform_(t, gen);
  REQUIRE(stats(t)[2] <= std::sqrt(6.0 / 400));
  REQUIRE(stats(t)[1] == Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
  init::xavier_normal_(t, gen, 2.0);
  REQUIRE(stats(t)[1] == Approx(2.0 * std::sqrt(2.0 / 400)).epsilon(0.02));
  init::kaiming_uniform_(t, gen);
  REQUIRE(stats(t)[2] <= std::sqrt(6.0 / 300));
  REQUIRE(stats(t)[1] == Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
  init::kaiming_normal_(t, gen);
  REQUIRE(stats(t)[1] == Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
  init::uniform_(t, gen, 2.0, 3.0);
  REQUIRE(stats(t)[0] == Approx(2.5).epsilon(0.01));
  REQUIRE(init::fan_in_fan_out({4, 3, 5}) == std::make_pair<int64_t, int64_t>(15, 20));
  REQUIRE_THROWS_WITH(init::xavier_uniform_(Tensor::empty({3}), gen), Catch::Contains("init") && Catch::Contains("(3)"));

  Generator g1(5), g2(5);  // a seed fixes every weight
  REQUIRE(Linear(3, 4, g1).weight.to_vector() == Linear(3, 4, g2).weight.to_vector());
}

TEST_CASE("containers: ModuleDict and Sequential compose modules without a subclass", "[nn][gradcheck]") {
  Generator gen(71);
  ModuleDict parts;
  auto encoder = parts.insert("encoder", std::make_shared<Linear>(3, 4, gen));
  parts.insert("norm", std::make_shared<LayerNorm>(4));
  REQUIRE(parts.contains("norm"));
  REQUIRE(!parts.contains("head"));
  REQUIRE(parts.at<Linear>("encoder") == encoder);
  REQUIRE_THROWS_WITH(parts.at<Linear>("head"), Catch::Contains("ModuleDict") && Catch::Contains("'head'") &&
                                                    Catch::Contains("encoder, norm"));
  REQUIRE_THROWS_WITH(parts.at<Linear>("norm"), Catch::Contains("'norm' is not of the requested type"));
  REQUIRE_THROWS_WITH(parts.insert("norm", std::make_shared<LayerNorm>(4)), Catch::Contains("duplicate module name 'norm'"));
  REQUIRE_THROWS_WITH(parts.insert("a.b", std::make_shared<LayerNorm>(4)), Catch::Contains("invalid module name 'a.b'"));
  const auto names = parts.state_dict();
  REQUIRE((names.count("encoder.weight") && names.count("encoder.bias") && names.count("norm.weight")));

  Sequential mlp;
  REQUIRE(mlp.forward(Tensor::ones({2})).to_vector() == std::vector<double>{1, 1});  // empty: identity
  mlp.push_back(std::make_shared<Linear>(3, 4, gen));
  mlp.push_back(std::make_shared<LayerNorm>(4));
  mlp.push_back(std::make_shared<FeedForward>(4, 6, FFNKind::GELU, gen));
  REQUIRE(mlp.size() == 3);
  REQUIRE(mlp.named_parameters().front().first == "0.weight");
  REQUIRE(mlp.state_dict().count("2.linear2.bias"));
  mlp.to(DType::F64);
  randomize(mlp, gen);
  Tensor x = randn({2, 5, 3}, gen, 0.0, 1.0, DType::F64);
  REQUIRE(mlp.forward(x).shape() == Shape{2, 5, 4});
  // forward is each item's forward on the previous output
  const auto& ffn = *std::static_pointer_cast<FeedForward>(mlp.named_children()[2].second);
  const auto& norm = *std::static_pointer_cast<LayerNorm>(mlp.named_children()[1].second);
  const auto& linear = *std::static_pointer_cast<Linear>(mlp.named_children()[0].second);
  REQUIRE(max_abs_diff(mlp.forward(x), ffn.forward(norm.forward(linear.forward(x)))) == 0);
  CHECK_GRADIENTS([&](const std::vector<Tensor>& in) { return mlp.forward(in.back()); }, with_params(mlp, {x}));
}
