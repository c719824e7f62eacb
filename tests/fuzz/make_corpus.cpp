// Writes the fuzzers' seed corpus (kept in the repository, so this runs only to change it):
//   make_corpus tests/fuzz/corpus
// safetensors/: real files from the library's own writers (a module with its Adam state, a plain
// tensor file, one of every dtype, a whole tiny LM with its config) and broken copies of them,
// one flaw each.
// config/: each model config as written by to_json, and broken ones.
// Build: g++ -std=c++17 -I. tests/fuzz/make_corpus.cpp build/libdl.a -lopenblas -ltbb -o /tmp/make_corpus
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include "models/checkpoint.h"
#include "models/lm.h"
#include "nn/checkpoint.h"
#include "nn/linear.h"
#include "nn/optim.h"
#include "tests/fuzz/corpus_models.h"

using namespace dl;
using json = nlohmann::json;

namespace {

using fuzz::Net;
using fuzz::tiny_lm;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string length_prefix(uint64_t n) {
  std::string out(8, '\0');
  std::memcpy(&out[0], &n, 8);
  return out;
}

// A file with header text h and data bytes d.
std::string file(const std::string& h, const std::string& d = "") { return length_prefix(h.size()) + h + d; }

std::string header_of(const std::string& f) {
  uint64_t n;
  std::memcpy(&n, f.data(), 8);
  return f.substr(8, n);
}

std::string data_of(const std::string& f) { return f.substr(8 + header_of(f).size()); }

// The valid checkpoint with its header JSON edited.
std::string edited(const std::string& f, void (*edit)(json&)) {
  json h = json::parse(header_of(f));
  edit(h);
  return file(h.dump(), data_of(f));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus <corpus dir>\n";
    return 2;
  }
  const std::string st = std::string(argv[1]) + "/safetensors/", cfg = std::string(argv[1]) + "/config/";
  Generator gen(0);

  Net net(gen);
  Adam opt(net.named_parameters(), AdamOptions{});
  save_checkpoint(st + "checkpoint_adam.safetensors", net, &opt, 3, {{"note", "seed"}});
  write_safetensors(st + "plain_f32_f64.safetensors",
                    {{"a", Tensor::ones({2, 3})}, {"b", Tensor::full({4}, 0.5, DType::F64)}, {"empty", Tensor::zeros({0, 3})}});
  write_safetensors(st + "every_dtype.safetensors",
                    {{"f16", Tensor::full({3}, 0.1)}, {"bf16", Tensor::full({2}, -3)}, {"i64", Tensor::from_ints({-1, 7}, {2})},
                     {"i32", Tensor::from_ints({5}, {1})}, {"bool", Tensor::from_bools({true, false, true}, {3})}},
                    {{"format", "pt"}},
                    {{"f16", StoredDType::F16}, {"bf16", StoredDType::BF16}, {"i64", StoredDType::I64}});
  CausalLM lm(tiny_lm(), gen);
  save_model(st + "lm_model.safetensors", lm, nullptr, 7);

