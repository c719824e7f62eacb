#include "nn/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>
#include "nn/state_dict.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace dl {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit
constexpr int kMaxDepth = 8;  // a valid header nests 3 deep ({"name": {"shape": [...]}})
const char* const kOptimizerPrefix = "optimizer.";
const char* const kStepKey = "step";
const char* const kOptimizerStepsKey = "optimizer.step_count";
const char* const kGeneratorPrefix = "rng.";  // + a generator's dotted name (Module::named_generators)

const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    default: throw Error(std::string("write_safetensors: unsupported dtype ") + dtype_name(t));
  }
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DL_CHECK(in, "read_safetensors", "cannot open " + path + ": " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Writes head then the tensors' bytes to path atomically (temp file, fsync, rename); never leaves
// the temp file behind.
void write_atomically(const std::string& path, const std::string& head, const std::vector<Tensor>& tensors) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  DL_CHECK(f, "write_safetensors", "cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
  for (const Tensor& t : tensors) {
    const size_t n = t.numel() * dtype_size(t.dtype());
    ok = ok && std::fwrite(t.raw_data(), 1, n, f) == n;
  }
  ok = ok && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = ok ? 0 : errno;
  if (std::fclose(f) != 0 && ok) ok = false, err = errno;
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) ok = false, err = errno;
  if (ok) return;
  std::remove(tmp.c_str());
  throw Error("write_safetensors: writing " + path + " failed: " + std::strerror(err));
}

// A non-negative JSON integer, or throws with `what` in the message.
uint64_t json_u64(const json& j, const std::string& what) {
  if (!j.is_number_integer()) throw Error(what + " must be an integer, got " + j.dump());
  if (!j.is_number_unsigned()) throw Error(what + " is negative: " + j.dump());
  return j.get<uint64_t>();
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

// Parses and validates one tensor entry of the header against a data section of data_size bytes.
Entry parse_entry(const std::string& name, const json& j, uint64_t data_size) {
  const std::string t = "tensor '" + name + "'";
  if (!j.is_object() || !j.contains("dtype") || !j.contains("shape") || !j.contains("data_offsets"))
    throw Error(t + " needs an object with dtype, shape and data_offsets, got " + j.dump());
  Entry e{name, DType::F32, {}, 0, 0};
  const json& dt = j["dtype"];
  if (dt == "F32") e.dtype = DType::F32;
  else if (dt == "F64") e.dtype = DType::F64;
  else throw Error(t + " has unknown dtype " + dt.dump() + " (supported: F32, F64)");

  if (!j["shape"].is_array()) throw Error(t + ": shape must be a list, got " + j["shape"].dump());
  uint64_t bytes = dtype_size(e.dtype);
  for (const json& d : j["shape"]) {
    const uint64_t n = json_u64(d, t + ": shape entry");
    if (n > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, n, &bytes) ||
        bytes > static_cast<uint64_t>(INT64_MAX))
      throw Error(t + ": element count of shape " + j["shape"].dump() + " overflows");
    e.shape.push_back(static_cast<int64_t>(n));
  }

  const json& off = j["data_offsets"];
  if (!off.is_array() || off.size() != 2) throw Error(t + ": data_offsets must be [begin, end], got " + off.dump());
  e.begin = json_u64(off[0], t + ": data_offsets begin");
  e.end = json_u64(off[1], t + ": data_offsets end");
  if (e.begin > e.end || e.end > data_size)
    throw Error(t + ": data_offsets " + off.dump() + " lie outside the data section of " +
                std::to_string(data_size) + " bytes");
  if (e.end - e.begin != bytes)
    throw Error(t + ": data_offsets " + off.dump() + " span " + std::to_string(e.end - e.begin) +
                " bytes but dtype " + dt.get<std::string>() + " and shape " + shape_str(e.shape) +
                " need " + std::to_string(bytes));
  return e;
}

