#include "models/config.h"

#include "models/registry.h"

#include <initializer_list>
#include <set>
#include <type_traits>
#include <utility>
#include <vector>

namespace dl {

using json = nlohmann::json;

namespace {

// ---- enum names: each enum's table, the one place its spellings live ----

template <class E> struct EnumNames {
  const char* noun;
  std::vector<std::pair<E, const char*>> names;
};

const EnumNames<SymbolKind>& enum_names(SymbolKind) {
  static const EnumNames<SymbolKind> t{
      "symbol kind", {{SymbolKind::Positional, "positional"}, {SymbolKind::Relative, "relative"}, {SymbolKind::Symbolic, "symbolic"}}};
  return t;
}
const EnumNames<PositionKind>& enum_names(PositionKind) {
  static const EnumNames<PositionKind> t{
      "position kind", {{PositionKind::Sinusoidal, "sinusoidal"}, {PositionKind::Learned, "learned"}}};
  return t;
}
const EnumNames<Pooling>& enum_names(Pooling) {
  static const EnumNames<Pooling> t{"pooling", {{Pooling::Mean, "mean"}, {Pooling::First, "first"}}};
  return t;
}
const EnumNames<EmbedKind>& enum_names(EmbedKind) {
  static const EnumNames<EmbedKind> t{"embedding", {{EmbedKind::Official, "official"}, {EmbedKind::Compact, "compact"}}};
  return t;
}
const EnumNames<FFNKind>& enum_names(FFNKind) {
  static const EnumNames<FFNKind> t{
      "feed-forward kind", {{FFNKind::ReLU, "relu"}, {FFNKind::GELU, "gelu"}, {FFNKind::SwiGLU, "swiglu"}}};
  return t;
}

template <class E> std::string enum_name(E e) {
  for (const auto& [value, name] : enum_names(e).names)
    if (value == e) return name;
  return "?";
}

template <class E> E parse_enum(const std::string& text, const std::string& op) {
  const EnumNames<E>& t = enum_names(E{});
  std::string choices;
  for (const auto& [value, name] : t.names) {
    if (text == name) return value;
    choices += std::string(choices.empty() ? "" : ", ") + name;
  }
  throw Error(op + ": unknown " + t.noun + " '" + text + "' (expected one of " + choices + ")");
}

// ---- the three uses of a config's fields() ----

template <class C> json config_to_json(const C& c);

template <class T> json value_to_json(const T& v) {
  if constexpr (std::is_enum_v<T>) return enum_name(v);
  else if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) return config_to_json(v);
  else return v;
}

template <class C> json config_to_json(const C& c) {
  json j = json::object();
  C::fields(c, [&](const char* key, const auto& v) { j[key] = value_to_json(v); });
  return j;
}

template <class C> void config_from_json(const json& j, C& c, const std::string& op, const std::string& path);

// The names a config holds as strings, checked once it is read: only AttentionConfig has one.
template <class C> void check_names(const C&, const std::string&, const std::string&) {}
void check_names(const AttentionConfig& c, const std::string& op, const std::string& path) {
  try {
    attention_kind(c.kind);
  } catch (const Error& e) {
    throw Error(op + ": field '" + path + "kind': " + e.what());
  }
}

// path names the field ("block.attention.kind") in every message.
template <class T> void value_from_json(const json& j, T& v, const std::string& op, const std::string& path) {
  auto expect = [&](bool ok, const char* what) {
    DL_CHECK(ok, op, "field '" + path + "' must be " + what + ", got " + j.dump());
  };
  if constexpr (std::is_enum_v<T>) {
    expect(j.is_string(), "a string");
    v = parse_enum<T>(j.get<std::string>(), op + ": field '" + path + "'");
  } else if constexpr (std::is_same_v<T, std::string>) {
    expect(j.is_string(), "a string");
    v = j.get<std::string>();
  } else if constexpr (std::is_class_v<T>) {
    config_from_json(j, v, op, path + ".");
  } else if constexpr (std::is_same_v<T, bool>) {
    expect(j.is_boolean(), "true or false");
    v = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    expect(j.is_number_integer(), "an integer");
    v = j.get<T>();
  } else {
    expect(j.is_number(), "a number");
    v = j.get<T>();
  }
}

template <class C> void config_from_json(const json& j, C& c, const std::string& op, const std::string& path) {
  DL_CHECK(j.is_object(), op, "expected a JSON object" + (path.empty() ? "" : " for '" + path + "'") +
                                  ", got " + j.dump());
  std::set<std::string> known;
  C::fields(c, [&](const char* key, auto& v) {
    known.insert(key);
    if (j.contains(key)) value_from_json(j.at(key), v, op, path + key);
  });
  for (const auto& item : j.items())
    DL_CHECK(known.count(item.key()), op, "unknown field '" + path + item.key() + "'");
  check_names(c, op, path);
}

template <class C> void config_lines(const C& c, const std::string& prefix, std::string& out) {
  C::fields(c, [&](const char* key, const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
      config_lines(v, prefix + key + ".", out);
    } else {
      const json j = value_to_json(v);
      out += prefix + key + " = " + (j.is_string() ? j.get<std::string>() : j.dump()) + "\n";
    }
  });
}

