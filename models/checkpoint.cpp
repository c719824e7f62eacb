#include "models/checkpoint.h"

#include <set>

namespace dl {

using json = nlohmann::json;

namespace {

constexpr const char* kModelKey = "model";
constexpr const char* kConfigKey = "config";

// "block.d = 16 in the checkpoint, 8 in the model; ..." for every leaf that differs.
std::string config_differences(const json& stored, const json& live) {
  const json a = stored.flatten(), b = live.flatten();
  std::set<std::string> keys;
  for (const auto& item : a.items()) keys.insert(item.key());
  for (const auto& item : b.items()) keys.insert(item.key());
  std::string out;
  for (const std::string& key : keys) {
    const json va = a.value(key, json()), vb = b.value(key, json());
    if (va == vb) continue;
    // "/block/d" -> "block.d"; a stored config that is not an object flattens to the key ""
    std::string name = key.empty() ? "(the whole config)" : key.substr(1);
    for (char& ch : name)
      if (ch == '/') ch = '.';
    out += (out.empty() ? "" : "; ") + name + " = " + (va.is_null() ? "(absent)" : va.dump()) +
           " in the checkpoint, " + (vb.is_null() ? "(absent)" : vb.dump()) + " in the model";
  }
  return out;
}

}  // namespace

void save_model_checkpoint(const std::string& path, const Module& model, const char* kind, const json& config,
                           const Optimizer* optimizer, int64_t step,
                           const std::map<std::string, std::string>& metadata) {
  std::map<std::string, std::string> meta = metadata;
  for (const char* key : {kModelKey, kConfigKey})
    DL_CHECK(!meta.count(key), "save_model", std::string("metadata key '") + key + "' is reserved");
  meta[kModelKey] = kind;
  meta[kConfigKey] = config.dump();
  save_checkpoint(path, model, optimizer, step, meta);
}

json stored_config(const std::string& path, const char* kind) {
  const Metadata meta = SafeTensorsReader(path).metadata();  // the header only
  const std::string op = "load_model: " + path;
  DL_CHECK(meta.count(kModelKey) && meta.count(kConfigKey), op,
           "the checkpoint stores no model kind and config (not written by save_model?)");
  const std::string& stored_kind = metadata_string(meta, kModelKey, op);
  DL_CHECK(stored_kind == kind, op, "the checkpoint holds a '" + stored_kind + "' model, not a '" + kind + "'");
  // A config nests 3 levels; refuse deeper ones while parsing, since comparing or printing a
  // deeply nested value recurses once per level.
  const auto limit_depth = [](int depth, json::parse_event_t, json&) {
    if (depth > 8) throw json::other_error::create(501, "nested more than 8 levels deep", nullptr);
    return true;
  };
  try {
    return json::parse(metadata_string(meta, kConfigKey, op), limit_depth);
  } catch (const json::exception& e) {
    throw Error(op + ": stored config is not valid JSON: " + e.what());
  }
}

CheckpointInfo load_model_checkpoint(const std::string& path, Module& model, const char* kind, const json& config,
                                     Optimizer* optimizer) {
  const std::string differences = config_differences(stored_config(path, kind), config);
  DL_CHECK(differences.empty(), "load_model: " + path, std::string("the ") + kind + " config differs: " + differences);
  CheckpointInfo info = load_checkpoint(path, model, optimizer);
  info.metadata.erase(kModelKey);
  info.metadata.erase(kConfigKey);
  return info;
}

}  // namespace dl