// The tensors must tile [0, data_size) exactly.
void check_tiling(std::vector<Entry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t pos = 0;
  std::string prev;
  for (const Entry& e : entries) {
    if (e.begin < pos) throw Error("tensors '" + prev + "' and '" + e.name + "' overlap in the data section");
    if (e.begin > pos)
      throw Error("gap of " + std::to_string(e.begin - pos) + " unused bytes before tensor '" + e.name + "'");
    pos = e.end;
    prev = e.name;
  }
  if (pos != data_size)
    throw Error(std::to_string(data_size - pos) + " trailing bytes after the last tensor");
}

SafeTensors parse(const std::string& file) {
  if (file.size() < 8)
    throw Error("file is " + std::to_string(file.size()) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > kMaxHeaderBytes)
    throw Error("header length " + std::to_string(n) + " is absurd (limit " + std::to_string(kMaxHeaderBytes) + ")");
  if (n > file.size() - 8)
    throw Error("header length " + std::to_string(n) + " is larger than the rest of the file (" +
                std::to_string(file.size() - 8) + " bytes)");
  // Refused while parsing: printing a deeper value in an error message would recurse per level.
  const auto limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > kMaxDepth) throw Error("header JSON is nested more than " + std::to_string(kMaxDepth) + " levels deep");
    return true;
  };
  const json header = json::parse(file.begin() + 8, file.begin() + 8 + n, limit_depth, false);
  if (header.is_discarded()) throw Error("malformed JSON header");
  if (!header.is_object()) throw Error("header is not a JSON object");

  const uint64_t data_size = file.size() - 8 - n;
  SafeTensors out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key != "__metadata__") {
      entries.push_back(parse_entry(key, value, data_size));
      continue;
    }
    if (!value.is_object()) throw Error("__metadata__ must be an object of strings");
    for (const auto& [k, v] : value.items()) {
      if (!v.is_string()) throw Error("__metadata__ value of '" + k + "' is not a string: " + v.dump());
      out.metadata[k] = v.get<std::string>();
    }
  }
  check_tiling(entries, data_size);
  const char* data = file.data() + 8 + n;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
    out.tensors.emplace(e.name, t);
  }
  return out;
}

// A generator's state as six 16-digit hex words separated by spaces, and back.
std::string encode_state(const Generator::State& state) {
  std::string out;
  char word[17];
  for (uint64_t w : state) {
    std::snprintf(word, sizeof word, "%016llx", static_cast<unsigned long long>(w));
    out += (out.empty() ? "" : " ") + std::string(word);
  }
  return out;
}

Generator::State decode_state(const std::string& key, const std::string& text) {
  Generator::State state{};
  bool ok = text.size() == state.size() * 17 - 1;
  for (size_t i = 0; ok && i < state.size(); ++i) {
    const std::string word = text.substr(i * 17, 16);
    ok = word.find_first_not_of("0123456789abcdef") == std::string::npos &&
         (i + 1 == state.size() || text[i * 17 + 16] == ' ');
    if (ok) state[i] = std::stoull(word, nullptr, 16);
  }
  if (!ok)
    throw Error("metadata '" + key + "' is not a generator state (six 16-digit hex words): \"" +
                text.substr(0, 120) + "\"");
  return state;
}

// Takes the "rng.<name>" entries out of meta, each checked against the module's generators and
// decoded (a generator the file has no state for, as in a checkpoint from before they were saved,
// keeps its own). Throws before anything is changed.
std::vector<std::pair<Generator*, Generator::State>> take_generator_states(
    std::map<std::string, std::string>& meta, const Module& module) {
  std::vector<std::pair<Generator*, Generator::State>> states;
  const auto generators = module.named_generators();
  for (auto it = meta.begin(); it != meta.end();) {
    if (!starts_with(it->first, kGeneratorPrefix)) {
      ++it;
      continue;
    }
    const std::string name = it->first.substr(std::strlen(kGeneratorPrefix));
    auto g = std::find_if(generators.begin(), generators.end(), [&](const auto& ng) { return ng.first == name; });
    if (g == generators.end()) throw Error("the module has no generator '" + name + "'");
    states.emplace_back(g->second, decode_state(it->first, it->second));
    Generator().set_state(states.back().second);  // throws on an impossible state
    it = meta.erase(it);
  }
  return states;
}