template <class C> std::string config_str(const C& c) {
  std::string out;
  config_lines(c, "", out);
  return out;
}

}  // namespace

// Each (name, value) must be positive.
void require_positive(const char* op, std::initializer_list<std::pair<const char*, int64_t>> sizes) {
  for (const auto& [name, value] : sizes)
    DL_CHECK(value > 0, op, std::string(name) + " must be positive, got " + std::to_string(value));
}

int64_t AttentionConfig::total_heads() const { return attention_kind(kind).total_heads(*this); }

void AttentionConfig::validate(int64_t d) const { attention_kind(kind).validate(*this, d); }

AttentionConfig bench_attention(const std::string& model, int64_t heads) {
  const AttentionConfig a = model_attention(model, {heads, heads / 2, heads / 2});
  DL_CHECK(a.total_heads() == heads, "bench_attention",
           "model '" + model + "' splits its heads in halves (n_sa = n_ra = h/2) and needs an even head count, got " +
               std::to_string(heads));
  return a;
}

void BlockConfig::validate() const {
  require_positive("BlockConfig", {{"d", d}, {"d_ff", d_ff}});
  DL_CHECK(dropout >= 0 && dropout < 1, "BlockConfig", "dropout must be in [0, 1), got " + std::to_string(dropout));
  attention.validate(d);
}

void Seq2SeqConfig::validate() const {
  const char* op = "Seq2SeqConfig";
  DL_CHECK((src_vocab > 0) != (src_features > 0) && src_vocab >= 0 && src_features >= 0, op,
           "exactly one of src_vocab (token source) and src_features (feature source) must be positive, got " +
               std::to_string(src_vocab) + " and " + std::to_string(src_features));
  require_positive(op, {{"tgt_vocab", tgt_vocab}, {"max_len", max_len}, {"encoder_layers", encoder_layers},
                        {"decoder_layers", decoder_layers}});
  block.validate();
}

void LMConfig::validate() const {
  require_positive("LMConfig", {{"vocab", vocab}, {"max_len", max_len}, {"layers", layers}});
  block.validate();
}

LMConfig bench_lm_config(const std::string& model, const std::string& size) {
  struct Row { const char* name; int64_t V, T, L, d, h, d_ff; };
  static const Row table[] = {{"S", 32, 16, 2, 64, 4, 256},          {"M", 64, 64, 4, 128, 4, 512},
                              {"L", 256, 128, 6, 256, 8, 1024},       {"XL", 256, 1024, 4, 256, 8, 1024},
                              {"XXL", 256, 4096, 4, 256, 8, 1024}};
  for (const Row& r : table) {
    if (size != r.name) continue;
    LMConfig c;
    c.vocab = r.V;
    c.max_len = r.T;
    c.layers = r.L;
    c.block = {r.d, r.d_ff, FFNKind::GELU, true, 0.0, bench_attention(model, r.h)};
    return c;
  }
  throw Error("bench_lm_config: unknown size '" + size + "' (expected S, M, L, XL or XXL)");
}

void ClassifierConfig::validate() const {
  const char* op = "ClassifierConfig";
  require_positive(op, {{"in_features", in_features}, {"max_len", max_len}, {"layers", layers},
                        {"mlp_hidden", mlp_hidden}});
  DL_CHECK(n_classes >= 2, op, "n_classes must be at least 2, got " + std::to_string(n_classes));
  block.validate();
}

std::string Seq2SeqConfig::str() const { return config_str(*this); }
std::string LMConfig::str() const { return config_str(*this); }
std::string ClassifierConfig::str() const { return config_str(*this); }

void to_json(json& j, const AttentionConfig& c) { j = config_to_json(c); }
void to_json(json& j, const BlockConfig& c) { j = config_to_json(c); }
void to_json(json& j, const Seq2SeqConfig& c) { j = config_to_json(c); }
void to_json(json& j, const LMConfig& c) { j = config_to_json(c); }
void to_json(json& j, const ClassifierConfig& c) { j = config_to_json(c); }

void from_json(const json& j, AttentionConfig& c) { config_from_json(j, c, "AttentionConfig", ""); }
void from_json(const json& j, BlockConfig& c) { config_from_json(j, c, "BlockConfig", ""); }

// A whole model config is validated as it is read: a stored config must build a model.
void from_json(const json& j, Seq2SeqConfig& c) {
  config_from_json(j, c, "Seq2SeqConfig", "");
  c.validate();
}
void from_json(const json& j, LMConfig& c) {
  config_from_json(j, c, "LMConfig", "");
  c.validate();
}
void from_json(const json& j, ClassifierConfig& c) {
  config_from_json(j, c, "ClassifierConfig", "");
  c.validate();
}

}  // namespace dl
