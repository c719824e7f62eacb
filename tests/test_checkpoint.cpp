#include "tests/testing.h"
#include "tests/bitwise.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "nn/linear.h"

using namespace dl;
using namespace dl::testing;

namespace {

struct Net : Module {
  explicit Net(Generator& gen) {
    fc = register_module("fc", std::make_shared<Linear>(3, 2, gen));
    norm = register_module("norm", std::make_shared<LayerNorm>(2));
  }
  Tensor forward(const Tensor& x) const { return norm->forward(tanh(fc->forward(x))); }
  std::shared_ptr<Linear> fc;
  std::shared_ptr<LayerNorm> norm;
};

void train_steps(Net& net, Optimizer& opt, int steps) {
  Generator gen(99);
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Tensor x = randn({4, 3}, gen);
    Tensor loss = mean(pow(net.forward(x) - 0.3, 2.0)) + mean(pow(net.fc->weight, 2.0));
    loss.backward();
    opt.step();
  }
}

// Writes a file: the 8-byte little-endian header length, the header, then data.
void write_raw(const std::string& path, uint64_t header_len, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&header_len), 8);
  out << header << data;
}
void write_file(const std::string& path, const std::string& header, const std::string& data) {
  write_raw(path, header.size(), header, data);
}

std::string floats(std::vector<float> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

}  // namespace

TEST_CASE("Checkpoint: module and optimizer state round trip bitwise, atomically", "[checkpoint]") {
  TempDir dir;
  Generator gen(1);
  Net net(gen);
  AdamW opt(net.named_parameters(), {0.01, 0.9, 0.99, 1e-8, 0.1});
  train_steps(net, opt, 3);
  save_checkpoint(dir / "ckpt.safetensors", net, &opt, 123, {{"model", "net"}, {"note", "three steps"}});
  REQUIRE(dir.files() == std::vector<std::string>{"ckpt.safetensors"});  // no temp file left behind

  Generator other(2);
  Net restored(other);
  AdamW opt2(restored.named_parameters(), {0.01, 0.9, 0.99, 1e-8, 0.1});
  CheckpointInfo info = load_checkpoint(dir / "ckpt.safetensors", restored, &opt2);
  REQUIRE(info.step == 123);
  REQUIRE(info.metadata == std::map<std::string, std::string>{{"model", "net"}, {"note", "three steps"}});
  REQUIRE(opt2.step_count() == 3);
  require_bitwise(net.state_dict(), restored.state_dict());
  require_bitwise(opt.state_dict(), opt2.state_dict());

  // training on from both gives bitwise identical parameters
  train_steps(net, opt, 2);
  train_steps(restored, opt2, 2);
  require_bitwise(net.state_dict(), restored.state_dict());

  // overwriting an existing checkpoint is also atomic; a model-only load ignores optimizer state
  save_checkpoint(dir / "ckpt.safetensors", net, &opt, 125);
  Net plain(other);
  REQUIRE(load_checkpoint(dir / "ckpt.safetensors", plain).step == 125);
  require_bitwise(net.state_dict(), plain.state_dict());
  REQUIRE(dir.files().size() == 1);
}