  const std::string good = read(st + "checkpoint_adam.safetensors");
  const std::string lm_file = read(st + "lm_model.safetensors");
  const std::string dtypes = read(st + "every_dtype.safetensors");
  const auto set_byte = [](std::string f, size_t from_end, char b) {
    f[f.size() - from_end] = b;
    return f;
  };
  const std::map<std::string, std::string> broken = {
      {"empty", ""},
      {"short_length", good.substr(0, 5)},
      {"truncated_data", good.substr(0, good.size() - 3)},
      {"header_only", good.substr(0, 8 + header_of(good).size())},
      {"length_too_big", length_prefix(good.size()) + good.substr(8)},
      {"length_absurd", length_prefix(uint64_t(1) << 63) + good.substr(8)},
      {"not_json", file("{\"a\": [1, 2", data_of(good))},
      {"json_array", file("[1, 2, 3]", "")},
      {"nested_deep", file(std::string(40, '[') + std::string(40, ']'), "")},
      {"trailing_bytes", good + "xyz"},
      {"unknown_dtype", edited(good, [](json& h) { h["fc.bias"]["dtype"] = "I8"; })},
      {"negative_shape", edited(good, [](json& h) { h["fc.bias"]["shape"] = {-2}; })},
      {"float_shape", edited(good, [](json& h) { h["fc.bias"]["shape"] = {2.5}; })},
      {"huge_shape", edited(good, [](json& h) { h["fc.bias"]["shape"] = {uint64_t(1) << 62, 8}; })},
      {"zero_times_huge_shape", edited(good, [](json& h) { h["fc.bias"]["shape"] = {0, uint64_t(1) << 62}; })},
      {"offsets_reversed", edited(good, [](json& h) {
         auto& o = h["fc.bias"]["data_offsets"];
         std::swap(o[0], o[1]);
       })},
      {"offsets_overlap", edited(good, [](json& h) { h["fc.weight"]["data_offsets"] = h["fc.bias"]["data_offsets"]; })},
      {"offsets_past_end", edited(good, [](json& h) { h["fc.bias"]["data_offsets"][1] = 1u << 30; })},
      {"metadata_not_string", edited(good, [](json& h) { h["__metadata__"]["note"] = 5; })},
      {"step_not_integer", edited(good, [](json& h) { h["__metadata__"]["step"] = "3x"; })},
      {"step_negative", edited(good, [](json& h) { h["__metadata__"]["step"] = "-1"; })},
      {"no_optimizer_steps", edited(good, [](json& h) { h["__metadata__"].erase("optimizer.step_count"); })},
      {"unknown_tensor", edited(good, [](json& h) { h["fc.other"] = h["fc.bias"]; h.erase("fc.bias"); })},
      {"lm_config_not_object", edited(lm_file, [](json& h) { h["__metadata__"]["config"] = "5"; })},
      {"lm_config_empty", edited(lm_file, [](json& h) { h["__metadata__"]["config"] = "{}"; })},
      {"lm_config_not_json", edited(lm_file, [](json& h) { h["__metadata__"]["config"] = "{\"vocab\": "; })},
      {"lm_other_kind", edited(lm_file, [](json& h) { h["__metadata__"]["model"] = "classifier"; })},
      {"bool_byte", set_byte(dtypes, 1, 7)},  // the BOOL tensor is laid out last
      {"nan_weight", good.substr(0, good.size() - 4) + std::string("\x00\x00\xc0\x7f", 4)},  // the last float: NaN
      {"i64_as_f16", edited(dtypes, [](json& h) { h["i64"]["dtype"] = "F16"; })},
  };
  for (const auto& [name, bytes] : broken) write(st + "broken_" + name + ".safetensors", bytes);

  const json lm_json = LMConfig(), classifier = ClassifierConfig();
  json seq2seq = Seq2SeqConfig();
  seq2seq["src_vocab"] = 6;
  write(cfg + "lm.json", lm_json.dump(2));
  write(cfg + "classifier.json", classifier.dump(2));
  write(cfg + "seq2seq.json", seq2seq.dump(2));
  json dual = lm_json;
  dual["block"]["attention"] = {{"kind", "dual"}, {"n_sa", 2}, {"n_ra", 2}, {"symbols", "symbolic"}};
  write(cfg + "lm_dual.json", dual.dump());
  const std::map<std::string, std::string> bad_configs = {
      {"unknown_key", "{\"vocab\": 8, \"vocabulary\": 9}"},
      {"wrong_type", "{\"vocab\": \"8\"}"},
      {"negative", "{\"block\": {\"d\": -4}}"},
      {"huge", "{\"max_len\": 18446744073709551615}"},
      {"heads_overflow", "{\"block\": {\"attention\": {\"kind\": \"dual\", \"n_sa\": 9223372036854775807, \"n_ra\": 1}}}"},
      {"unknown_enum", "{\"block\": {\"ffn\": \"tanh\"}}"},
      {"not_object", "[1, {\"d\": 4}]"},
  };
  for (const auto& [name, text] : bad_configs) write(cfg + "broken_" + name + ".json", text);
  std::cout << "wrote " << broken.size() + 4 << " safetensors and " << bad_configs.size() + 4 << " config seeds\n";
}