int64_t parse_count(const std::map<std::string, std::string>& meta, const std::string& key) {
  auto it = meta.find(key);
  if (it == meta.end()) throw Error("metadata has no '" + key + "'");
  size_t used = 0;
  int64_t v = -1;
  try {
    v = std::stoll(it->second, &used);
  } catch (const std::exception&) {
  }
  if (v < 0 || used != it->second.size())
    throw Error("metadata '" + key + "' is not a non-negative integer: \"" + it->second + "\"");
  return v;
}

}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<Tensor> dense;
  uint64_t pos = 0;
  for (const auto& [name, t] : tensors) {
    DL_CHECK(name != "__metadata__", "write_safetensors", "'__metadata__' is not a valid tensor name");
    const uint64_t bytes = t.numel() * dtype_size(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {pos, pos + bytes}}};
    dense.push_back(t.detach().contiguous());
    pos += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
  std::string head(8, '\0');  // the header length, then the header
  const uint64_t n = text.size();
  std::memcpy(&head[0], &n, 8);
  write_atomically(path, head + text, dense);
}

SafeTensors read_safetensors(const std::string& path) {
  const std::string file = bytes_of(path);
  try {
    return parse(file);
  } catch (const Error& e) {
    throw Error("read_safetensors: " + path + ": " + e.what());
  }
}

void save_checkpoint(const std::string& path, const Module& module, const Optimizer* optimizer,
                     int64_t step, const std::map<std::string, std::string>& metadata) {
  DL_CHECK(step >= 0, "save_checkpoint", "negative step " + std::to_string(step));
  std::map<std::string, Tensor> tensors = module.state_dict();
  std::map<std::string, std::string> meta = metadata;
  for (const char* key : {kStepKey, kOptimizerStepsKey})
    DL_CHECK(!meta.count(key), "save_checkpoint", std::string("metadata key '") + key + "' is reserved");
  meta[kStepKey] = std::to_string(step);
  for (const auto& [key, value] : meta)
    DL_CHECK(!starts_with(key, kGeneratorPrefix), "save_checkpoint",
             "metadata key '" + key + "' uses the reserved prefix '" + kGeneratorPrefix + "'");
  for (const auto& [name, gen] : module.named_generators()) meta[kGeneratorPrefix + name] = encode_state(gen->state());
  if (optimizer) {
    for (const auto& [name, t] : tensors)
      DL_CHECK(!starts_with(name, kOptimizerPrefix), "save_checkpoint",
               "parameter '" + name + "' clashes with the optimizer's prefix");
    for (const auto& [name, t] : optimizer->state_dict()) tensors.emplace(kOptimizerPrefix + name, t);
    meta[kOptimizerStepsKey] = std::to_string(optimizer->step_count());
  }
  write_safetensors(path, tensors, meta);
}

CheckpointInfo load_checkpoint(const std::string& path, Module& module, Optimizer* optimizer) {
  SafeTensors file = read_safetensors(path);
  try {
    StateDict params, optim;
    for (const auto& [name, t] : file.tensors) {
      if (starts_with(name, kOptimizerPrefix)) optim.emplace(name.substr(std::strlen(kOptimizerPrefix)), t);
      else params.emplace(name, t);
    }
    CheckpointInfo info;
    info.step = parse_count(file.metadata, kStepKey);
    const StateDict own_params = module.state_dict();
    check_state_dict(own_params, params, "module");
    const auto states = take_generator_states(file.metadata, module);
    if (optimizer) {
      if (!file.metadata.count(kOptimizerStepsKey)) throw Error("the checkpoint has no optimizer state");
      const int64_t steps = parse_count(file.metadata, kOptimizerStepsKey);
      check_state_dict(optimizer->state_dict(), optim, "optimizer");
      optimizer->load_state_dict(optim, steps);
    }
    copy_state_dict(own_params, params, "module");
    for (const auto& [gen, state] : states) gen->set_state(state);
    file.metadata.erase(kStepKey);
    file.metadata.erase(kOptimizerStepsKey);
    info.metadata = std::move(file.metadata);
    return info;
  } catch (const Error& e) {
    throw Error("load_checkpoint: " + path + ": " + e.what());
  }
}

}  // namespace dl
