// libFuzzer target: the model-config loader (models/config.h from_json) on arbitrary text, the
// way a checkpoint's "config" metadata string reaches it (make fuzz; README, "Reliability").
//
// For each of the three model configs: reading the JSON must succeed or throw dl::Error (a
// crash, a sanitizer report or any other exception is a bug), and a config that reads must
// validate, print, and survive a JSON round trip unchanged. Seeds: tests/fuzz/corpus/config.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <nlohmann/json.hpp>
#include "models/config.h"

namespace {

template <class C>
void check(const nlohmann::json& j) {
  C c;
  try {
    c = j.get<C>();
  } catch (const dl::Error&) {
    return;
  }
  c.validate();
  (void)c.str();
  const nlohmann::json once = c;
  if (nlohmann::json(once.get<C>()) != once) std::abort();  // the round trip changed the config
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;  // not JSON: stored_config rejects it before from_json
  check<dl::LMConfig>(j);
  check<dl::ClassifierConfig>(j);
  check<dl::Seq2SeqConfig>(j);
  return 0;
}