TEST_CASE("Checkpoint: the file is plain safetensors", "[checkpoint]") {
  TempDir dir;
  Tensor a = Tensor::from_vector({1.5, -2}, {2}, DType::F32);
  Tensor b = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  write_safetensors(dir / "t.safetensors", {{"a", a}, {"b", transpose(b, 0, 1)}}, {{"k", "v"}});
  std::ifstream in(dir / "t.safetensors", std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  REQUIRE(n % 8 == 0);  // padded so the data section is aligned
  REQUIRE(file.size() == 8 + n + 2 * 4 + 6 * 8);
  // widest element type first (as the Python writer does), so each tensor is aligned to its size
  REQUIRE(file.substr(8, n).find(R"("b":{"data_offsets":[0,48],"dtype":"F64","shape":[3,2]})") != std::string::npos);
  REQUIRE(file.substr(8, n).find(R"("a":{"data_offsets":[48,56],"dtype":"F32","shape":[2]})") != std::string::npos);
  float first = 0;
  std::memcpy(&first, file.data() + 8 + n + 48, 4);
  REQUIRE(first == 1.5f);

  SafeTensors st = read_safetensors(dir / "t.safetensors");
  REQUIRE(st.metadata == std::map<std::string, std::string>{{"k", "v"}});
  require_values(st.tensors.at("a"), {1.5, -2});
  require_values(st.tensors.at("b"), {1, 4, 2, 5, 3, 6});  // the transposed view, written densely
  REQUIRE(st.tensors.at("b").shape() == Shape{3, 2});
}

TEST_CASE("Checkpoint: every kind of corrupt file is rejected with its own message", "[checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir / "bad.safetensors";
  LayerNorm ln(2);  // parameters weight (2) and bias (2), float32
  const std::string ok_weight = R"("weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string ok_bias = R"("bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]})";
  const std::string meta = R"("__metadata__":{"step":"7"})";
  const std::string data = floats({5, 6, 7, 8});
  auto rejects = [&](const std::string& what) {
    REQUIRE_THROWS_WITH(load_checkpoint(path, ln), Catch::Contains(path) && Catch::Contains(what));
  };

  // a well-formed file loads: the baseline every corruption below departs from
  write_file(path, "{" + ok_weight + "," + ok_bias + "," + meta + "}", data);
  REQUIRE(load_checkpoint(path, ln).step == 7);
  require_values(ln.bias, {7, 8});

  REQUIRE_THROWS_WITH(load_checkpoint(dir / "absent", ln), Catch::Contains("cannot open"));
  { std::ofstream(path, std::ios::binary) << "abc"; }
  rejects("shorter than the 8-byte header length");
  write_raw(path, uint64_t(1) << 62, "{}", "");
  rejects("is absurd");
  write_raw(path, 1000, "{}", "");
  rejects("larger than the rest of the file");
  write_file(path, R"({"weight": {"dtype": )", "");
  rejects("malformed JSON");
  write_file(path, "[1, 2]", "");
  rejects("not a JSON object");
  write_file(path, R"({"weight":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", "ab");
  rejects("unknown dtype \"I8\"");
  write_file(path, R"({"weight":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data);
  rejects("shape entry is negative");
  write_file(path, R"({"weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", data);
  rejects("overflows");
  write_file(path, "{" + ok_weight + R"(,"bias":{"dtype":"F32","shape":[2],"data_offsets":[8,24]}})", data);
  rejects("outside the data section");
  write_file(path, "{" + ok_weight + R"(,"bias":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data);
  rejects("overlap");
  write_file(path, "{" + ok_weight + R"(,"bias":{"dtype":"F32","shape":[3],"data_offsets":[8,16]}})", data);
  rejects("need 12");
  write_file(path, "{" + ok_weight + R"(,"bias":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", data);
  rejects("gap of 4 unused bytes");
  write_file(path, "{" + ok_weight + "," + ok_bias + "," + meta + "}", data + floats({9}));
  rejects("4 trailing bytes");
  write_file(path, "{" + ok_weight + "," + ok_bias + R"(,"__metadata__":{"step":7}})", data);
  rejects("__metadata__ value of 'step' is not a string");
  write_file(path, "{" + ok_weight + "," + ok_bias + R"(,"__metadata__":{"step":"x7"}})", data);
  rejects("metadata 'step' is not an integer: \"x7\"");
  write_file(path, "{" + ok_weight + "," + ok_bias + R"(,"__metadata__":{"step":"-1"}})", data);
  rejects("metadata 'step' is out of range [0, ");
  write_file(path, "{" + ok_weight + "," + ok_bias + R"(,"extra":{"dtype":"F32","shape":[],"data_offsets":[16,20]},)" + meta + "}",
             data + floats({1}));
  rejects("unknown tensor 'extra'");
  write_file(path, "{" + ok_weight + "," + meta + "}", floats({5, 6}));
  rejects("missing tensor 'bias'");
  write_file(path, "{" + ok_weight + R"(,"bias":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]},)" + meta + "}", data);
  rejects("tensor 'bias' is float32(1, 2) but expected float32(2)");
  write_file(path, "{" + ok_weight + R"(,"bias":{"dtype":"F64","shape":[2],"data_offsets":[8,24]},)" + meta + "}",
             floats({5, 6, 7, 8, 9, 10}));
  rejects("tensor 'bias' is float64(2) but expected float32(2)");

  AdamW opt(ln.named_parameters(), {});
  write_file(path, "{" + ok_weight + "," + ok_bias + "," + meta + "}", data);
  REQUIRE_THROWS_WITH(load_checkpoint(path, ln, &opt), Catch::Contains("no optimizer state"));
  require_values(ln.bias, {7, 8});  // every failed load above left the module as it was
  REQUIRE_THROWS_WITH(save_checkpoint(path, ln, nullptr, 1, {{"step", "2"}}), Catch::Contains("reserved"));
}

namespace {

struct NoisyNet : Module {  // two Dropouts, one shared by two names: listed once
  explicit NoisyNet(uint64_t seed) {
    a = register_module("a", std::make_shared<Dropout>(0.5, seed));
    b = register_module("b", std::make_shared<Dropout>(0.5, seed + 1));
    register_module("b_again", b);
  }
  Tensor masks() { return concat({a->forward(Tensor::ones({64})), b->forward(Tensor::ones({64}))}, 0); }
  std::shared_ptr<Dropout> a, b;
};

}  // namespace

TEST_CASE("Checkpoint: Dropout generators resume their streams", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir / "noisy.safetensors";
  NoisyNet saved(1);
  const auto names = saved.named_generators();
  REQUIRE(names.size() == 2);
  REQUIRE(names[0].first == "a.generator");
  REQUIRE(names[1].first == "b.generator");
  saved.masks();  // advance both streams past their seeds
  save_checkpoint(path, saved, nullptr, 3);
  const Tensor expected = saved.masks();  // what the saved run draws next

  NoisyNet resumed(777);
  const CheckpointInfo info = load_checkpoint(path, resumed);
  REQUIRE(info.metadata.empty());  // the rng.* entries are the checkpoint's own, not the caller's
  require_bitwise({{"masks", resumed.masks()}}, {{"masks", expected}});

  NoisyNet fresh(777);  // without the load the masks differ: the check above can fail
  REQUIRE(sum(abs(fresh.masks() - expected)).item() > 0);

  // a checkpoint without generator states (as written before they were saved) leaves them be
  Generator gen(5);
  Net plain(gen);
  save_checkpoint(path, plain, nullptr, 1);
  REQUIRE_NOTHROW(load_checkpoint(path, plain));
  REQUIRE_THROWS_WITH(save_checkpoint(path, saved, nullptr, 1, {{"rng.x", "1"}}), Catch::Contains("reserved prefix"));
}

TEST_CASE("Checkpoint: a bad generator state is an error and changes nothing", "[checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir / "rng.safetensors";
  Dropout drop(0.5, 9);
  const std::string zero = std::string(16, '0');
  const std::string good = "0000000000000001 " + zero + " " + zero + " " + zero + " " + zero + " " + zero;
  auto rejects = [&](const std::string& key, const std::string& state, const std::string& what) {
    write_safetensors(path, {}, {{"step", "1"}, {key, state}});
    Dropout probe(0.5, 9);
    const Tensor before = probe.forward(Tensor::ones({32}));
    Dropout target(0.5, 9);
    REQUIRE_THROWS_WITH(load_checkpoint(path, target), Catch::Contains(path) && Catch::Contains(what));
    require_bitwise({{"mask", target.forward(Tensor::ones({32}))}}, {{"mask", before}});  // stream untouched
  };
  write_safetensors(path, {}, {{"step", "1"}, {"rng.generator", good}});
  REQUIRE_NOTHROW(load_checkpoint(path, drop));
  rejects("rng.other", good, "no generator 'other'");
  rejects("rng.generator", "12 34", "not a generator state");
  rejects("rng.generator", good + " ", "not a generator state");
  rejects("rng.generator", "000000000000000g" + good.substr(16), "not a generator state");
  const std::string all_zero = zero + " " + zero + " " + zero + " " + zero + " " + zero + " " + zero;
  rejects("rng.generator", all_zero, "all four xoshiro words are zero");
  rejects("rng.generator", good.substr(0, 68) + "0000000000000002 " + zero, "spare flag must be 0 or 1, got 2");
}
