// Saving and reloading whole models: nn/checkpoint.h's file (the state dict, optionally the
// optimizer's state) with two more metadata strings, "model" (the config's kind: seq2seq, lm,
// classifier) and "config" (the config as JSON), so a saved model rebuilds without its flags:
//
//   save_model(path, model, &optimizer, step);
//   std::shared_ptr<CausalLM> m = load_model<CausalLM>(path);  // built from the stored config
//   load_model_into(path, model, &optimizer);                 // into a live model, to resume
//
// A checkpoint of another model kind, or of a config that differs from the live model's, is
// refused with a dl::Error naming both kinds, or every differing field with both values.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <nlohmann/json.hpp>
#include "autograd/random.h"
#include "nn/checkpoint.h"

namespace dl {

// The untyped steps behind the templates below (kind: the config's kind).
void save_model_checkpoint(const std::string& path, const Module& model, const char* kind,
                           const nlohmann::json& config, const Optimizer* optimizer, int64_t step,
                           const std::map<std::string, std::string>& metadata);
// The stored config; throws unless the checkpoint holds a model of this kind.
nlohmann::json stored_config(const std::string& path, const char* kind);
CheckpointInfo load_model_checkpoint(const std::string& path, Module& model, const char* kind,
                                     const nlohmann::json& config, Optimizer* optimizer);

template <class M>
void save_model(const std::string& path, const M& model, const Optimizer* optimizer = nullptr, int64_t step = 0,
                const std::map<std::string, std::string>& metadata = {}) {
  save_model_checkpoint(path, model, M::Config::kind, model.config, optimizer, step, metadata);
}

// The config stored in a checkpoint of a model whose config type is C.
template <class C>
C load_config(const std::string& path) {
  const nlohmann::json j = stored_config(path, C::kind);
  try {
    return j.get<C>();
  } catch (const Error& e) {
    throw Error("load_model: " + path + ": stored config: " + e.what());
  }
}

// Loads parameters (and the optimizer's state when given) into a model built with the same config.
template <class M>
CheckpointInfo load_model_into(const std::string& path, M& model, Optimizer* optimizer = nullptr) {
  return load_model_checkpoint(path, model, M::Config::kind, model.config, optimizer);
}

// A new model built from the stored config, holding the stored parameters (float32, training mode).
template <class M>
std::shared_ptr<M> load_model(const std::string& path) {
  Generator gen(0);  // the initial values are all overwritten
  auto model = std::make_shared<M>(load_config<typename M::Config>(path), gen);
  load_model_into(path, *model);
  return model;
}

}  // namespace dl
