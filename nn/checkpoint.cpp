#include "nn/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace dl {

namespace {

const char* const kOptimizerPrefix = "optimizer.";
const char* const kStepKey = "step";
const char* const kOptimizerStepsKey = "optimizer.step_count";
const char* const kGeneratorPrefix = "rng.";  // + a generator's dotted name (Module::named_generators)

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

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
std::vector<std::pair<Generator*, Generator::State>> take_generator_states(Metadata& meta, const Module& module) {
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

// Throws naming the tensor and the first element that is NaN or infinite.
void check_finite(const std::string& name, const Tensor& t) {
  if (!is_floating(t.dtype())) return;
  dispatch_float(t.dtype(), "load_checkpoint", [&](auto zero) {
    using T = decltype(zero);
    const T* x = t.data<T>();
    const int64_t n = t.numel();
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(x[i]))
        throw Error("tensor '" + name + "' " + t.str() + " holds a non-finite value (" + std::to_string(x[i]) +
                    ") at element " + std::to_string(i) + "; was the run diverging when it was saved?");
  });
}

}  // namespace

void save_checkpoint(const std::string& path, const Module& module, const Optimizer* optimizer,
                     int64_t step, const Metadata& metadata) {
  DL_CHECK(step >= 0, "save_checkpoint", "negative step " + std::to_string(step));
  std::map<std::string, Tensor> tensors = module.state_dict();
  Metadata meta = metadata;
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
  const SafeTensorsReader file(path);  // the header, validated; no tensor read yet
  const std::string where = "load_checkpoint: " + path;
  Metadata meta = file.metadata();
  CheckpointInfo info;
  info.step = metadata_int(meta, kStepKey, where, 0);
  int64_t optimizer_steps = 0;
  std::vector<std::pair<Generator*, Generator::State>> states;
  StateDict own_params;  // each tensor under its first name; tied second names are checked and dropped
  for (const auto& [name, p] : module.named_parameters()) own_params.emplace(name, p);
  const std::map<std::string, std::string> ties = module.tied_names();
  StateSpec param_specs, optim_specs;
  for (const auto& [name, spec] : file.specs())
    (starts_with(name, kOptimizerPrefix) ? optim_specs[name.substr(std::strlen(kOptimizerPrefix))]
                                         : param_specs[name]) = spec;
  try {
    check_state_spec(own_params, without_ties(param_specs, ties, "module"), "module");
    states = take_generator_states(meta, module);
    if (optimizer) {
      if (!meta.count(kOptimizerStepsKey)) throw Error("the checkpoint has no optimizer state");
      check_state_spec(optimizer->state_dict(), optim_specs, "optimizer");
    }
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  if (optimizer) optimizer_steps = metadata_int(meta, kOptimizerStepsKey, where, 0);

  // Names, shapes and metadata are right: now the values, one tensor at a time.
  StateDict params, optim;
  for (const auto& [name, spec] : file.specs()) {
    const bool of_optimizer = starts_with(name, kOptimizerPrefix);
    if (of_optimizer && !optimizer) continue;
    const Tensor t = file.read(name);
    try {
      check_finite(name, t);
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
    if (of_optimizer) optim.emplace(name.substr(std::strlen(kOptimizerPrefix)), t);
    else params.emplace(name, t);
  }
  try {
    if (optimizer) optimizer->load_state_dict(optim, optimizer_steps);
    copy_state_dict(own_params, without_ties(params, ties, "module"), "module");
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  for (const auto& [gen, state] : states) gen->set_state(state);
  meta.erase(kStepKey);
  meta.erase(kOptimizerStepsKey);
  info.metadata = std::move(meta);
  return info;
}

}  // namespace dl
